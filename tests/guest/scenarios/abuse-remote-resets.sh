# Issue 13: abuse-remote's part (a), early resets, alone (about 5 minutes
# under emulation): see abuse-remote.sh.
ABUSE_PARTS=resets
source "$LIBRA_SRC/tests/guest/scenarios/abuse-remote.sh"
