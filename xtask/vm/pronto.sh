#!/bin/sh
# /init of the VMs that `cargo xtask medir` counts (see xtask/src/medir_vms.rs):
# as little as a VM can do: say it is ready on the serial console, with the
# guest's own idea of how long it took (uptime), then wait doing nothing
# until the host kills qemu. PID 1 must never exit (the kernel would panic).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
echo "pronto uptime=$(cut -d' ' -f1 /proc/uptime)"
exec sleep 3600
