#!/bin/sh
# Prepara uma jaula descartável aqui na pasta de trabalho: um diretório com
# o busybox estático do host e mais nada. E, FORA dela, um "segredo do host"
# que só quem escapar consegue ler. Nada fora desta pasta é tocado.
set -eu
cd "$(dirname "$0")"
BUSYBOX=$(command -v busybox)
rm -rf jaula
mkdir -p jaula/bin jaula/proc jaula/tmp
cp "$BUSYBOX" jaula/bin/busybox
for applet in sh ls cat mount umount echo pwd; do
  ln -s busybox "jaula/bin/$applet"
done
echo "segredo do host: quem lê isto saiu da jaula" > segredo-do-host.txt
echo "jaula pronta em $(pwd)/jaula; o segredo está em $(pwd)/segredo-do-host.txt"
