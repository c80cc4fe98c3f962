# Brief §4's hazards under Debian's HAProxy (mode http): re-framing (it
# re-chunks chunked bodies from its own buffers), close-delimited bodies,
# bodiless responses, an upstream that closes early, clients that go away
# mid-body. Every body is checked by sha256, Libra off then on; nothing may
# leak.
source "$LIBRA_SRC/tests/guest/lib.sh"

libra_load
libra_attach_parser
start_special_backend 8083
M=1048576

hazards() {
	local port
	port=$(pass_port 8080)
	start_haproxy_proxy "$port" 8083 "haproxy-$MODE"
	opt_in "$PROXY_PID" haproxy

	check_reframing "$port"
	fetch_special "/slow/$M" "$port" $M
	check_head_then_get "$port"

	check_early_close "$port"

	abort_clients "$port"
	# HAProxy notices a vanished client at the latest when its client timeout
	# (10 s here) fires; the rest of that body is let go with the connection.
	wait_anchors_released 25
	[[ $MODE == off ]] || "$DEVCTL" disable "$PROXY_PID"
}

run_off_then_on hazards
libra_unload
