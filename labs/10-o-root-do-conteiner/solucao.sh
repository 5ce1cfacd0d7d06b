#!/bin/sh
# Solução de referência do laboratório 10 (usada pelos testes).
# Sem `| tee`: assim um `casulo run` que falha faz a solução falhar.
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/10-o-root-do-conteiner/trabalho"
cd "$PASTA"
casulo build -t ataques:1 .
casulo run --rm ataques:1 > padrao.txt
cat padrao.txt
casulo run --rm --privileged ataques:1 > privilegiado.txt
cat privilegiado.txt
