# O mesmo Dockerfile sem here-documents, para o buildah 1.28 (veja o Dockerfile ao lado).
FROM busybox
ARG NOME=mundo
RUN echo "um $NOME" > /um && echo dois >> /um
RUN printf 'sem $NOME aqui\n' > /dois
RUN printf 'olá, %s "aspas" \\barra\n' "$NOME" > /etc/ola.txt
RUN mkdir -p /usr/local/bin && printf '#!/bin/sh\necho oi $1\n' > /usr/local/bin/oi && chmod 0755 /usr/local/bin/oi
CMD ["oi", "você"]
