# Scenario (b): see proxy-transfer.inc.sh.
PROXY=nginx
source "$LIBRA_SRC/tests/guest/scenarios/proxy-transfer.inc.sh"
