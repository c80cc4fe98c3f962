# Issue 5's matrix under Debian's HAProxy (mode http, its defaults): see
# matrix.inc.sh.
PROXY=haproxy
source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
