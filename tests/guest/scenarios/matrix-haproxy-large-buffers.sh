# Issue 5's matrix under Debian's HAProxy with the buffer size the README
# recommends for an opted-in HAProxy: regions up to 64 KiB. See matrix.inc.sh.
PROXY=haproxy
HAPROXY_GLOBAL="tune.bufsize 65536"
source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
