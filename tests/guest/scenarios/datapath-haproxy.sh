# The data path under haproxy: see datapath.inc.sh.
PROXY=haproxy
source "$LIBRA_SRC/tests/guest/scenarios/datapath.inc.sh"
