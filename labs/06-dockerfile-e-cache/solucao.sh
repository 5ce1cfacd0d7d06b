#!/bin/sh
# Solução de referência do laboratório 6 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/06-dockerfile-e-cache/trabalho"
cd "$PASTA"
casulo build -t app:1.0 .
echo 'olá, versão 2' > mensagem.txt
casulo build -t app:1.0 .
# Reordenado: o que muda pouco (as dependências) antes do que muda sempre.
cat > Dockerfile <<'FIM'
FROM busybox
WORKDIR /app
RUN echo "instalando as dependências (a parte lenta)..." && sleep 1 && echo pronto > /app/dependencias.txt
COPY mensagem.txt ./
CMD ["cat", "/app/mensagem.txt"]
FIM
casulo build -t app:1.0 .
echo 'olá, versão 3' > mensagem.txt
casulo build -t app:1.0 .
casulo run --rm app:1.0
