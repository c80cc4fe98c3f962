# The operator's path (README "Installing on a real host"), in the guest: the
# DKMS-installed libra.ko (ctest fixture dkms-<k>) loaded by the unit's own
# ExecStartPre (modprobe libra), this build installed with cmake --install,
# librad started the way libra.service starts it (sd_notify READY=1 checked),
# libractl status/version, enable --pid of a running nginx, an nginx reload
# (new workers forked after the opt-in are covered: bodies still anchored),
# stats --json parsed and checked, sha256 of every body, unprivileged peers
# refused, disable, SIGTERM (exit 0, socket removed), rmmod.
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

groupadd --system libra || fail "groupadd libra"
libra_install_userspace
librad_start_like_unit
grep -q '^libra ' /proc/modules || fail "the unit's ExecStartPre did not load libra"
[[ $(cat /sys/module/libra/version) == "$want_version" ]] || fail "loaded libra is not the DKMS one"

# The control socket as PROTOCOL.md promises it.
[[ $(stat -c '%a %U %G' /run/libra) == "750 root libra" ]] || fail "/run/libra is $(stat -c '%a %U %G' /run/libra)"
[[ $(stat -c '%a %U %G %F' /run/libra/librad.sock) == "660 root libra socket" ]] \
	|| fail "librad.sock is $(stat -c '%a %U %G %F' /run/libra/librad.sock)"
grep -q '^<[0-7]>' "$WORK/librad.log" || fail "librad did not log in journald format under INVOCATION_ID"
if grep -q '^<[0-3]>' "$WORK/librad.log"; then cat "$WORK/librad.log"; fail "librad logged errors at startup"; fi

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
PY

make_bodies "${sizes[@]}"
start_backend 8081
start_nginx_proxy 8080 8081
"$LIBRACTL" enable --pid "$PROXY_PID" || fail "libractl enable --pid $PROXY_PID"
"$LIBRACTL" status | grep -q "$PROXY_PID" || fail "status does not list pid $PROXY_PID"
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
librad_stop
stop_notify_listener
nginx -p "$WORK/nginx-proxy" -c "$WORK/nginx-proxy/nginx.conf" -s stop
nginx -p "$WORK/backend" -c "$WORK/backend/nginx.conf" -s stop
libra_unload
! grep -q '^libra ' /proc/modules || fail "libra still loaded"
