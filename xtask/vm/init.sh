#!/bin/sh
# /init of the pure cgroup v2 test VM (see xtask/src/vm.rs).
#
# Stage 1 moves everything to a tmpfs and switch_roots into it: pivot_root
# (which casulo uses for every container) refuses to run while the root is
# the initramfs itself. Stage 2 mounts cgroup2 alone (the kernel was booted
# with cgroup_no_v1=all), loads the kernel modules (/modules, in order),
# runs the limit tests with the real casulo, then the demo's path
# (/demo.sh), and prints one marker line per test on the serial console:
#   CASULO-VM-OK <test>  |  CASULO-VM-FALHOU <test>: <why>
# and finally CASULO-VM-FIM ok=<n> falhas=<m>, then powers off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

if [ "$1" != stage2 ]; then
    mount -t devtmpfs devtmpfs /dev 2>/dev/null
    mkdir -p /newroot
    mount -t tmpfs -o size=700m tmpfs /newroot
    for f in /bin /sbin /usr /lib /lib64 /opt /etc /init /casulo /probe /modules /ctx /docker /demo.sh /rootless.sh /bench; do
        [ -e "$f" ] && cp -a "$f" /newroot/
    done
    mkdir -p /newroot/dev /newroot/proc /newroot/sys /newroot/tmp /newroot/run /newroot/var/lib/casulo
    mount --move /dev /newroot/dev
    exec switch_root /newroot /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
for m in /modules/*.ko; do
    insmod "$m" || echo "CASULO-VM-AVISO insmod $m falhou"
done
ip link set lo up
touch /etc/hosts /etc/resolv.conf
ln -s /casulo /bin/casulo
echo "CASULO-VM-BOOT uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)"
echo "cgroup2: $(cat /sys/fs/cgroup/cgroup.controllers) | subtree_control: [$(cat /sys/fs/cgroup/cgroup.subtree_control)]"

ok=0
fail=0
pass() { echo "CASULO-VM-OK $1"; ok=$((ok + 1)); }
failed() { echo "CASULO-VM-FALHOU $1: $2"; fail=$((fail + 1)); }

casulo info
if casulo info | grep -q 'cgroups: *v2'; then pass modo-v2; else failed modo-v2 "casulo info não disse v2"; fi

# Images: busybox from the initramfs' own busybox, and the probe.
casulo image bootstrap >/tmp/bootstrap.log 2>&1 || { cat /tmp/bootstrap.log; failed bootstrap "image bootstrap"; }
mkdir -p /tmp/pr/bin /tmp/pr/proc /tmp/pr/sys /tmp/pr/dev /tmp/pr/tmp
cp /bin/busybox /tmp/pr/bin/busybox
for a in sh cat; do ln -s busybox /tmp/pr/bin/$a; done
cp /probe /tmp/pr/probe
tar -c -f /tmp/probe.tar -C /tmp/pr bin proc sys dev tmp probe
casulo image import /tmp/probe.tar probe:latest >/tmp/import.log 2>&1 || { cat /tmp/import.log; failed import "image import"; }

# `cargo xtask bench vm` (casulo.bench=RODADAS on the kernel's command
# line): only start→exit is measured (/bench/bench.sh), then off.
rodadas=$(sed -n 's/.*casulo\.bench=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$rodadas" ]; then
    . /bench/bench.sh
    poweroff -f
fi

run() { # run NAME CASULO-RUN-ARGS... : output in /tmp/NAME.{out,err,trace.jsonl}, rc in $rc
    name=$1
    shift
    casulo run --rm --trace /tmp/$name.trace.jsonl "$@" >/tmp/$name.out 2>/tmp/$name.err
    rc=$?
}
why() { echo "rc=$rc $(tail -n 3 /tmp/$1.err | tr '\n' ' ')"; }

# 1. OOM: a 64 MiB limit kills a 200 MiB allocation; exit 137; told in pt-BR.
t0=$(cut -d' ' -f1 /proc/uptime)
run oom --memory 64m --sample-interval 20ms probe:latest /probe alloc 200M
t1=$(cut -d' ' -f1 /proc/uptime)
if [ $rc = 137 ] && grep -q 'limite de memória de 64 MiB atingido' /tmp/oom.err &&
    grep -q '"kind":"cgroup.oom"' /tmp/oom.trace.jsonl &&
    grep -q 'memory.max = 67108864' /tmp/oom.trace.jsonl &&
    grep -q '"kind":"cgroup.sample"' /tmp/oom.trace.jsonl; then
    pass oom
else
    failed oom "$(why oom)"
fi
echo "oom: casulo run de $t0 a $t1 (uptime)"
casulo trace show /tmp/oom.trace.jsonl >/tmp/oom.show
grep -E 'limitou' /tmp/oom.show
grep -E 'uso medido' /tmp/oom.show | tail -n 3
grep -E 'OOM|SIGKILL' /tmp/oom.show

# 2. Below the limit nothing happens.
run memok --memory 128m probe:latest /probe alloc 32M
if [ $rc = 0 ] && grep -q '"ok":true' /tmp/memok.out; then pass memoria-abaixo; else failed memoria-abaixo "$(why memok)"; fi

# 3. pids.max: 5 processes in all, the probe and 4 children.
run pids --pids-limit 5 probe:latest /probe fork 10
if [ $rc = 0 ] && grep -q '"started":4' /tmp/pids.out && grep -q '"kind":"cgroup.pids_max"' /tmp/pids.trace.jsonl; then
    pass pids
else
    failed pids "$(why pids) $(cat /tmp/pids.out)"
fi

# 4. cpu.max: half a CPU for a 2 s busy loop (generous band).
run cpu --cpus 0.5 --sample-interval 100ms probe:latest /probe spin 2
cpu=$(sed -n 's/.*"cpu_ns":\([0-9]*\).*/\1/p' /tmp/cpu.out)
wall=$(sed -n 's/.*"wall_ns":\([0-9]*\).*/\1/p' /tmp/cpu.out)
pct=$((${cpu:-0} * 100 / ${wall:-1}))
echo "cpu: ${pct}% de uma CPU com --cpus 0.5"
if [ $rc = 0 ] && [ $pct -ge 20 ] && [ $pct -le 70 ] && grep -q 'cpu.max = 50000 100000' /tmp/cpu.trace.jsonl; then
    pass cpu
else
    failed cpu "$(why cpu) pct=$pct"
fi

# 5. Samples while it ran.
n=$(grep -c '"kind":"cgroup.sample"' /tmp/cpu.trace.jsonl)
if [ "$n" -ge 5 ]; then pass amostras; else failed amostras "só $n amostras"; fi

# 6. The cgroup namespace: inside, the container's cgroup is /. And the
# init was born in its cgroup (clone3 with CLONE_INTO_CGROUP): no pid
# written to a cgroup.procs.
run cgns probe:latest /bin/cat /proc/self/cgroup
if [ $rc = 0 ] && [ "$(cat /tmp/cgns.out)" = "0::/" ] &&
    grep '"kind":"cgroup.attach"' /tmp/cgns.trace.jsonl | grep -q '"via":"clone3"' &&
    ! grep -q 'cgroup.procs = ' /tmp/cgns.trace.jsonl; then
    pass cgroupns
else
    failed cgroupns "$(why cgns) $(cat /tmp/cgns.out) $(grep -o '"kind":"cgroup.attach"[^}]*' /tmp/cgns.trace.jsonl)"
fi

# 6b. The container's own cgroup view, read-only: its limit in memory.max.
run cgview --memory 48m probe:latest /bin/sh -c \
    'cat /sys/fs/cgroup/memory.max; if echo 1 > /sys/fs/cgroup/memory.max; then echo escreveu; else echo recusou; fi'
if [ $rc = 0 ] && [ "$(cat /tmp/cgview.out | tr '\n' ' ')" = "50331648 recusou " ] &&
    grep -q '"fstype":"cgroup2"' /tmp/cgview.trace.jsonl; then
    pass cgroup-visao
else
    failed cgroup-visao "$(why cgview) $(cat /tmp/cgview.out | tr '\n' ' ')"
fi

# 6c. The device allow-list is an eBPF program on v2: a block device made
# with mknod (allowed, as in docker) cannot be opened: EPERM from the
# program, not ENXIO from the missing driver (no disk in this VM), while
# /dev/null and /dev/urandom still work.
run devices busybox sh -c \
    'mknod /tmp/disco b 8 0; echo mknod=$?; cat /tmp/disco; echo oi > /dev/null && head -c 4 /dev/urandom > /dev/null && echo nulos-ok'
if [ $rc = 0 ] && grep -q 'mknod=0' /tmp/devices.out && grep -q 'nulos-ok' /tmp/devices.out &&
    grep -q "can't open '/tmp/disco': Operation not permitted" /tmp/devices.err &&
    grep -q '"kind":"cgroup.devices"' /tmp/devices.trace.jsonl &&
    grep -q 'BPF_PROG_ATTACH' /tmp/devices.trace.jsonl &&
    grep -q '"program_insns":' /tmp/devices.trace.jsonl; then
    pass dispositivos
else
    failed dispositivos "$(why devices) $(cat /tmp/devices.out | tr '\n' ' ')"
fi
casulo trace show /tmp/devices.trace.jsonl | grep -A1 'dispositivos'

# 6d. pause/unpause: `cgroup.freeze` written, `frozen 1` in cgroup.events,
# the CPU time of a busy loop stops while frozen and goes on after; pause
# twice refused; stats says paused at 0 %; stop of a paused one ends it.
casulo run --rm --name gelo --trace /tmp/gelo.trace.jsonl probe:latest /probe spin 120 \
    >/tmp/gelo.out 2>/tmp/gelo.err &
gelo=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q '"kind":"process.exec"' /tmp/gelo.trace.jsonl 2>/dev/null && break
    sleep 0.5
done
id=$(casulo inspect gelo | sed -n 's/.*"Id": "\([0-9a-f]*\)".*/\1/p')
cg=/sys/fs/cgroup/casulo/$id
usage() { sed -n 's/^usage_usec //p' $cg/cpu.stat; }
casulo pause gelo >/dev/null 2>/tmp/gelo.pause
a=$(usage); sleep 1; b=$(usage)
frozen=$(grep -c '^frozen 1' $cg/cgroup.events)
casulo stats --no-stream --format json gelo >/tmp/gelo.stats 2>>/tmp/gelo.pause
casulo pause gelo 2>/tmp/gelo.twice
twice=$?
casulo unpause gelo >/dev/null 2>>/tmp/gelo.pause
c=$(usage); sleep 1; d=$(usage)
casulo pause gelo >/dev/null 2>>/tmp/gelo.pause
casulo stop -t 1 gelo >/dev/null 2>>/tmp/gelo.pause
wait $gelo
rc=$?
freezes=$(grep -c '"kind":"cgroup.freeze"' /tmp/gelo.trace.jsonl)
echo "pausa: cpu parado $((b - a)) us, solto $((d - c)) us, frozen=$frozen, 2o pause=$twice, run=$rc, cgroup.freeze=$freezes"
if [ "$frozen" = 1 ] && [ $((b - a)) -lt 2000 ] && [ $((d - c)) -gt 100000 ] && [ $twice = 1 ] &&
    grep -q 'já está pausado' /tmp/gelo.twice && grep -q '"paused":true' /tmp/gelo.stats &&
    grep -q '"cpu_percent":0.0' /tmp/gelo.stats && [ $rc = 137 ] && [ "$freezes" = 4 ] &&
    casulo trace check /tmp/gelo.trace.jsonl >/dev/null; then
    pass pausa
else
    failed pausa "rc=$rc $(cat /tmp/gelo.pause /tmp/gelo.stats | tr '\n' ' ')"
fi
casulo trace show /tmp/gelo.trace.jsonl | grep 'gelou'

# 8. The demo's path: build, network, detached, volume, daemon.
. /demo.sh

# 8b. Without root: an ordinary user with a delegated cgroup subtree.
. /rootless.sh

# 9. Nothing left behind: no container's cgroup in the `casulo` parent,
# which stays (like docker's) until `casulo gc` finds it empty.
# (The demo's `casulo gc` removed it: one more run makes it again.)
casulo run --rm busybox true >/tmp/gc-run.out 2>&1
restos=$(find /sys/fs/cgroup/casulo -mindepth 1 -maxdepth 1 -type d 2>/dev/null)
ficou=$([ -d /sys/fs/cgroup/casulo ] && echo sim)
casulo gc >/tmp/gc.out 2>&1
if [ -z "$restos" ] && [ -n "$ficou" ] && [ ! -e /sys/fs/cgroup/casulo ] &&
    grep -q '/sys/fs/cgroup/casulo' /tmp/gc.out; then
    pass sem-sobras
else
    failed sem-sobras "restos: $restos; o pai ficou: $ficou; gc: $(cat /tmp/gc.out | tr '\n' ' ')"
fi

echo "CASULO-VM-FIM ok=$ok falhas=$fail uptime=$(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
