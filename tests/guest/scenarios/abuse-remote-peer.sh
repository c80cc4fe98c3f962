# Issue 13: abuse-remote's parts (b) urgent data, (c) pipelining and a
# pipelined flood, (d) custom methods and upstream connection reuse, without
# the early resets (about 5 minutes under emulation): see abuse-remote.sh.
ABUSE_PARTS="urgent pipelined custom"
source "$LIBRA_SRC/tests/guest/scenarios/abuse-remote.sh"
