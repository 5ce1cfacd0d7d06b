# Rootless on pure cgroup v2, sourced by /init (xtask/vm/init.sh) after the
# demo's path, with its `pass`/`failed` markers.
#
# An ordinary user `aluno` (uid 1000) with sub-ids, and a cgroup v2 subtree
# delegated to it by hand, the way systemd's user@.service does: the
# directory user@1000.service and its cgroup.procs, cgroup.subtree_control
# and cgroup.threads chowned to the user, memory, pids and cpu enabled in
# the parents' subtree_control, and the user's shell moved into a leaf
# (`sessao`): a cgroup that hands controllers down holds no process.
#
# Needs in the VM: newuidmap/newgidmap (setuid) and pasta with their glibc
# libraries at their real paths, the tun module (/dev/net/tun, for pasta),
# the probe image tarball /tmp/probe.tar made by /init.

chmod 4755 /usr/bin/newuidmap /usr/bin/newgidmap
echo 'aluno:x:1000:1000:aluno:/home/aluno:/bin/sh' >>/etc/passwd
echo 'aluno:x:1000:' >>/etc/group
echo 'aluno:100000:65536' >/etc/subuid
echo 'aluno:100000:65536' >/etc/subgid
mkdir -p /home/aluno /run/user/1000
chown 1000:1000 /home/aluno /run/user/1000
chmod 700 /run/user/1000

# pasta opens /dev/net/tun as the user: 0666, as udev's rules make it
# (devtmpfs alone leaves it 0600).
chmod 666 /dev/net/tun
# pasta copies the addresses and routes of the host's uplink: the VM has
# no network card, so a veth pair stands for one.
ip link add uplink type veth peer name uplink-par
ip addr add 192.0.2.15/24 dev uplink
ip link set uplink up
ip link set uplink-par up
ip route add default via 192.0.2.1 dev uplink

# The delegation, by hand (what systemd does for user@1000.service).
cg=/sys/fs/cgroup
deleg=$cg/user.slice/user-1000.slice/user@1000.service
mkdir -p $deleg/sessao
for d in $cg $cg/user.slice $cg/user.slice/user-1000.slice; do
    echo '+memory +pids +cpu' >$d/cgroup.subtree_control
done
chown 1000:1000 $deleg $deleg/cgroup.procs $deleg/cgroup.subtree_control $deleg/cgroup.threads
chown -R 1000:1000 $deleg/sessao
echo "delegado: $deleg (controllers: $(cat $deleg/cgroup.controllers))"

# `as_aluno CMD…`: a shell moved into the leaf, then su to aluno (su
# execs the shell in the same process, so it stays in the leaf) with a
# login's environment (HOME, XDG_RUNTIME_DIR). The command goes through
# the environment, one variable per word: su would read `--rm` as its own.
cat >/bin/como-aluno <<'EOF'
#!/bin/sh
echo $$ >/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/sessao/cgroup.procs || exit 126
n=0
for a in "$@"; do n=$((n + 1)); export "COMO_ALUNO_$n=$a"; done
export COMO_ALUNO_N=$n
exec su -s /bin/sh -c 'set --; i=1; while [ $i -le $COMO_ALUNO_N ]; do eval "set -- \"\$@\" \"\$COMO_ALUNO_$i\""; i=$((i + 1)); done; cd /home/aluno; export HOME=/home/aluno XDG_RUNTIME_DIR=/run/user/1000 PATH=/bin:/sbin:/usr/bin:/usr/sbin; exec "$@"' aluno
EOF
chmod 755 /bin/como-aluno
as_aluno() { /bin/como-aluno "$@"; }
rl_log() { echo "rc=$1 $(tail -n 4 "$2" 2>/dev/null | tr '\n' ' ')"; }

as_aluno casulo info >/tmp/rl-info.out 2>&1
cat /tmp/rl-info.out
if grep -q 'rootless' /tmp/rl-info.out && grep -q 'cgroup delegado: *.*user@1000.service.*funcionam' /tmp/rl-info.out; then
    pass rl-info
else
    failed rl-info "$(rl_log $? /tmp/rl-info.out)"
fi

# Images of the user's own (its state dir), then the container's root is
# the user.
as_aluno casulo image bootstrap >/tmp/rl-boot.out 2>&1
cp /tmp/probe.tar /home/aluno/probe.tar && chown 1000:1000 /home/aluno/probe.tar
as_aluno casulo image import /home/aluno/probe.tar probe:latest >>/tmp/rl-boot.out 2>&1
out=$(as_aluno casulo run --rm busybox id 2>/tmp/rl-id.err)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q 'uid=0(root)'; then pass rl-id; else failed rl-id "$(rl_log $rc /tmp/rl-id.err) '$out' $(tail -n 3 /tmp/rl-boot.out | tr '\n' ' ')"; fi

# A build.
mkdir -p /home/aluno/ctx
printf 'FROM busybox\nRUN echo construido-sem-root > /ola.txt\nCMD cat /ola.txt\n' >/home/aluno/ctx/Dockerfile
chown -R 1000:1000 /home/aluno/ctx
as_aluno casulo build -t meu /home/aluno/ctx >/tmp/rl-build.out 2>&1
rc=$?
out=$(as_aluno casulo run --rm meu 2>>/tmp/rl-build.out)
if [ $rc = 0 ] && [ "$out" = construido-sem-root ]; then pass rl-build; else failed rl-build "$(rl_log $rc /tmp/rl-build.out) '$out'"; fi

# -p through pasta, asked from the VM.
as_aluno casulo run -d --name rlweb -p 8081:80 busybox sh -c \
    'mkdir -p /www && echo ola-sem-root > /www/index.html && exec httpd -f -p 80 -h /www' \
    >/tmp/rl-web.out 2>/tmp/rl-web.err
rc=$?
page=
for i in 1 2 3 4 5 6 7 8 9 10; do
    page=$(printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 127.0.0.1 8081 2>/dev/null | tail -n 1)
    [ -n "$page" ] && break
    sleep 0.5
done
as_aluno casulo stop -t 1 rlweb >/dev/null 2>>/tmp/rl-web.err
as_aluno casulo rm rlweb >/dev/null 2>>/tmp/rl-web.err
if [ $rc = 0 ] && [ "$page" = ola-sem-root ]; then pass rl-porta; else failed rl-porta "página='$page' $(rl_log $rc /tmp/rl-web.err)"; fi

# Without -p: out through pasta to a server of the VM (at the gateway,
# which pasta maps to the VM's own loopback).
(printf 'ola-da-vm\n' | nc -l -p 9000 >/dev/null 2>&1) &
server=$!
sleep 0.3
out=$(as_aluno casulo run --rm busybox sh -c \
    'gw=$(ip route | sed -n "s/^default via \([0-9.]*\).*/\1/p"); timeout 5 nc $gw 9000 </dev/null; true' 2>/tmp/rl-out.err)
rc=$?
kill $server 2>/dev/null
if [ $rc = 0 ] && [ "$out" = ola-da-vm ]; then pass rl-saida; else failed rl-saida "'$out' $(rl_log $rc /tmp/rl-out.err)"; fi

# --memory 16m through the delegated cgroup: the hog is OOM-killed.
as_aluno casulo run --rm --memory 16m --trace /home/aluno/oom.trace.jsonl probe:latest /probe alloc 64M \
    >/tmp/rl-oom.out 2>/tmp/rl-oom.err
rc=$?
if [ $rc = 137 ] && grep -q '"kind":"cgroup.oom"' /home/aluno/oom.trace.jsonl &&
    grep -q 'user@1000.service/casulo/' /home/aluno/oom.trace.jsonl &&
    grep -q 'memory.max = 16777216' /home/aluno/oom.trace.jsonl; then
    pass rl-oom
else
    failed rl-oom "$(rl_log $rc /tmp/rl-oom.err)"
fi

# --pids-limit: 5 processes in all, the probe and 4 children.
as_aluno casulo run --rm --pids-limit 5 --trace /home/aluno/pids.trace.jsonl probe:latest /probe fork 10 \
    >/tmp/rl-pids.out 2>/tmp/rl-pids.err
rc=$?
if [ $rc = 0 ] && grep -q '"started":4' /tmp/rl-pids.out && grep -q '"kind":"cgroup.pids_max"' /home/aluno/pids.trace.jsonl; then
    pass rl-pids
else
    failed rl-pids "$(rl_log $rc /tmp/rl-pids.err) $(cat /tmp/rl-pids.out)"
fi

# Nothing of root's in the user's state; no container cgroup left (the
# `casulo` parent stays, as on the host).
roots=$(find /home/aluno/.local/share/casulo /run/user/1000 -user 0 2>/dev/null | head -n 5)
left=$(find $deleg/casulo -mindepth 1 -maxdepth 1 -type d 2>/dev/null)
if [ -z "$roots" ] && [ -z "$left" ]; then pass rl-limpo; else failed rl-limpo "do root: $roots; cgroups: $left"; fi
