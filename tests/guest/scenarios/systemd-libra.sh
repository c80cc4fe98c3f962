# Libra as an operator runs it, under systemd as PID 1 (run-guest --systemd):
# the libra package installed with dpkg (its postinst makes the group), the
# module DKMS built (fixture dkms-<k>), `systemctl start libra` (ExecStartPre
# loads the module, Type=notify), librad's entries in the journal with their
# fields, an nginx started by systemd opted in by its MainPID, traffic checked
# byte for byte and in `libractl stats`, `systemctl reload` and `restart`
# under load (the opt-in and the anchors survive, no transfer fails), the
# unit's sandbox in force on the running librad (seccomp filter, no new
# privileges, read-only /usr and /etc, bounded capabilities), `systemctl
# stop`, and `dpkg --purge` leaving nothing of the package behind.
source "$LIBRA_SRC/tests/guest/lib.sh"

[[ $(cat /proc/1/comm) == systemd ]] || fail "PID 1 is $(cat /proc/1/comm), not systemd (run-guest --systemd)"
version=$(cat "$LIBRA_BUILD/libra-version")
debs=$LIBRA_BUILD/tests/packaging/debs
arch=$(dpkg --print-architecture)
[[ -f $debs/libra_${version}_$arch.deb ]] || fail "no $debs/libra_${version}_$arch.deb: run the packaging.debs test first"
modinfo -n libra | grep -q /updates/dkms/ || fail "no DKMS-installed libra for $(uname -r): run the dkms-<k>/install test first"

# (man-db's index rebuild after each package takes a minute here: not needed)
rm -f /var/lib/man-db/auto-update
# libra-dkms unpacked only: its module is the DKMS fixture's (building it
# again under emulation would take many minutes)
dpkg --unpack "$debs/libra-dkms_${version}_all.deb" > "$WORK/dpkg.log" 2>&1 || fail "dpkg --unpack libra-dkms: $(cat "$WORK/dpkg.log")"
dpkg -i --force-depends "$debs/libra_${version}_$arch.deb" >> "$WORK/dpkg.log" 2>&1 || fail "dpkg -i libra: $(cat "$WORK/dpkg.log")"
getent group libra > /dev/null || fail "the package's postinst made no libra group"
dpkg-query -W -f='${Conffiles}\n' libra | grep -q /etc/libra/librad.conf || fail "librad.conf is not a conffile"
[[ $(systemctl is-enabled libra) == disabled ]] || fail "the package enabled libra.service: $(systemctl is-enabled libra)"
say "libra $version installed; group $(getent group libra); libra.service $(systemctl is-enabled libra)"

systemctl start libra || { systemctl status libra --no-pager; journalctl -u libra --no-pager; fail "systemctl start libra"; }
[[ $(systemctl is-active libra) == active ]] || fail "libra.service is $(systemctl is-active libra)"
grep -q '^libra ' /proc/modules || fail "ExecStartPre did not load the module"
LIBRAD_PID=$(systemctl show -p MainPID --value libra)
say "systemctl start libra: active, librad pid $LIBRAD_PID, module $(modinfo -n libra)"

# the journal: librad's own entries, with their fields
journalctl -u libra -o json --no-pager > "$WORK/journal.json"
python3 - "$WORK/journal.json" <<'PY' || fail "librad's journal entries"
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
librad = [e for e in entries if e.get("SYSLOG_IDENTIFIER") == "librad"]
assert librad, f"no entry with SYSLOG_IDENTIFIER=librad among {len(entries)}"
loggers = {e.get("LIBRA_LOGGER") for e in librad}
assert {"librad", "module", "bpf", "control"} <= loggers, loggers
assert all(e.get("PRIORITY") in "01234567" for e in librad)
assert any("ready" in e["MESSAGE"] for e in librad), [e["MESSAGE"] for e in librad]
print(f"journal: {len(librad)} entries of librad, loggers {sorted(loggers)}")
PY

# nginx under systemd: a proxy on 8080 in front of a file server on 8081
M=1048576
mkdir -p /var/www/libra
for s in 65536 $M $((4 * M)) $((RANDOM * 37 + 1)); do head -c "$s" /dev/urandom > "/var/www/libra/$s"; done
rm -f /etc/nginx/sites-enabled/*
cat > /etc/nginx/sites-enabled/libra-test <<'CONF'
upstream files { server 127.0.0.1:8081; keepalive 8; }
server {
	listen 127.0.0.1:8080;
	location / {
		proxy_pass http://files;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		proxy_buffer_size 64k; proxy_buffers 8 64k; proxy_max_temp_file_size 0;
	}
}
server { listen 127.0.0.1:8081; root /var/www/libra; sendfile off; }
CONF
sed -i 's/^\(\s*gzip\) on;/\1 off;/' /etc/nginx/nginx.conf
systemctl start nginx || { journalctl -u nginx --no-pager | tail -20; fail "systemctl start nginx"; }
NGINX_PID=$(systemctl show -p MainPID --value nginx)
libractl enable --pid "$NGINX_PID" || fail "libractl enable --pid $NGINX_PID"
journalctl -u libra LIBRA_PID="$NGINX_PID" --no-pager -o cat | grep -q "opt-in added" \
	|| fail "the journal has no entry with LIBRA_PID=$NGINX_PID for the opt-in"
say "nginx (MainPID $NGINX_PID) opted in; journalctl -u libra LIBRA_PID=$NGINX_PID: $(journalctl -u libra LIBRA_PID="$NGINX_PID" --no-pager -o cat | tail -n 1)"

fetch_all() { # every file through nginx, byte for byte
	local f got
	for f in /var/www/libra/*; do
		got=$(curl -sSf --max-time 60 "http://127.0.0.1:8080/${f##*/}" | sha256sum | cut -d' ' -f1) || return 1
		[[ $got == "$(sha256sum < "$f" | cut -d' ' -f1)" ]] || { echo "GET ${f##*/}: wrong body"; return 1; }
	done
}
fetch_all || fail "traffic through the opted-in nginx"
zc=$(libractl stats --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("result", d); print(d["bytes_zero_copy_sent"])')
((zc > 4 * M)) || fail "libractl stats: bytes_zero_copy_sent $zc after 5 MiB of bodies"
say "traffic: every body exact; libractl stats: bytes_zero_copy_sent $zc"

systemctl reload libra || fail "systemctl reload libra"
sleep 1
[[ $(systemctl is-active libra) == active ]] || fail "libra.service after reload: $(systemctl is-active libra)"
journalctl -u libra --no-pager -o cat | grep -q "configuration reloaded" || fail "the reload is not in the journal"

# restart under load: transfers go on through the module while librad is away
( for _ in $(seq 8); do fetch_all || { echo LOAD-FAILED; exit 1; }; done ) > "$WORK/load.out" 2>&1 &
load=$!
sleep 2
systemctl restart libra || fail "systemctl restart libra"
wait "$load" || fail "traffic failed across systemctl restart: $(cat "$WORK/load.out")"
NEW_PID=$(systemctl show -p MainPID --value libra)
((NEW_PID != LIBRAD_PID)) || fail "librad was not restarted"
libractl status --json | grep -q "\"pid\": *$NGINX_PID" || fail "the opt-in of $NGINX_PID did not survive the restart"
zc2=$(libractl stats --json | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d.get("result", d); print(d["bytes_zero_copy_sent"])')
((zc2 > zc)) || fail "nothing went zero-copy across the restart ($zc -> $zc2)"
say "systemctl restart under load: librad $LIBRAD_PID -> $NEW_PID, opt-in kept, zero-copy $zc -> $zc2, every transfer exact"

# the sandbox, on the running librad
status=/proc/$NEW_PID/status
grep -q '^Seccomp:\s*2' "$status" || fail "librad runs without a seccomp filter: $(grep Seccomp "$status")"
grep -q '^NoNewPrivs:\s*1' "$status" || fail "librad may gain privileges: $(grep NoNewPrivs "$status")"
capbnd=$(sed -n 's/^CapBnd:\s*//p' "$status")
# CAP_CHOWN 0, CAP_NET_ADMIN 12, CAP_PERFMON 38, CAP_BPF 39
[[ $((16#$capbnd)) == $(((1 << 0) | (1 << 12) | (1 << 38) | (1 << 39))) ]] \
	|| fail "librad's capability bounding set is $capbnd"
for dir in /usr /etc /var/lib; do
	nsenter -t "$NEW_PID" -m -- sh -c "touch $dir/libra-sandbox-probe" 2> /dev/null \
		&& fail "librad's mount namespace lets it write $dir (ProtectSystem=strict)"
done
nsenter -t "$NEW_PID" -m -- sh -c 'touch /run/libra/probe && rm /run/libra/probe' \
	|| fail "librad cannot write its own /run/libra"
# A forbidden syscall refused: ptrace(PTRACE_TRACEME) needs no privilege, so
# only the system call filter (@system-service has no @debug) can refuse it.
# Run under the unit's own [Service] sandbox as a transient service.
props=()
while IFS= read -r line; do
	case $line in
	'' | '#'* | '['* | Type=* | NotifyAccess=* | Exec* | Restart* | RuntimeDirectory*) continue ;;
	esac
	props+=(-p "$line")
done < <(sed -n '/^\[Service\]/,/^\[Install\]/p' /lib/systemd/system/libra.service)
traceme='import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); r = libc.ptrace(0, 0, None, None); print(r, os.strerror(ctypes.get_errno()) if r else "ok")'
[[ $(python3 -c "$traceme") == "0 ok" ]] || fail "ptrace(PTRACE_TRACEME) fails even without the sandbox"
sandboxed=$(systemd-run --wait --pipe --quiet "${props[@]}" /usr/bin/python3 -c "$traceme" 2>&1) || true
[[ $sandboxed == "-1 Operation not permitted" ]] \
	|| fail "under libra.service's sandbox ptrace(PTRACE_TRACEME) gave: $sandboxed"
say "sandbox: seccomp filter, no new privileges, CapBnd $capbnd, /usr /etc /var/lib read-only for librad;" \
	"ptrace refused under the unit's sandbox (${#props[@]} properties): $sandboxed"

libractl disable --pid "$NGINX_PID" || fail "libractl disable"
systemctl stop nginx
systemctl stop libra || fail "systemctl stop libra"
[[ $(systemctl is-active libra) == inactive ]] || fail "libra.service after stop: $(systemctl is-active libra)"
say "systemctl stop libra: inactive"

dpkg --purge libra libra-dkms > "$WORK/purge.log" 2>&1 || fail "dpkg --purge: $(cat "$WORK/purge.log")"
for f in /etc/libra /usr/sbin/librad /usr/bin/libractl /lib/systemd/system/libra.service \
	/usr/lib/sysusers.d/libra.conf "/usr/src/libra-$version/module"; do
	[[ ! -e $f ]] || fail "$f is left after dpkg --purge"
done
say "dpkg --purge: nothing of the packages left"
