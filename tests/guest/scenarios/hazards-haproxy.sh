# Brief §4's hazards under Debian's HAProxy (mode http): re-framing (it
# re-chunks chunked bodies from its own buffers), close-delimited bodies,
# bodiless responses, an upstream that closes early, clients that go away
# mid-body. Every body is checked by sha256; nothing may leak.
source "$LIBRA_SRC/tests/guest/lib.sh"

libra_load
libra_attach_parser
start_special_backend 8083
start_haproxy_proxy 8080 8083
"$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of haproxy"
M=1048576

fetch_special "/chunked/$M?chunk=40000" 8080 $M
fetch_special "/chunked/$((3 * M + 17))?chunk=300000" 8080 $((3 * M + 17))
fetch_special "/chunked/200000?chunk=5000" 8080 200000
fetch_special "/close/$M" 8080 $M
fetch_special "/slow/$M" 8080 $M
check_head_then_get 8080

check_early_close 8080

abort_clients 8080
"$DEVCTL" stats
(($(stat_of bytes_anchored) > 0)) || fail "nothing was anchored"
(($(stat_of tokens_rejected) == 0)) || fail "a token was rejected"
# HAProxy notices a vanished client at the latest when its client timeout
# (10 s here) fires; the rest of that body is let go with the connection.
wait_anchors_released 25
"$DEVCTL" disable "$PROXY_PID"
libra_unload
