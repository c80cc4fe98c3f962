# Shared body of the proxy-* scenarios: $PROXY names the proxy (nginx or haproxy).
# Load the module, opt the proxy in, move bodies of several sizes through it
# byte-exactly, show the hook counters moved, unload under load, check the
# proxy still forwards correctly afterwards.
source "$LIBRA_SRC/tests/guest/lib.sh"

sizes=(0 1 4096 65536 1048576 4194304)
make_bodies "${sizes[@]}"
start_backend 8081
libra_load

case $PROXY in
nginx) start_nginx_proxy 8080 8081 ;;
haproxy) start_haproxy_proxy 8080 8081 ;;
*) fail "unknown proxy $PROXY" ;;
esac
"$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of $PROXY ($PROXY_PID)"
say "$PROXY (pid $PROXY_PID) opted in"

recv0=$(stat_of recvmsg_calls) send0=$(stat_of sendmsg_calls)
engaged0=$(($(stat_of recvmsg_engaged) + $(stat_of sendmsg_engaged)))
fetch_and_verify 8080 "${sizes[@]}"
"$DEVCTL" stats
recv1=$(stat_of recvmsg_calls) send1=$(stat_of sendmsg_calls)
engaged1=$(($(stat_of recvmsg_engaged) + $(stat_of sendmsg_engaged)))
((recv1 > recv0)) || fail "recvmsg hook counter did not move"
((send1 > send0)) || fail "sendmsg hook counter did not move"
((engaged1 > engaged0)) || fail "the opted-in proxy's calls were not handled by libra"
say "hooks: recvmsg +$((recv1 - recv0)), sendmsg +$((send1 - send0)), engaged +$((engaged1 - engaged0))"

# LIBRA_IOC_LIST_SOCKETS reads sockets without their locks while they are
# adopted and destroyed: list in a loop while client connections come and go.
( while "$DEVCTL" sockets > /dev/null; do :; done ) &
lister=$!
for _ in $(seq 30); do
	curl -sf -o /dev/null "http://127.0.0.1:8080/65536" || fail "GET /65536 while listing sockets"
done
kill -0 "$lister" 2>/dev/null || fail "libra-devctl sockets failed while connections came and went"
kill "$lister"
wait "$lister" || true
say "sockets listed continuously across 30 connections"

# Unload while a bounded load runs through the proxy.
start_wrk "http://127.0.0.1:8080/65536" 8
sleep 3
one_cpu_online
libra_unload
finish_wrk
say "unloaded while traffic flowed"

fetch_and_verify 8080 65536 4194304
