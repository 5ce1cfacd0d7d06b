#!/bin/sh
# Solução de referência do laboratório 7 (usada pelos testes).
# PORTA muda a porta do host (8080 se não for dada).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/07-rede/trabalho"
PORTA="${PORTA:-8080}"
cd "$PASTA"
casulo run --rm busybox ip addr
casulo run --rm --network bridge busybox sh -c 'ip addr show eth0; ip route'
casulo run --rm --name web -p "$PORTA:80" busybox sh -c \
  'ip -4 addr show eth0 | grep inet; mkdir /www; echo "olá do casulo" > /www/index.html; exec httpd -f -p 80 -h /www' > servidor.txt 2>&1 &
SERVIDOR=$!
# Espera a página responder pela porta publicada.
for _ in $(seq 100); do
  if curl -sf "http://127.0.0.1:$PORTA/" > pagina.txt; then break; fi
  sleep 0.1
done
IP=$(sed -n 's/.*inet \([0-9.]*\)\/.*/\1/p' servidor.txt)
casulo run --rm --network bridge busybox wget -qO- "http://$IP/" | tee conversa.txt
cat pagina.txt
kill -TERM "$SERVIDOR"; sleep 0.2; kill -TERM "$SERVIDOR" 2>/dev/null || true
wait "$SERVIDOR" || true
# Redes com nome: pelo nome, e o isolamento entre redes.
casulo network rm lab7 lab7-outra 2>/dev/null || true
casulo network create lab7 --subnet 10.89.77.0/24
casulo network create lab7-outra --subnet 10.89.78.0/24
casulo run -d --name lab7-web --network lab7 busybox sh -c \
  'echo "olá do casulo" > /index.html; exec httpd -f -p 80 -h /'
for _ in $(seq 50); do
  if casulo run --rm --network lab7 busybox wget -qO- http://lab7-web/ > nome.txt; then break; fi
  sleep 0.2
done
cat nome.txt
casulo run --rm --network lab7-outra busybox ping -c 1 -W 2 10.89.77.2 > isolamento.txt || true
cat isolamento.txt
# Mais uma rede para um contêiner que já roda.
casulo run -d --name lab7-visita --network lab7-outra busybox sleep 600
casulo network connect lab7 lab7-visita
casulo exec lab7-visita wget -qO- http://lab7-web/ | tee conectar.txt
casulo network disconnect lab7 lab7-visita
casulo kill lab7-visita; casulo wait lab7-visita || true; casulo rm lab7-visita
casulo kill lab7-web; casulo wait lab7-web || true; casulo rm lab7-web
casulo network rm lab7 lab7-outra
