#!/bin/sh
# Solução de referência do laboratório 14 (usada pelos testes), rodada por
# um usuário sem root. Sem `| tee`: assim um `casulo run` que falha faz a
# solução falhar.
set -eu
ESTADO="${CASULO_ROOT:-${XDG_DATA_HOME:-$HOME/.local/share}/casulo}"
cd "$ESTADO/labs/14-sem-root/trabalho"
casulo run --rm busybox sh -c 'id; cat /proc/self/uid_map' > dentro.txt
cat dentro.txt
mkdir -p dados
casulo run --rm -v "$PWD/dados":/dados busybox sh -c 'id -u > /dados/quem.txt'
stat -c '%u:%g %n' dados/quem.txt > dono.txt
cat dono.txt
if casulo run --rm --memory 64m busybox true > recusa.txt 2>&1; then
  echo "o --memory devia ter sido recusado sem root" >&2
  exit 1
fi
cat recusa.txt
casulo build -t sem-root:1 .
casulo run --rm sem-root:1
