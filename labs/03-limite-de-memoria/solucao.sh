#!/bin/sh
# Solução de referência do laboratório 3 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/03-limite-de-memoria/trabalho"
cd "$PASTA"
casulo run --rm --memory 32m busybox echo oi
codigo=0
casulo run --rm --memory 32m busybox dd if=/dev/zero of=/dev/null bs=200M count=1 2>erro.txt || codigo=$?
cat erro.txt
test "$codigo" = 137
TRACE=$(sed -n 's/^casulo: trace: //p' erro.txt)
casulo trace show "$TRACE" | grep OOM | tee oom.txt
