#!/bin/sh
# Solução de referência do laboratório 13 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/13-daemon/trabalho"
cd "$PASTA"
SOCK="$PASTA/casulo.sock"
casulo daemon --socket "$SOCK" 2> daemon.log &
DAEMON=$!
trap 'kill $DAEMON; wait $DAEMON || true' EXIT
i=0
until curl -s --unix-socket "$SOCK" http://casulo/_ping > /dev/null; do
  i=$((i + 1)); [ $i -lt 200 ] || { cat daemon.log; exit 1; }
  sleep 0.1
done
API=http://casulo/v1.43
curl -s --fail-with-body --unix-socket "$SOCK" -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Cmd":["echo","olá, API"]}' "$API/containers/create?name=pela-api"
curl -s --fail-with-body -X POST --unix-socket "$SOCK" "$API/containers/pela-api/start"
curl -s --fail-with-body -X POST --unix-socket "$SOCK" "$API/containers/pela-api/wait" > espera.json
curl -s --fail-with-body --unix-socket "$SOCK" "$API/containers/pela-api/logs?stdout=1" --output logs.txt
DOCKER_HOST="unix://$SOCK" DOCKER_CONFIG="$PASTA/.docker" docker run --name pelo-docker busybox echo 'olá, docker'
casulo ps -a
