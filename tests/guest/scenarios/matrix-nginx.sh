# Issue 5's matrix under Debian's nginx with its default proxy settings: see
# matrix.inc.sh.
PROXY=nginx
source "$LIBRA_SRC/tests/guest/scenarios/matrix.inc.sh"
