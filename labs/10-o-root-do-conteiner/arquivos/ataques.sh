#!/bin/sh
# ataques.sh — o que o root de um contêiner tenta quando quer o host.
#
# Cada ataque imprime uma linha:
#   NOME: recusado (motivo)    o kernel disse não por falta de privilégio
#   NOME: PERMITIDO            funcionou: o host estaria ao alcance
#   NOME: passou da checagem de privilégio, mas falhou (motivo)
#                              o kernel aceitou o pedido e falhou por outro motivo
#   NOME: contido (…)          funcionou, mas só dentro dos namespaces do contêiner
#
# Nada aqui muda o host: os arquivos do kernel recebem o valor que já têm,
# o disco só é lido, o "módulo" é um arquivo de zeros, as montagens ficam no
# namespace de montagem do contêiner.

# tenta NOME COMANDO...: roda o comando e diz o que o kernel respondeu.
tenta() {
  nome=$1; shift
  if saida=$("$@" 2>&1); then
    echo "$nome: PERMITIDO"
    return 0
  fi
  motivo=${saida##*: }
  case $motivo in
    *"not permitted"* | *"denied"* | *"Read-only"*) echo "$nome: recusado ($motivo)" ;;
    *) echo "$nome: passou da checagem de privilégio, mas falhou ($motivo)" ;;
  esac
  return 1
}

# O /proc/sys é montado só leitura por cima do /proc: é ele que protege os
# ajustes do kernel do host. Sem ele, o core_pattern fica gravável.
if grep -q ' /proc/sys ' /proc/mounts; then
  tenta "umount /proc/sys" umount /proc/sys
else
  echo "umount /proc/sys: nada a desmontar (o /proc/sys já é gravável)"
fi

# core_pattern: começando com |, é um programa que o kernel do HOST roda como
# root a cada core dump. Escrevemos de volta o valor que ele já tem.
tenta "escrever /proc/sys/kernel/core_pattern" \
  sh -c 'v=$(cat /proc/sys/kernel/core_pattern) && echo "$v" > /proc/sys/kernel/core_pattern'

# Um /proc novo não tem as máscaras que o casulo pôs no /proc do contêiner.
mkdir -p /tmp/proc-novo
tenta "mount -t proc" sh -c 'mount -t proc proc /tmp/proc-novo && umount /tmp/proc-novo'

# O disco do host: o mknod o docker também deixa (CAP_MKNOD); quem deve
# barrar é a lista de dispositivos permitidos, no open. Só lemos 4 KiB.
disco=$(awk 'NR > 2 && $4 !~ /^(loop|ram)/ { print $1, $2; exit }' /proc/partitions)
if [ -n "$disco" ] && mknod /tmp/disco b $disco 2>/dev/null; then
  tenta "ler o disco do host ($disco)" dd if=/tmp/disco of=/dev/null bs=4096 count=1
  rm -f /tmp/disco
else
  tenta "mknod do disco do host" mknod /tmp/disco b ${disco:-8 0}
fi

# Um módulo roda DENTRO do kernel, acima de tudo. O nosso é só zeros.
head -c 64 /dev/zero > /tmp/nada.ko
tenta "insmod (carregar um módulo)" insmod /tmp/nada.ko

# release_agent do cgroup v1: um programa que o kernel do host roda como root
# quando um cgroup esvazia. Montamos a hierarquia e reescrevemos o mesmo valor.
hierarquia=$(ls -d /sys/fs/cgroup/*/release_agent 2>/dev/null | grep -v systemd | head -n 1)
if [ -n "$hierarquia" ]; then
  h=$(basename "$(dirname "$hierarquia")")
  mkdir -p /tmp/cg
  tenta "release_agent ($h)" sh -c "mount -t cgroup -o $h cgroup /tmp/cg && \
    v=\$(cat /tmp/cg/release_agent) && echo \"\$v\" > /tmp/cg/release_agent; r=\$?; umount /tmp/cg; exit \$r"
else
  echo "release_agent: não há cgroup v1 aqui"
fi

# Um user namespace aninhado: lá dentro, todas as capabilities.
tenta "unshare -U (user namespace)" unshare -U true

# /sys/kernel ajusta o kernel do host. Mesmo valor de volta; se o /sys for só
# leitura, um atacante o remontaria para escrita (é o sysfs do contêiner, mas os
# ajustes por trás dele são os do kernel do host).
tenta "escrever /sys/kernel/rcu_expedited" \
  sh -c 'v=$(cat /sys/kernel/rcu_expedited) && { echo "$v" > /sys/kernel/rcu_expedited ||
    { mount -o remount,rw /sys 2>/dev/null && echo "$v" > /sys/kernel/rcu_expedited; }; }'

# /proc/kcore é a memória do host. O docker o mascara com /dev/null.
if [ -e /proc/kcore ]; then
  if [ "$(head -c 64 /proc/kcore 2>/dev/null | wc -c)" -gt 0 ]; then
    echo "ler /proc/kcore: PERMITIDO"
  else
    echo "ler /proc/kcore: recusado (vazio ou ilegível)"
  fi
else
  echo "ler /proc/kcore: este kernel não tem /proc/kcore"
fi

# sethostname: só o namespace UTS do contêiner (o mesmo nome de volta).
if hostname "$(hostname)" 2>/dev/null; then
  echo "hostname: contido (mudaria só o nome do contêiner)"
else
  tenta "hostname" hostname "$(hostname)"
fi

# Um socket raw (o ping usa um): o docker deixa (CAP_NET_RAW), mas ele vive na
# rede do contêiner, que aqui só tem o lo.
if ping -c 1 -W 1 127.0.0.1 >/dev/null 2>&1; then
  echo "ping (socket raw): contido (só na rede do contêiner: $(ls /sys/class/net | tr '\n' ' '))"
else
  tenta "ping (socket raw)" ping -c 1 -W 1 127.0.0.1
fi
