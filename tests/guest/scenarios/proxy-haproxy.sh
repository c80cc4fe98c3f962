# Scenario (b): see proxy-transfer.inc.sh.
PROXY=haproxy
source "$LIBRA_SRC/tests/guest/scenarios/proxy-transfer.inc.sh"
