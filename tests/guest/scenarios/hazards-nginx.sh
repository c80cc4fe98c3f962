# Brief §4's hazards under Debian's nginx (its default settings, sendfile on):
# re-framing both ways, bodiless responses, a client
# slower than the proxy's buffers (the body spills to a temp file and goes
# out with sendfile), an upstream that closes early, a client that goes
# away mid-body. Every body is checked by sha256; nothing may leak.
source "$LIBRA_SRC/tests/guest/lib.sh"

libra_load
libra_attach_parser
start_special_backend 8083
start_nginx_proxy 8080 8083
"$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of nginx"
M=1048576

# Re-framing: upstream chunked (nginx de-chunks and re-chunks), and an
# HTTP/1.0 body delimited by close (nginx sends it chunked).
fetch_special "/chunked/$M?chunk=40000" 8080 $M
fetch_special "/chunked/$((3 * M + 17))?chunk=300000" 8080 $((3 * M + 17))
fetch_special "/chunked/200000?chunk=5000" 8080 200000
fetch_special "/close/$M" 8080 $M
fetch_special "/close/$((2 * M + 3))" 8080 $((2 * M + 3))

check_head_then_get 8080

# A client that reads nothing for a while: the body outgrows nginx's
# buffers and spills to a temp file, and goes out later with sendfile.
make_bodies $((4 * M))
start_backend 8081
start_nginx_proxy 8084 8081 nginx-spill
"$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of the second nginx"
python3 - "$WORK/spilled" <<'PY' || fail "the stalling client failed"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", 8084))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /4194304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
time.sleep(3)
data = b""
while chunk := s.recv(1 << 20):
    data += chunk
open(sys.argv[1], "wb").write(data.split(b"\r\n\r\n", 1)[1])
PY
cmp -s "$WORK/spilled" "$WORK/www/$((4 * M))" || fail "the spilled body differs"
grep -q "buffered to a temporary file" "$WORK/nginx-spill/logs/error.log" \
	|| fail "nginx never spilled to a temp file: the test did not test that"
say "stalled client: body went through a temp file and sendfile, byte-exact"

check_early_close 8080

abort_clients 8080
"$DEVCTL" stats
(($(stat_of bytes_anchored) > 0)) || fail "nothing was anchored"
(($(stat_of tokens_rejected) == 0)) || fail "a token was rejected"

# Anything still anchored goes, at the latest, when its worker exits.
nginx -p "$WORK/nginx-proxy" -c "$WORK/nginx-proxy/nginx.conf" -s reload
sleep 2
fetch_special "/cl/$M" 8080 $M
wait_anchors_released
"$DEVCTL" disable "$PROXY_PID"
libra_unload
