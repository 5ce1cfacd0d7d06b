# start→exit in the pure cgroup v2 VM (`cargo xtask bench vm`; sourced by
# init.sh with $rodadas set, busybox:latest already bootstrapped).
# Contenders, all running `true` in the same busybox files:
#   piso    util-linux `unshare -fpmnuiC --mount-proc true` (namespaces and
#           a fork: no image, no cgroup)
#   crun    `crun run` on its own default spec (`crun spec`, no terminal),
#           rootfs a copy of casulo's unpacked busybox layer
#   casulo  `casulo run --rm busybox true`, and again with --trace /dev/null;
#           and `casulo --version`: what starting the binary alone costs
# Timed by `probe cronometrar` (busybox's date has no nanoseconds).
# The first run unpacks busybox's layer (and shows that casulo works).
casulo run --rm busybox true >/tmp/primeira.log 2>&1 || { cat /tmp/primeira.log; echo "CASULO-BENCH-ERRO casulo"; }
layer=
for d in /var/lib/casulo/layers/*; do
    [ -f "$d/bin/busybox" ] && layer=$d
done
mkdir -p /tmp/bundle
cp -a "$layer" /tmp/bundle/rootfs
mkdir -p /tmp/bundle/rootfs/proc /tmp/bundle/rootfs/sys /tmp/bundle/rootfs/dev /tmp/bundle/rootfs/tmp
(cd /tmp/bundle && crun spec)
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"true"/' /tmp/bundle/config.json
echo "CASULO-BENCH-INFO casulo=$(casulo --version | head -n 1) | crun=$(crun --version | head -n 1) | kernel=$(uname -r)"
# Each contender once, shown, so a broken one says why before the timing.
/usr/bin/unshare -fpmnuiC --mount-proc true || echo "CASULO-BENCH-ERRO piso"
crun run --bundle /tmp/bundle casulo-vm-bench || echo "CASULO-BENCH-ERRO crun"
echo "CASULO-BENCH $(/probe cronometrar "$rodadas" \
    piso /usr/bin/unshare -fpmnuiC --mount-proc true ,, \
    crun /usr/bin/crun run --bundle /tmp/bundle casulo-vm-bench ,, \
    casulo /casulo run --rm busybox true ,, \
    'casulo --trace /dev/null' /casulo run --rm --trace /dev/null busybox true ,, \
    'casulo --version' /casulo --version)"
# Where the time goes: each kept trace (the `casulo` runs, timed or the
# untimed one before each) as
# `kind=t_us` pairs on one line (the serial console is slow for whole traces).
for t in /var/lib/casulo/traces/*.trace.jsonl; do
    echo "CASULO-BENCH-TRACE $(sed -n 's/^{"seq":[0-9]*,"t_us":\([0-9]*\),"pid":[0-9]*,"kind":"\([^"]*\)".*/\2=\1/p' "$t" | tr '\n' ' ')"
done
echo "CASULO-BENCH-FIM"
