#!/bin/sh
# Solução de referência do laboratório 1 (usada pelos testes; não é link do README).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/01-seu-primeiro-conteiner/trabalho"
cd "$PASTA"
casulo run --rm busybox sh -c 'echo "sou o PID $$"; ps'
casulo run --rm --hostname meu-casulo busybox hostname
casulo run --rm --hostname meu-casulo busybox sh -c 'echo "PID $$"; hostname' | tee dentro.txt
casulo run --rm busybox sleep 30 &
RUN=$!
# Espera o sleep aparecer na lista de processos do host (até 30 s: numa
# máquina ocupada o contêiner pode demorar a nascer).
for _ in $(seq 300); do
  # Só a linha do próprio sleep (outro teste pode ter um `sh -c '…; exec
  # sleep 30'` no host ao mesmo tempo: a linha dele antes do exec não serve).
  if ps -eo pid,args | grep -E '^ *[0-9]+ sleep 30$' > fora.txt; then break; fi
  sleep 0.1
done
cat fora.txt
# Não precisa esperar os 30 s: o casulo repassa o 1º SIGTERM ao PID 1 (que o
# ignora: o sleep não trata o sinal) e transforma o 2º em SIGKILL.
kill -TERM "$RUN"; sleep 0.2; kill -TERM "$RUN" 2>/dev/null || true
wait "$RUN" || true
