#!/bin/sh
# Solução de referência do laboratório 4 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/04-camadas/trabalho"
cd "$PASTA"
casulo build -t camadas:1.0 .
casulo run --rm camadas:1.0 ls /
casulo rm copia 2>/dev/null || true
casulo run --name copia camadas:1.0 sh -c 'echo mudei >> /camada1.txt'
casulo diff copia | tee diff.txt
casulo run --rm camadas:1.0 cat /camada1.txt
