#!/bin/sh
# Solução de referência do laboratório 9 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/09-vinte-conteineres/trabalho"
cd "$PASTA"
free -m | tee antes.txt
for i in $(seq 20); do
  casulo run --rm busybox sleep 3 2>/dev/null &
done
sleep 1.5
free -m | tee durante.txt
wait
