#!/bin/sh
# Solução de referência do laboratório 2 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/02-namespaces-na-mao/trabalho"
cd "$PASTA"
unshare --uts --pid --fork --mount-proc sh -c 'hostname na-mao; hostname; echo "PID $$"; ps' | tee na-mao.txt
unshare --uts sh -c 'hostname ilha; exec sleep 30' &
ILHA=$!
# Espera o hostname mudar no namespace novo.
for _ in $(seq 300); do
  if [ "$(nsenter -t "$ILHA" --uts hostname)" = ilha ]; then break; fi
  sleep 0.1
done
nsenter -t "$ILHA" --uts hostname | tee nsenter.txt
kill "$ILHA"
casulo run --rm --hostname na-mao busybox sh -c 'hostname; echo "PID $$"' 2> run.txt
TRACE=$(sed -n 's/^casulo: trace: //p' run.txt)
casulo trace show "$TRACE" | grep 'criou namespace' | tee namespaces.txt
