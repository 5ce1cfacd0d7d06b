#!/bin/sh
# Solução de referência do laboratório 11 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/11-volumes/trabalho"
cd "$PASTA"
casulo volume rm diario 2>/dev/null || true
casulo run --rm -v diario:/dados busybox sh -c 'echo primeiro dia >> /dados/diario.txt'
casulo run --rm -v diario:/dados busybox cat /dados/diario.txt
casulo run --rm -v diario:/dados:ro busybox sh -c 'echo outro dia >> /dados/diario.txt' 2>&1 | tee ro.txt
casulo volume ls
