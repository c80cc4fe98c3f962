# Load the module, check the control interface answers with the right ABI
# version, refuse an unprivileged opener, unload.
source "$LIBRA_SRC/tests/guest/lib.sh"

libra_load
out=$("$DEVCTL" version) || fail "version ioctl: $out"
say "control interface: $out"
[[ $out == "abi=2 version=$(cat "$LIBRA_BUILD/libra-version") "* ]] || fail "unexpected version answer: $out"

ls -l /dev/libra
if setpriv --reuid=65534 --regid=65534 --clear-groups "$DEVCTL" version 2>/dev/null; then
	fail "an unprivileged process opened /dev/libra"
fi
say "unprivileged opener refused"

"$DEVCTL" enable 1 || fail "opt-in of pid 1"
"$DEVCTL" enable 1 2>/dev/null && fail "a duplicate opt-in was accepted"
"$DEVCTL" enable 999999 2>/dev/null && fail "opt-in of a missing pid was accepted"
[[ $("$DEVCTL" list) == "1 0 16384 0" ]] || fail "opt-in table: $("$DEVCTL" list)"
# per-entry counters: kept ones are numbers, system-wide-only ones absent
[[ $("$DEVCTL" entry-stats 1 sockets_tracked) == 0 ]] || fail "entry sockets_tracked"
[[ $("$DEVCTL" entry-stats 1 recvmsg_calls) == - ]] || fail "recvmsg_calls is not kept per entry"
"$DEVCTL" entry-stats 2 2>/dev/null && fail "counters of an entry that does not exist"
"$DEVCTL" disable 1 || fail "opt-out of pid 1"
"$DEVCTL" enable 1 desc min=65536 limit=8388608 || fail "opt-in with a minimum body and a limit"
[[ $("$DEVCTL" list) == "1 0x1 65536 8388608" ]] || fail "opt-in table: $("$DEVCTL" list)"
[[ $("$DEVCTL" entry-stats 1 anchored_bytes_limit) == 8388608 ]] || fail "entry limit not reported"
say "per-entry counters and limits ok"
"$DEVCTL" disable 1 || fail "opt-out of pid 1"
[[ -z $("$DEVCTL" list) ]] || fail "opt-in table not empty"

# The global anchored-memory limit: whole MiB only, read back as a gauge.
[[ $(stat_of anchored_bytes_limit) == $((256 << 20)) ]] || fail "default limit"
"$DEVCTL" set-limit 1000 2>/dev/null && fail "a limit that is not whole MiB was accepted"
"$DEVCTL" set-limit 0 2>/dev/null && fail "a zero limit was accepted"
"$DEVCTL" set-limit $((64 << 20)) || fail "setting the limit"
[[ $(stat_of anchored_bytes_limit) == $((64 << 20)) ]] || fail "limit not applied"
[[ $(cat /sys/module/libra/parameters/anchor_limit_mb) == 64 ]] || fail "module parameter disagrees"
say "global limit settable"

libra_unload
[[ ! -e /dev/libra ]] || fail "/dev/libra still present after unload"
