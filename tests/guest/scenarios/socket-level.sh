# Socket-level suite (tools/sockcheck.c), in the manner of the kernel's kTLS
# selftests: a mini proxy between a backend and a sink reads responses with
# unusual patterns (1-byte and misaligned reads, readv of 1..1024 buffers,
# MSG_PEEK, MSG_WAITALL, SO_RCVLOWAT, poll/epoll on partial messages,
# non-blocking and SO_RCVTIMEO reads, a signal interrupting a blocked recv,
# EOF, aborts, late opt-ins, small and MSG_MORE sends, keep-alive) and forwards exactly what it read. Every case
# runs Libra off, then on (only the proxy's own pid opted in): byte-exact at
# the sink both times, the counters as the design says for the pattern, and
# every anchor released after each case.
source "$LIBRA_SRC/tests/guest/lib.sh"

SOCKCHECK=$LIBRA_BUILD/tests/guest/sockcheck
HOLDCHECK=$LIBRA_BUILD/tests/guest/holdcheck
[[ -x $SOCKCHECK && -x $HOLDCHECK ]] || fail "sockcheck or holdcheck is not built"

libra_load
libra_attach_parser

rc=0
"$SOCKCHECK" || rc=$?
say "sockcheck exited $rc"
# The bytes a send holds back, settled by the next send, a shutdown, a
# close (with a full send buffer too) or tx_hold_ms (tools/holdcheck.c).
"$HOLDCHECK" || rc=$?
say "holdcheck exited $rc"

# The checks can fail: a flipped forwarded byte, and "on" runs without the
# opt-in, must both be caught.
if "$SOCKCHECK" --only read-65537,keepalive --inject corrupt > "$WORK/inject-corrupt.log" 2>&1; then
	cat "$WORK/inject-corrupt.log"
	fail "a corrupted forwarded byte went unnoticed"
fi
[[ $(grep -c 'FAILED: sink exited 1' "$WORK/inject-corrupt.log") == 4 ]] \
	|| { cat "$WORK/inject-corrupt.log"; fail "not every run caught the corrupted byte"; }
say "self-test: a corrupted forwarded byte fails every run"
if "$SOCKCHECK" --only read-65537,optin-queued --inject no-optin > "$WORK/inject-optin.log" 2>&1; then
	cat "$WORK/inject-optin.log"
	fail "\"on\" runs without the opt-in passed"
fi
for name in read-65537 optin-queued; do
	if ! grep -q "case $name on: FAILED: libra never engaged" "$WORK/inject-optin.log"; then
		cat "$WORK/inject-optin.log"
		fail "the engagement check did not catch a missing opt-in ($name)"
	fi
done
say "self-test: \"on\" runs without the opt-in fail"

wait_anchors_released
((rc == 0)) || { "$DEVCTL" stats; fail "sockcheck failed (exit $rc)"; }
"$DEVCTL" list | grep -q . && fail "an opt-in was left behind: $("$DEVCTL" list)"
libra_unload
