#!/bin/sh
# Solução de referência do laboratório 12 (usada pelos testes). O registry
# vem de $REGISTRO (o do professor, ou o de `cargo xtask registro`).
set -eu
REGISTRO="${REGISTRO:-localhost:5000}"
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/12-registry/trabalho"
cd "$PASTA"
casulo build -t app:v1 .
casulo image tag app:v1 "$REGISTRO/aluno/app:v1"
casulo push "$REGISTRO/aluno/app:v1"
casulo push "$REGISTRO/aluno/app:v1"
casulo build -t app:v2 derivada
casulo image tag app:v2 "$REGISTRO/aluno/app:v2"
casulo push "$REGISTRO/aluno/app:v2"
casulo image rm app:v2 "$REGISTRO/aluno/app:v2"
casulo pull "$REGISTRO/aluno/app:v2"
casulo pull "$REGISTRO/aluno/app:v2"
casulo run --rm "$REGISTRO/aluno/app:v2" cat /app/mensagem.txt /app/novidade.txt
