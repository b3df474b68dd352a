#!/bin/sh
# The guest kernel's /proc/sys/kernel/modprobe (module autoload: the IPVS genl family,
# ip_vs_<scheduler>, veth ...). There is no kmod on the host, so kmod.py loads modules itself.
# Any python3 runs kmod.py (stdlib only); the kernel runs this with a minimal environment.
here=${0%/*}
for py in "$here/../../.venv/bin/python" /usr/bin/python3 /usr/local/bin/python3; do
    [ -x "$py" ] && exec "$py" -I -S "$here/kmod.py" "$@"
done
echo "ipvsvm modprobe: no python3 found" >&2
exit 1
