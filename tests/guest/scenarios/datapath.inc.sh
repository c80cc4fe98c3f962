# Shared body of the datapath-* scenarios ($PROXY: nginx or haproxy, each with
# its Debian defaults): bodies
# of every interesting size cross the proxy byte-exactly with Libra on, the
# counters prove they went through anchors and zero-copy sends, and anchored
# memory returns to zero.
source "$LIBRA_SRC/tests/guest/lib.sh"

min_body=16384
sizes=(0 1 1023 1024 $((min_body - 1)) $min_body $((min_body + 1)) 65536 1048576 4194304 $((RANDOM * 37 + 1)) $((RANDOM * 101 + 7)))
make_bodies "${sizes[@]}"
start_backend 8081
libra_load
libra_attach_parser
case $PROXY in
nginx) start_nginx_proxy 8080 8081 ;;
haproxy) start_haproxy_proxy 8080 8081 ;;
*) fail "unknown proxy $PROXY" ;;
esac
"$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of $PROXY"

fetch_and_verify 8080 "${sizes[@]}"
# keep-alive: several bodies over one client connection
urls=() expected=()
for size in 1048576 65536 4194304 1 65536; do
	urls+=("http://127.0.0.1:8080/$size" -o "$WORK/ka.$size.${#urls[@]}")
done
curl -sf "${urls[@]}" || fail "keep-alive sequence"
for f in "$WORK"/ka.*; do
	size=${f#"$WORK"/ka.}; size=${size%%.*}
	cmp -s "$f" "$WORK/www/$size" || fail "keep-alive body $f differs"
done
say "keep-alive sequence ok"
"$DEVCTL" stats

anchored=$(stat_of bytes_anchored) zc=$(stat_of bytes_zero_copy_sent)
((anchored > 0)) || fail "no body was anchored"
((zc > 0)) || fail "nothing was sent from anchors"
wait_anchors_released
say "anchored $anchored bytes, sent $zc bytes without copying"

# The proxy's own opt-in entry counted the same traffic (it is the only one).
[[ $("$DEVCTL" entry-stats "$PROXY_PID" bytes_anchored) == "$anchored" ]] \
	|| fail "per-entry bytes_anchored $("$DEVCTL" entry-stats "$PROXY_PID" bytes_anchored) != $anchored"
[[ $("$DEVCTL" entry-stats "$PROXY_PID" bytes_zero_copy_sent) == "$zc" ]] \
	|| fail "per-entry bytes_zero_copy_sent differs from the global counter"
[[ $("$DEVCTL" entry-stats "$PROXY_PID" anchored_bytes_now) == 0 ]] || fail "per-entry anchored bytes left"

# An entry's own limit: below one region, every body is copied, still exact.
"$DEVCTL" disable "$PROXY_PID"
"$DEVCTL" enable "$PROXY_PID" desc limit=1000 || fail "opt-in with a limit"
fetch_and_verify 8080 1048576
[[ $("$DEVCTL" entry-stats "$PROXY_PID" bytes_anchored) == 0 ]] || fail "anchored past the entry's limit"
(($("$DEVCTL" entry-stats "$PROXY_PID" fallback_budget) > 0)) || fail "the entry's limit was never consulted"
say "entry limit respected: bodies copied, byte-exact"
"$DEVCTL" disable "$PROXY_PID"
libra_unload
