#!/bin/sh
# Solução de referência do laboratório 5 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/05-imagem-e-conteiner/trabalho"
cd "$PASTA"
for i in 1 2 3; do
  casulo rm "bolo$i" 2>/dev/null || true
  casulo run --name "bolo$i" busybox sh -c "echo eu sou o bolo $i > /quem-sou-eu.txt"
done
casulo ps -a
casulo run --rm busybox cat /quem-sou-eu.txt || echo "não existe no contêiner novo (código $?)"
casulo diff bolo1 | tee diff-bolo1.txt
