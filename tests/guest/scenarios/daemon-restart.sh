# librad dies (kill -9) in the middle of traffic through an opted-in nginx and
# is started again, as Restart=on-failure would: the module keeps serving
# while librad is gone, the restarted librad re-attaches to the module's
# opt-ins (status shows them, nothing reset) and re-hands the parser under
# load, wrk sees no error, every body is byte-exact before and after, and
# anchored memory returns to zero when the traffic stops. The module is the
# DKMS-installed one (fixture dkms-<k>), loaded by the unit's ExecStartPre,
# which runs again (a no-op) when librad restarts.
source "$LIBRA_SRC/tests/guest/lib.sh"

sizes=(1024 65536 1048576 $((RANDOM * 37 + 1)))
make_bodies "${sizes[@]}"
modinfo -n libra | grep -q /updates/dkms/ || fail "no DKMS-installed libra for $(uname -r): run the dkms-<k>/install test first"
libra_install_userspace
librad_start_like_unit
[[ -c /dev/libra ]] || fail "the unit's ExecStartPre did not load libra"
start_backend 8081
start_nginx_proxy 8080 8081
"$LIBRACTL" enable --pid "$PROXY_PID" --port 8080,8081 || fail "libractl enable"
"$LIBRACTL" status --json > "$WORK/optins.before"
fetch_and_verify 8080 "${sizes[@]}"
anchored_before=$(libractl_stats bytes_anchored)
((anchored_before > 0)) || fail "nothing anchored before the crash"

start_wrk "http://127.0.0.1:8080/1048576" 8
sleep 2
old_pid=$LIBRAD_PID
kill -9 "$LIBRAD_PID"
wait "$LIBRAD_PID" 2>/dev/null || true
say "librad (pid $old_pid) killed with SIGKILL under load"

# librad is gone: libractl says so clearly; the module keeps working alone.
rc=0; "$LIBRACTL" status > "$WORK/down.out" 2>&1 || rc=$?
cat "$WORK/down.out"
((rc == 3)) || fail "libractl with librad down: exit $rc, want 3"
gap_start=$(stat_of bytes_anchored)
sleep 1.5
gap_end=$(stat_of bytes_anchored)
((gap_end > gap_start)) || fail "the module anchored nothing while librad was down ($gap_start -> $gap_end)"
say "while librad was down: bytes_anchored $gap_start -> $gap_end"
"$DEVCTL" list | grep -q "^$PROXY_PID " || fail "the module lost the opt-in while librad was down"

log_lines=$(wc -l < "$WORK/librad.log")
librad_start_like_unit
((LIBRAD_PID != old_pid)) || fail "librad was not restarted"
restart_log=$(tail -n +"$((log_lines + 1))" "$WORK/librad.log")
echo "$restart_log"
if grep -q '^<[0-3]>' <<<"$restart_log"; then fail "the restarted librad logged errors"; fi
grep -q '1 opt-in entries in force' <<<"$restart_log" || fail "the restarted librad did not find the opt-in"
"$LIBRACTL" status --json > "$WORK/optins.after" || fail "libractl status after restart"
python3 - "$WORK/optins.before" "$WORK/optins.after" <<'PY' || fail "opt-ins changed across the restart"
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
before, after = before.get("result", before), after.get("result", after)
# what the operator asked for stays; processes and state are what the module sees now
asked = lambda optins: [{k: o[k] for k in ("pid", "ports", "min_body", "descendants", "anchor_limit")} for o in optins]
assert before["optins"] and asked(before["optins"]) == asked(after["optins"]), (before["optins"], after["optins"])
assert all(o["state"] == "accelerated" and o["processes"] for o in after["optins"]), after["optins"]
assert all(p["attached"] for p in after["daemon"]["parsers"]), after["daemon"]["parsers"]
assert before["daemon"]["pid"] != after["daemon"]["pid"]
print("opt-ins in force across the restart:", after["optins"])
PY
"$LIBRACTL" status

finish_wrk
fetch_and_verify 8080 "${sizes[@]}"
anchored_after=$(libractl_stats bytes_anchored)
((anchored_after > gap_end)) || fail "nothing anchored after the restart"
libractl_wait_anchors_released
"$LIBRACTL" stats
say "bytes_anchored $anchored_before -> $anchored_after; anchored_bytes_now back to 0"

"$LIBRACTL" disable --pid "$PROXY_PID" || fail "libractl disable"
librad_stop
stop_notify_listener
libra_unload
