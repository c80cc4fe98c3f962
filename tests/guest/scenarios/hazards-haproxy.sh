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
for _ in 1 2; do
	curl -sf -I "http://127.0.0.1:8080/cl/$M" | grep -qi "content-length: $M" || fail "HEAD"
	fetch_special "/cl/$M" 8080 $M
done
say "HEAD then GET: ok"

got=$( (curl -s "http://127.0.0.1:8080/early-close/$M" || true) | sha256sum | cut -d" " -f1)
[[ $got == "$(special_sha $M $((M / 2)))" ]] || fail "early close: the bytes that came differ"
say "upstream closed early: the first half arrived exactly"

for _ in 1 2 3; do
	curl -s --max-time 1 --limit-rate 200K "http://127.0.0.1:8080/cl/$((4 * M))" > /dev/null || true
done
say "clients aborted mid-body"
fetch_special "/cl/$M" 8080 $M
"$DEVCTL" stats
(($(stat_of bytes_anchored) > 0)) || fail "nothing was anchored"
(($(stat_of tokens_rejected) == 0)) || fail "a token was rejected"
# HAProxy notices a vanished client at the latest when its client timeout
# (10 s here) fires; the rest of that body is let go with the connection.
wait_anchors_released 25
"$DEVCTL" disable "$PROXY_PID"
libra_unload
