# Opt-in entries follow their processes (issue 13, item 4): an entry whose
# process has exited goes away by itself, counted in optin_expired, so a
# proxy restarted over and over with its opt-in never fills the table
# (LIBRA_OPTIN_MAX, 1024 entries). 20 real nginx restarts, each opted in
# (master and descendants) and serving a body byte-exactly, then 2,000
# short-lived processes opted in one after another, more than the table
# holds; then the table must be empty and every entry counted.
source "$LIBRA_SRC/tests/guest/lib.sh"

libra_load
libra_attach_parser
make_bodies 1048576
start_backend 8081

expired0=$(stat_of optin_expired)
for i in $(seq 20); do
	start_nginx_proxy 8090 8081 "nginx-restart"
	"$DEVCTL" enable "$PROXY_PID" desc || fail "enable of nginx $i (pid $PROXY_PID) failed"
	fetch_and_verify 8090 1048576 >/dev/null
	nginx -p "$WORK/nginx-restart" -c "$PROXY_CONF" -s stop
	while kill -0 "$PROXY_PID" 2>/dev/null; do sleep 0.05; done
done
say "20 nginx restarts, each opted in and byte-exact"

for i in $(seq 2000); do
	sleep 30 &
	pid=$!
	"$DEVCTL" enable "$pid" || fail "enable number $i (pid $pid) failed: the table filled with exited processes' entries"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
done
say "2,000 short-lived processes opted in one after another"

for _ in $(seq 50); do "$DEVCTL" list | grep -q . || break; sleep 0.1; done
"$DEVCTL" list | grep -q . && fail "entries of exited processes are still listed: $("$DEVCTL" list | head -5)"
expired=$(($(stat_of optin_expired) - expired0))
((expired == 2020)) || fail "optin_expired counted $expired, not 2020"
[[ $(stat_of optin_entries) == 0 ]] || fail "optin_entries is $(stat_of optin_entries), not 0"
say "every entry expired with its process: optin_expired $expired, the table empty"
wait_anchors_released
libra_unload
