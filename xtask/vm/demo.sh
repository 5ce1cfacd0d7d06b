# The demo's path on pure cgroup v2, sourced by /init (xtask/vm/init.sh)
# after the limit tests, with its `pass`/`failed` markers. Each step names
# itself: CASULO-VM-OK <step> | CASULO-VM-FALHOU <step>: <why>.
#
# Needs in the VM: the kernel modules for a bridge, veths, nftables and NAT
# (loaded by /init), `nft` with its libraries, /ctx/estagios (the
# multi-stage build context of engine/trace/tests/fixtures), and, when
# there, /docker (the docker CLI).

step_log() { echo "rc=$1 $(tail -n 4 "$2" 2>/dev/null | tr '\n' ' ')"; }

# The first container of the demo (busybox from `image bootstrap`, done by /init).
casulo run --rm busybox echo ola-do-v2 >/tmp/d-ola.out 2>/tmp/d-ola.err
rc=$?
if [ $rc = 0 ] && [ "$(cat /tmp/d-ola.out)" = ola-do-v2 ]; then pass demo-primeiro; else failed demo-primeiro "$(step_log $rc /tmp/d-ola.err)"; fi

# A multi-stage build, then the same again: every cacheable step from the cache.
casulo build -t estagios:latest /ctx/estagios >/tmp/d-b1.out 2>&1
rc=$?
if [ $rc = 0 ] && grep -q '7 passos, 0 do cache' /tmp/d-b1.out && grep -q 'Estágio testes pulado' /tmp/d-b1.out; then
    pass build-estagios
else
    failed build-estagios "$(step_log $rc /tmp/d-b1.out)"
fi
casulo build -t estagios:latest /ctx/estagios >/tmp/d-b2.out 2>&1
rc=$?
b2=$(sed -n 's/^casulo: trace: //p' /tmp/d-b2.out)
hits=$(grep -c '"kind":"build.cache_hit"' "$b2" 2>/dev/null)
if [ $rc = 0 ] && grep -q '7 passos, 5 do cache' /tmp/d-b2.out && [ "$hits" = 5 ] && ! grep -q '"kind":"process.exec"' "$b2"; then
    pass build-cache
else
    failed build-cache "cache_hit=$hits $(step_log $rc /tmp/d-b2.out)"
fi
casulo run --rm estagios:latest >/tmp/d-est.out 2>/tmp/d-est.err
rc=$?
if [ $rc = 0 ] && grep -q 'olá de um build em dois estágios' /tmp/d-est.out; then pass imagem-construida; else failed imagem-construida "$(step_log $rc /tmp/d-est.err)"; fi

# Detached, on the bridge, port 8080 published: asked from inside the VM,
# on loopback and on the bridge's address (the supervisor's proxy), with
# the bridge's way out in nftables (masquerade).
casulo run -d --name web --network bridge -p 8080:80 busybox sh -c \
    'mkdir -p /www && echo ola-da-porta > /www/index.html && exec httpd -f -p 80 -h /www' \
    >/tmp/d-web.out 2>/tmp/d-web.err
rc=$?
# busybox's nc, not its wget: Debian's busybox-static 1.35 `wget -T N`
# dies of SIGSEGV every time (without -T it could wait forever).
ask() { printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 "$1" "$2" 2>/dev/null | tail -n 1; }
page=
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    page=$(ask 127.0.0.1 8080)
    [ -n "$page" ] && break
    sleep 0.5
done
gw=$(ip -4 addr show casulo0 2>/dev/null | sed -n 's/.*inet \([0-9.]*\).*/\1/p')
page_gw=$(ask "$gw" 8080)
echo "rede: casulo0=$gw, 127.0.0.1:8080 → '$page', $gw:8080 → '$page_gw'"
if [ $rc = 0 ] && [ "$page" = ola-da-porta ] && [ "$page_gw" = ola-da-porta ] &&
    nft list table inet casulo 2>/dev/null | grep -q 'masquerade'; then
    pass rede-porta
else
    ip=$(casulo inspect web 2>/dev/null | sed -n 's/.*"IPAddress": "\([0-9.]*\)".*/\1/p' | head -n 1)
    echo "rede-porta: escutando: $(netstat -ltn 2>/dev/null | grep 8080 | tr '\n' ' ')"
    echo "rede-porta: direto no contêiner $ip:80 → '$(ask "$ip" 80)'"
    echo "rede-porta: logs: $(casulo logs web 2>&1 | tail -n 3 | tr '\n' ' ')"
    casulo trace show /var/lib/casulo/traces/web-*.trace.jsonl 2>&1 | grep -i 'porta\|port\|erro' | tail -n 5
    failed rede-porta "página='$page' pela bridge='$page_gw' $(step_log $rc /tmp/d-web.err)"
fi

# exec into it, stop it, remove it.
out=$(casulo exec web cat /www/index.html 2>/tmp/d-exec.err)
rc=$?
if [ $rc = 0 ] && [ "$out" = ola-da-porta ]; then pass exec; else failed exec "$(step_log $rc /tmp/d-exec.err) '$out'"; fi
casulo stop -t 2 web >/dev/null 2>/tmp/d-stop.err
rc=$?
st=$(casulo inspect web 2>/dev/null | sed -n 's/.*"Status": "\([a-z]*\)".*/\1/p' | head -n 1)
if [ $rc = 0 ] && [ "$st" = exited ]; then pass stop; else failed stop "status=$st $(step_log $rc /tmp/d-stop.err)"; fi
casulo rm web >/dev/null 2>/tmp/d-rm.err
rc=$?
if [ $rc = 0 ] && ! casulo ps -a | grep -q ' web'; then pass rm; else failed rm "$(step_log $rc /tmp/d-rm.err)"; fi

# A volume outlives its container.
casulo volume create dados >/dev/null 2>/tmp/d-vol.err &&
    casulo run --rm -v dados:/dados busybox sh -c 'echo guardado > /dados/x' >/dev/null 2>>/tmp/d-vol.err
out=$(casulo run --rm -v dados:/dados busybox cat /dados/x 2>>/tmp/d-vol.err)
if [ "$out" = guardado ] && casulo volume rm dados >/dev/null 2>>/tmp/d-vol.err; then
    pass volume
else
    failed volume "'$out' $(tail -n 3 /tmp/d-vol.err | tr '\n' ' ')"
fi

# The daemon answers the real docker CLI (when the CLI was put in the VM).
if [ -x /docker ]; then
    casulo daemon >/tmp/d-daemon.log 2>&1 &
    daemon=$!
    for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        [ -S /run/casulo/casulo.sock ] && break
        sleep 0.5
    done
    export DOCKER_HOST=unix:///run/casulo/casulo.sock
    out=$(/docker run --rm busybox echo ola-do-docker 2>/tmp/d-docker.err)
    rc=$?
    ps_out=$(/docker ps -a --format '{{.Image}}' 2>>/tmp/d-docker.err)
    unset DOCKER_HOST
    kill -TERM $daemon
    wait $daemon
    if [ $rc = 0 ] && [ "$out" = ola-do-docker ]; then
        pass docker
    else
        failed docker "$(step_log $rc /tmp/d-docker.err) $(tail -n 3 /tmp/d-daemon.log | tr '\n' ' ')"
    fi
fi

# -p by DNAT rules (--userland-proxy=false) instead of the proxy: asked
# from the VM itself on the bridge's address (the output hook's DNAT).
casulo run -d --name webdnat --network bridge -p 8082:80 --userland-proxy=false busybox sh -c \
    'mkdir -p /www && echo ola-do-dnat > /www/index.html && exec httpd -f -p 80 -h /www' \
    >/tmp/d-dnat.out 2>/tmp/d-dnat.err
rc=$?
gw=$(ip -4 addr show casulo0 2>/dev/null | sed -n 's/.*inet \([0-9.]*\).*/\1/p')
page=
for i in 1 2 3 4 5 6 7 8 9 10; do
    page=$(ask "$gw" 8082)
    [ -n "$page" ] && break
    sleep 0.5
done
rules=$(nft list table inet casulo 2>/dev/null | grep -c 'dport 8082 dnat ip to')
casulo rm -f webdnat >/dev/null 2>>/tmp/d-dnat.err
if [ $rc = 0 ] && [ "$page" = ola-do-dnat ] && [ "$rules" -ge 1 ]; then
    pass rede-dnat
else
    failed rede-dnat "página='$page' regras=$rules $(step_log $rc /tmp/d-dnat.err)"
fi

# The host as it was: gc removes the bridge, no veth left.
casulo gc >/tmp/d-gc.out 2>&1
nft list table inet casulo 2>&1 | grep -E 'masquerade|dnat'
if [ ! -e /sys/class/net/casulo0 ] && ! ls /sys/class/net | grep -q '^veth'; then
    pass rede-limpa
else
    failed rede-limpa "$(ls /sys/class/net | tr '\n' ' ') $(tail -n 3 /tmp/d-gc.out | tr '\n' ' ')"
fi
