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

# Per-socket counters (LIBRA_IOC_LIST_SOCKETS), first, while every socket the
# entry ever had is still open: keep-alive traffic over one client connection,
# held open while the proxy's sockets are listed; the upstream connection
# stays in the proxy's keep-alive pool. The sockets' own figures then sum to
# the entry's exactly (they count the same events), and their addresses are
# those of the connections.
check_socket_counters() { # PORT UPSTREAM_PORT SIZE...
	local port=$1 upstream=$2 front_tgid; shift 2
	hold_connection "$port" "$@"
	"$DEVCTL" sockets > "$WORK/sockets.out" || fail "libra-devctl sockets"
	cat "$WORK/sockets.out"
	ss -Htn state established dst "127.0.0.1:$upstream" > "$WORK/upstream.ss"
	front_tgid=$(python3 - "$WORK/sockets.out" "$WORK/upstream.ss" "$port" "$HELD_PORT" "$upstream" \
		"$("$DEVCTL" entry-stats "$PROXY_PID" bytes_anchored)" \
		"$("$DEVCTL" entry-stats "$PROXY_PID" bytes_zero_copy_sent)" \
		"$("$DEVCTL" entry-stats "$PROXY_PID" bytes_materialized)" \
		"$(IFS=+; echo $(($*)))" "$PROXY_PID" $(pgrep -P "$PROXY_PID") <<'PY'
import sys
listing, upstream_ss, port, client_port, upstream = sys.argv[1:6]
entry_anchored, entry_zc, entry_written, body_bytes = (int(a) for a in sys.argv[6:10])
proxy_pids = set(sys.argv[10:])
socks = [dict(f.split("=", 1) for f in line.split()) for line in open(listing) if line.strip()]
front = [s for s in socks if s["local"] == f"127.0.0.1:{port}"]
ups = [s for s in socks if s["remote"] == f"127.0.0.1:{upstream}"]
assert len(front) == 1, f"want one socket on port {port}: {front}"
front = front[0]
assert front["remote"] == f"127.0.0.1:{client_port}", f"client-facing socket: {front}, client port {client_port}"
assert front["role"] == "server", front
assert ups, f"no socket to the upstream on {upstream}"
ss_ports = {line.split()[2] for line in open(upstream_ss) if line.strip()}
for s in ups:
    assert s["role"] == "client", s
    assert s["local"] in ss_ports, f"{s['local']} is not a connection to {upstream} (ss: {ss_ports})"
assert len(socks) == 1 + len(ups), f"sockets other than the client's and the upstream ones: {socks}"
for s in socks:
    assert s["tgid"] in proxy_pids, f"socket of tgid {s['tgid']}, not the proxy's {proxy_pids}"
    assert s["flags"] == "0" and s["rx_aside"] == s["tx_aside"] == "-", f"stepped aside: {s}"
    assert int(s["tokens_rejected"]) == 0, s
anchored = sum(int(s["bytes_anchored"]) for s in socks)
zc = sum(int(s["bytes_zero_copy_sent"]) for s in socks)
assert anchored == entry_anchored, f"sockets' bytes_anchored {anchored} != the entry's {entry_anchored}"
assert zc == entry_zc, f"sockets' bytes_zero_copy_sent {zc} != the entry's {entry_zc}"
# Each body byte the upstream sockets received was anchored or copied (the
# fallback copy of a body's first bytes), and what was anchored went on to the
# client, all of it: the GETs are answered in full. Zero-copy, or, where nginx
# (Debian's defaults: proxy_max_temp_file_size 1024m) buffered a response in a
# temp file because the client read slower than the upstream sent, written
# out into that file (bytes_materialized) and sent from it.
up_anchored = sum(int(s["bytes_anchored"]) for s in ups)
up_copied = sum(int(s["bytes_fallback_copied"]) for s in ups)
assert up_anchored + up_copied == body_bytes, f"upstream bodies: {up_anchored} anchored + {up_copied} copied != {body_bytes}"
assert up_anchored > 0 and int(front["bytes_zero_copy_sent"]) + entry_written == up_anchored, (entry_written, socks)
print(front["tgid"])
print(f"per socket: anchored {anchored} (upstream), zero-copy sent {front['bytes_zero_copy_sent']} (to the client), "
      f"written out to temp files {entry_written}, "
      f"fallback copied {up_copied} of {body_bytes} body bytes: equal to the entry's", file=sys.stderr)
PY
	) || fail "per-socket counters"
	# the tgid filter: exactly that process's sockets; a tgid that names no process
	[[ $("$DEVCTL" sockets "$front_tgid") == "$(grep " tgid=$front_tgid " "$WORK/sockets.out")" ]] \
		|| fail "libra-devctl sockets $front_tgid is not the tgid's share of the list"
	! "$DEVCTL" sockets 2147483646 2> "$WORK/esrch.out" && grep -q 'No such process' "$WORK/esrch.out" \
		|| fail "listing the sockets of no process: $(cat "$WORK/esrch.out")"
	release_connection
	say "per-socket counters: the proxy's sockets sum to its entry's figures, addresses match"
}
check_socket_counters 8080 8081 1048576 65536 4194304

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
