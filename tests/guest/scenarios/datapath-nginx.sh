# The data path under nginx: see datapath.inc.sh.
PROXY=nginx
source "$LIBRA_SRC/tests/guest/scenarios/datapath.inc.sh"
