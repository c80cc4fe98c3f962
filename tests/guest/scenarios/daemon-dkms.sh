# The operator's path (README "Installing on a real host"), in the guest: the
# DKMS-installed libra.ko (ctest fixture dkms-<k>) loaded by the unit's own
# ExecStartPre (modprobe libra), this build installed with cmake --install
# (its unit checked with systemd-analyze verify),
# librad started the way libra.service starts it (sd_notify READY=1 checked),
# libractl status/version, enable --pid of a running nginx, an nginx reload
# (new workers forked after the opt-in are covered: bodies still anchored),
# stats --json parsed and checked, libractl sockets (a held connection listed
# with its addresses and counters), sha256 of every body, unprivileged peers
# refused, disable, SIGTERM (exit 0, socket removed), rmmod. librad.conf sets
# the global anchored-memory limit (applied at start and again on a reload)
# and the Prometheus endpoint, scraped with curl; the opt-in has a limit of
# its own, and nginx's entry carries its own counters (in stats --json and as
# libra_optin_* series).
source "$LIBRA_SRC/tests/guest/lib.sh"

sizes=(0 1024 65536 1048576 $((RANDOM * 37 + 1)))

# The module DKMS installed, not this build's kmod/ copy.
modpath=$(modinfo -n libra) || fail "modinfo finds no libra for $(uname -r): run the dkms-<k>/install test first"
[[ $modpath == */updates/dkms/* ]] || fail "modinfo -n libra is $modpath, not a DKMS-installed module"
want_version=$(cat "$LIBRA_BUILD/libra-version")
[[ $(modinfo -F version libra) == "$want_version" ]] || fail "DKMS module is version $(modinfo -F version libra), want $want_version"
# Built from this tree, not left over from an older dkms install.
[[ $(modinfo -F srcversion libra) == "$(modinfo -F srcversion "$LIBRA_KO")" ]] \
	|| fail "DKMS module $modpath was built from other sources than $LIBRA_KO (stale dkms install?)"
say "DKMS module: $modpath (version $want_version, srcversion $(modinfo -F srcversion libra))"
! grep -q '^libra ' /proc/modules || fail "libra is loaded before the unit ran"

libra_install_userspace
# the group, as the installed sysusers.d file makes it
sysusers=$(grep -m1 '/sysusers.d/libra.conf$' "$LIBRA_BUILD/install_manifest.txt") || fail "no sysusers.d file installed"
systemd-sysusers "$sysusers" || fail "systemd-sysusers $sysusers"
getent group libra > /dev/null || fail "systemd-sysusers $sysusers made no libra group"
say "group libra made by $sysusers: $(getent group libra)"
systemd-analyze verify --man=no "$LIBRA_UNIT" > "$WORK/verify.out" 2>&1 || { cat "$WORK/verify.out"; fail "systemd-analyze verify $LIBRA_UNIT"; }
if grep "libra.service:" "$WORK/verify.out"; then fail "systemd-analyze verify finds fault with the installed unit"; fi
say "systemd-analyze verify: the installed $LIBRA_UNIT is clean"
# What an operator would set in librad.conf: a global limit on anchored
# memory (librad hands it to the module) and the Prometheus endpoint.
metrics_url=http://127.0.0.1:9464/metrics
printf 'anchor-limit = 128M\nprometheus-listen = 127.0.0.1:9464\n' >> "$LIBRA_CONF"
librad_start_like_unit
grep -q '^libra ' /proc/modules || fail "the unit's ExecStartPre did not load libra"
[[ $(cat /sys/module/libra/version) == "$want_version" ]] || fail "loaded libra is not the DKMS one"

# The control socket as PROTOCOL.md promises it.
[[ $(stat -c '%a %U %G' /run/libra) == "750 root libra" ]] || fail "/run/libra is $(stat -c '%a %U %G' /run/libra)"
[[ $(stat -c '%a %U %G %F' /run/libra/librad.sock) == "660 root libra socket" ]] \
	|| fail "librad.sock is $(stat -c '%a %U %G %F' /run/libra/librad.sock)"
grep -q '^<[0-7]>' "$WORK/librad.log" || fail "librad did not log in journald format under INVOCATION_ID"
if grep -q '^<[0-3]>' "$WORK/librad.log"; then cat "$WORK/librad.log"; fail "librad logged errors at startup"; fi
[[ $(cat /sys/module/libra/parameters/anchor_limit_mb) == 128 ]] \
	|| fail "anchor-limit = 128M did not reach the module: anchor_limit_mb $(cat /sys/module/libra/parameters/anchor_limit_mb)"
[[ $(libractl_stats anchored_bytes_limit) == $((128 << 20)) ]] || fail "stats: anchored_bytes_limit is not 128M"

"$LIBRACTL" version | tee "$WORK/version.out" || fail "libractl version"
grep -q "$want_version" "$WORK/version.out" || fail "libractl version does not show $want_version"
"$LIBRACTL" status | tee "$WORK/status.out" || fail "libractl status"
"$LIBRACTL" status --json > "$WORK/status.json" || fail "libractl status --json"
python3 - "$WORK/status.json" <<'PY' || fail "status --json: $(cat "$WORK/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
s = s.get("result", s)
parsers = s["daemon"]["parsers"]
assert parsers and all(p["attached"] for p in parsers), f"parser not attached: {parsers}"
assert s["optins"] == [], f"opt-ins before enable: {s['optins']}"
assert s["daemon"]["anchor_limit"] == 128 << 20, f"daemon.anchor_limit: {s['daemon']}"
PY

make_bodies "${sizes[@]}"
start_backend 8081
start_nginx_proxy 8080 8081
"$LIBRACTL" enable --pid "$PROXY_PID" --anchor-limit 64M || fail "libractl enable --pid $PROXY_PID --anchor-limit 64M"
"$LIBRACTL" status | tee "$WORK/status.out" | grep -q "pid $PROXY_PID (and descendants) ports all min-body 16384 anchor-limit 64M" \
	|| { cat "$WORK/status.out"; fail "status does not list pid $PROXY_PID with its anchor limit"; }
anchored0=$(libractl_stats bytes_anchored)
fetch_and_verify 8080 "${sizes[@]}"
anchored1=$(libractl_stats bytes_anchored)
((anchored1 > anchored0)) || fail "no body was anchored before the reload ($anchored0 -> $anchored1)"
say "before reload: bytes_anchored $anchored0 -> $anchored1"

# nginx -s reload: the master forks new workers (after the opt-in) and the old
# ones exit; only new workers serve what follows.
old_workers=$(pgrep -P "$PROXY_PID" | sort)
nginx -p "$WORK/nginx-proxy" -c "$WORK/nginx-proxy/nginx.conf" -s reload || fail "nginx -s reload"
# the old workers that are still children of the master
old_left() { pgrep -P "$PROXY_PID" | grep -x -F "$old_workers" || true; }
for _ in $(seq 100); do
	[[ -z $(old_left) && $(pgrep -P "$PROXY_PID" | wc -l) == 2 ]] && break
	sleep 0.1
done
[[ -z $(old_left) ]] || fail "old nginx workers still running: $(old_left)"
new_workers=$(pgrep -P "$PROXY_PID" | sort)
say "nginx reloaded: workers $(echo $old_workers) -> $(echo $new_workers)"
fetch_and_verify 8080 "${sizes[@]}"
anchored2=$(libractl_stats bytes_anchored)
((anchored2 > anchored1)) || fail "bodies after the reload were not anchored ($anchored1 -> $anchored2)"
say "after reload: bytes_anchored $anchored1 -> $anchored2"
"$LIBRACTL" stats || fail "libractl stats"

# libractl sockets: a client connection held open after a 1 MiB GET is listed
# with its addresses, under the worker that adopted it, with the body's bytes
# sent zero-copy (all but what was copied on receive); --pid filters.
hold_connection 8080 1048576
"$LIBRACTL" sockets | tee "$WORK/sockets.out" || fail "libractl sockets"
grep -E "^ *[0-9]+ +[0-9]+ server +127\.0\.0\.1:8080 +127\.0\.0\.1:$HELD_PORT .* ok$" "$WORK/sockets.out" > /dev/null \
	|| fail "libractl sockets does not show the held connection from port $HELD_PORT"
"$LIBRACTL" sockets --json > "$WORK/sockets.json" || fail "libractl sockets --json"
front_pid=$(python3 - "$WORK/sockets.json" "$HELD_PORT" $new_workers <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
r = doc.get("result", doc)
client_port, workers = int(sys.argv[2]), {int(p) for p in sys.argv[3:]}
assert r["total"] == r["listed"] == len(r["sockets"]) and not r["truncated"] and r["unavailable"] == [], r
front = [s for s in r["sockets"] if s["local_port"] == 8080 and s["remote_port"] == client_port]
assert len(front) == 1, f"held connection: {front}"
f = front[0]
assert f["role"] == "server" and f["family"] == "ipv4" and f["opted_in"], f
assert f["local_address"] == f["remote_address"] == "127.0.0.1", f
assert f["pid"] in workers, f"adopted by {f['pid']}, not one of the workers {workers}"
assert not f["rx"]["stepped_aside"] and not f["tx"]["stepped_aside"] and f["tokens_rejected"] == 0, f
assert 1048576 // 2 < f["bytes_zero_copy_sent"] <= 1048576, f
# upstream connections of both workers; only those that carried a body past min_body anchored
ups = [s for s in r["sockets"] if s["remote_port"] == 8081]
assert ups and all(s["role"] == "client" for s in ups) and any(s["bytes_anchored"] > 0 for s in ups), ups
print(f["pid"])
PY
) || fail "libractl sockets --json: $(cat "$WORK/sockets.json")"
"$LIBRACTL" sockets --json --pid "$front_pid" | python3 -c '
import json, sys
r = json.load(sys.stdin); r = r.get("result", r)
assert r["pid"] == int(sys.argv[1]) and r["sockets"] and all(s["pid"] == r["pid"] for s in r["sockets"]), r
' "$front_pid" || fail "libractl sockets --pid $front_pid lists other processes' sockets"
rc=0; "$LIBRACTL" sockets --pid 2147483646 > "$WORK/sockets.err" 2>&1 || rc=$?
((rc == 1)) && grep -qi 'no such process' "$WORK/sockets.err" || fail "sockets of no process: exit $rc, $(cat "$WORK/sockets.err")"
release_connection
say "libractl sockets: the held connection listed under worker $front_pid, its body sent zero-copy"

# nginx's entry: its own counters, the only entry, so its bytes_anchored is
# the module's total; its limit in force is its own 64M within the global one.
check_entry_stats() { # GLOBAL_LIMIT: prints the entry's bytes_anchored
	"$LIBRACTL" stats --json > "$WORK/stats.json" || fail "libractl stats --json"
	python3 - "$WORK/stats.json" "$PROXY_PID" "$1" <<'PY' || fail "per-entry stats: $(cat "$WORK/stats.json")"
import json, sys
s = json.load(open(sys.argv[1]))
pid, global_limit = int(sys.argv[2]), int(sys.argv[3])
assert s["cgroups"] == [] and len(s["processes"]) == 1, f"entries: {s['processes']} {s['cgroups']}"
e = s["processes"][0]
assert e["pid"] == pid and e["anchor_limit"] == 64 << 20, e
assert e["bytes_anchored"] > 0, f"nothing anchored for the entry: {e}"
assert e["bytes_anchored"] == s["bytes_anchored"], f"entry {e['bytes_anchored']} != total {s['bytes_anchored']}"
assert e["anchored_bytes_limit"] == 64 << 20, f"entry's limit in force: {e['anchored_bytes_limit']}"
assert s["anchored_bytes_limit"] == global_limit, f"global limit {s['anchored_bytes_limit']}, want {global_limit}"
# every figure the module keeps per entry is there; system-wide only ones are not
assert e["unavailable"] == [] and isinstance(e["fallbacks"], dict), e
assert "recvmsg_calls" not in e["module_counters"] and "recvmsg_calls" in s["module_counters"], e
print(e["bytes_anchored"])
PY
}
entry_anchored=$(check_entry_stats $((128 << 20)))
say "nginx's entry: bytes_anchored $entry_anchored, the module's total"

# systemctl reload: a new global limit reaches the module; the entry's own stays.
sed -i 's/^anchor-limit = .*/anchor-limit = 192M/' "$LIBRA_CONF"
librad_reload
[[ $(cat /sys/module/libra/parameters/anchor_limit_mb) == 192 ]] || fail "reload did not set anchor_limit_mb to 192"
entry_anchored=$(check_entry_stats $((192 << 20)))

# Prometheus over HTTP, as a scraper sees it: the totals and nginx's series.
curl -sS --max-time 10 -D "$WORK/metrics.headers" -o "$WORK/metrics.txt" "$metrics_url" || fail "curl $metrics_url"
head -n 1 "$WORK/metrics.headers" | grep -q '^HTTP/1.0 200' || fail "metrics: $(head -n 1 "$WORK/metrics.headers")"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$WORK/metrics.headers" || fail "metrics: no text exposition content type"
metric() { sed -n "s/^$1 //p" "$WORK/metrics.txt"; }
[[ $(metric libra_anchored_bytes_limit) == $((192 << 20)) ]] || fail "metrics: libra_anchored_bytes_limit $(metric libra_anchored_bytes_limit)"
[[ $(metric "libra_optin_bytes_anchored_total{pid=\"$PROXY_PID\"}") == "$entry_anchored" ]] \
	|| { cat "$WORK/metrics.txt"; fail "metrics: nginx's libra_optin_bytes_anchored_total is not $entry_anchored"; }
[[ $(metric libra_bytes_anchored_total) == "$entry_anchored" ]] || fail "metrics: libra_bytes_anchored_total"
[[ $(metric "libra_optin_anchored_bytes_limit{pid=\"$PROXY_PID\"}") == $((64 << 20)) ]] || fail "metrics: nginx's limit in force"
grep -q "^libra_optin_fallbacks_total{pid=\"$PROXY_PID\",reason=\"small_body\"} [0-9]*$" "$WORK/metrics.txt" \
	|| fail "metrics: no per-entry fallbacks series"
! grep -q '^libra_optin_recvmsg_calls' "$WORK/metrics.txt" || fail "metrics: a system-wide counter as a per-entry series"
say "Prometheus on $metrics_url: $(grep -c "pid=\"$PROXY_PID\"" "$WORK/metrics.txt") series for nginx's entry"

# Unprivileged peers. Without the group, the socket's mode keeps them out.
rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups "$LIBRACTL" status > "$WORK/nobody.out" 2>&1 || rc=$?
cat "$WORK/nobody.out"
((rc == 3)) && grep -q 'Permission denied' "$WORK/nobody.out" || fail "nobody: exit $rc, want 3 with 'Permission denied'"
# Past the socket's mode (CAP_DAC_OVERRIDE only), librad itself refuses.
rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override \
	"$LIBRACTL" enable --pid "$PROXY_PID" > "$WORK/nobody.out" 2>&1 || rc=$?
cat "$WORK/nobody.out"
((rc == 4)) && grep -q 'needs root, CAP_NET_ADMIN' "$WORK/nobody.out" || fail "nobody with dac_override: exit $rc, want 4 and librad's reason"
rc=0; setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=+dac_override --ambient-caps=+dac_override \
	"$LIBRACTL" stats > "$WORK/nobody.out" 2>&1 || rc=$?
((rc == 4)) || fail "nobody with dac_override read stats: exit $rc"
# A member of group libra reads stats but may not opt in root's nginx.
member=(setpriv --reuid=65534 --regid=65534 --groups="$(getent group libra | cut -d: -f3)")
"${member[@]}" "$LIBRACTL" stats --json > /dev/null || fail "a libra group member cannot read stats"
rc=0; "${member[@]}" "$LIBRACTL" disable --pid "$PROXY_PID" > "$WORK/member.out" 2>&1 || rc=$?
cat "$WORK/member.out"
((rc == 4)) || fail "a group member disabled root's nginx: exit $rc"
kill -0 "$LIBRAD_PID" || fail "librad died serving unprivileged peers"
"$LIBRACTL" status | grep -q "$PROXY_PID" || fail "the opt-in was lost"
say "unprivileged peers refused, group member limited to reading"

"$LIBRACTL" disable --pid "$PROXY_PID" || fail "libractl disable"
"$LIBRACTL" status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); s=s.get("result",s); assert s["optins"]==[], s["optins"]' \
	|| fail "opt-in still listed after disable"
libractl_wait_anchors_released
curl -sS --max-time 10 -o "$WORK/metrics.txt" "$metrics_url" || fail "curl $metrics_url after disable"
! grep -q "pid=\"$PROXY_PID\"" "$WORK/metrics.txt" || fail "metrics: series of a disabled entry"
librad_stop
stop_notify_listener
nginx -p "$WORK/nginx-proxy" -c "$WORK/nginx-proxy/nginx.conf" -s stop
nginx -p "$WORK/backend" -c "$WORK/backend/nginx.conf" -s stop
libra_unload
! grep -q '^libra ' /proc/modules || fail "libra still loaded"
