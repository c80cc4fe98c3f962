# Load the module, check the control interface answers with the right ABI
# version, refuse an unprivileged opener, unload.
source "$LIBRA_SRC/tests/guest/lib.sh"

libra_load
out=$("$DEVCTL" version) || fail "version ioctl: $out"
say "control interface: $out"
[[ $out == "abi=1 version=$(cat "$LIBRA_BUILD/libra-version") "* ]] || fail "unexpected version answer: $out"

ls -l /dev/libra
if setpriv --reuid=65534 --regid=65534 --clear-groups "$DEVCTL" version 2>/dev/null; then
	fail "an unprivileged process opened /dev/libra"
fi
say "unprivileged opener refused"

"$DEVCTL" enable 1 || fail "opt-in of pid 1"
"$DEVCTL" enable 1 2>/dev/null && fail "a duplicate opt-in was accepted"
"$DEVCTL" enable 999999 2>/dev/null && fail "opt-in of a missing pid was accepted"
[[ $("$DEVCTL" list) == "1 0 16384" ]] || fail "opt-in table: $("$DEVCTL" list)"
"$DEVCTL" disable 1 || fail "opt-out of pid 1"
[[ -z $("$DEVCTL" list) ]] || fail "opt-in table not empty"

libra_unload
[[ ! -e /dev/libra ]] || fail "/dev/libra still present after unload"
