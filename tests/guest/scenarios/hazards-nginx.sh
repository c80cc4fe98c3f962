# Brief §4's hazards under Debian's nginx (its default settings, sendfile on):
# re-framing both ways, bodiless responses, a client
# slower than the proxy's buffers (the body spills to a temp file and goes
# out with sendfile), an upstream that closes early, a client that goes
# away mid-body. Every body is checked by sha256, Libra off then on; nothing
# may leak.
source "$LIBRA_SRC/tests/guest/lib.sh"

libra_load
libra_attach_parser
[[ $(cat /sys/module/libra/parameters/anchor_request_bodies) == Y ]] \
	|| fail "anchor_request_bodies is not on by default"
M=1048576
make_bodies $M 600001 $((4 * M))
start_special_backend 8083
start_backend 8081

hazards() {
	local port
	port=$(pass_port 8080)
	start_nginx_proxy "$port" 8083 "nginx-proxy-$MODE"
	opt_in "$PROXY_PID" nginx

	# Re-framing: upstream chunked (nginx de-chunks and re-chunks), and an
	# HTTP/1.0 body delimited by close (nginx sends it chunked).
	check_reframing "$port"
	fetch_special "/close/$((2 * M + 3))" "$port" $((2 * M + 3))

	check_head_then_get "$port"

	# A client that reads nothing for a while: the body outgrows nginx's
	# buffers and spills to a temp file, and goes out later with sendfile.
	start_nginx_proxy "$(pass_port 8084)" 8081 "nginx-spill-$MODE"
	opt_in "$PROXY_PID" "the second nginx"
	python3 - "$WORK/spilled" "$(pass_port 8084)" <<'PY' || fail "the stalling client failed"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.sendall(b"GET /4194304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
time.sleep(3)
data = b""
while chunk := s.recv(1 << 20):
    data += chunk
open(sys.argv[1], "wb").write(data.split(b"\r\n\r\n", 1)[1])
PY
	cmp -s "$WORK/spilled" "$WORK/www/$((4 * M))" || fail "the spilled body differs"
	grep -q "buffered to a temporary file" "$WORK/nginx-spill-$MODE/logs/error.log" \
		|| fail "nginx never spilled to a temp file: the test did not test that"
	record_result "spilled $(sha_len "$WORK/spilled")"
	say "stalled client: body went through a temp file and sendfile, byte-exact"

	check_early_close "$port"

	# Request bodies are anchored on the way in (anchor_request_bodies, on by
	# default): Content-Length and chunked. nginx writes a body past its
	# client_body_buffer_size to a temp file, where the egress guard writes
	# the regions out (the file holds the real bytes), and sends the file.
	local a0 z0 m0 up size te got anchored zc mat first_upstream code
	a0=$(stat_of bytes_anchored) z0=$(stat_of bytes_zero_copy_sent) m0=$(stat_of bytes_materialized) up=0
	for size in $M 600001; do
		for te in "" "Transfer-Encoding: chunked"; do
			got=$(curl -sSf --max-time 120 -X POST ${te:+-H "$te"} --data-binary "@$WORK/www/$size" \
				"http://127.0.0.1:$port/upload/u") || fail "upload of $size ($te) failed"
			[[ $got == "$(sha_len "$WORK/www/$size")" ]] || fail "upload of $size ($te): backend got $got"
			record_result "upload $size ${te:-cl} $got"
			up=$((up + size))
		done
	done
	anchored=$(($(stat_of bytes_anchored) - a0)) zc=$(($(stat_of bytes_zero_copy_sent) - z0))
	mat=$(($(stat_of bytes_materialized) - m0))
	say "uploads byte-exact: $up bytes, $anchored anchored, $zc sent from anchors, $mat written out"
	[[ $MODE == off ]] || ((anchored * 10 >= up * 9 && (zc + mat) * 10 >= up * 9)) \
		|| fail "request bodies did not go through anchors"

	# Retries: the first upstream reads the whole PUT and closes without an
	# answer; nginx resends the same body, from the same anchors, to the backup.
	python3 - "$WORK/first-upstream" "$(pass_port 8085)" <<'PY' &
import hashlib, socket, sys
srv = socket.create_server(("127.0.0.1", int(sys.argv[2])))
while True:  # the first connections may be probes that send nothing
    conn, _ = srv.accept()
    data = b""
    while b"\r\n\r\n" not in data and (piece := conn.recv(65536)):
        data += piece
    if b"\r\n\r\n" in data:
        break
head, body = data.split(b"\r\n\r\n", 1)
length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
while len(body) < length and (piece := conn.recv(1 << 20)):
    body += piece
open(sys.argv[1], "w").write("%s %d" % (hashlib.sha256(body).hexdigest(), len(body)))
conn.close()
PY
	first_upstream=$!
	wait_port "$(pass_port 8085)"
	start_nginx_proxy "$(pass_port 8086)" "$(pass_port 8085),8083:backup" "nginx-retry-$MODE" "client_max_body_size 2m;"
	opt_in "$PROXY_PID" "the retrying nginx"
	got=$(curl -sSf --max-time 120 -X PUT --data-binary "@$WORK/www/$M" "http://127.0.0.1:$(pass_port 8086)/upload/r") \
		|| fail "the retried PUT failed"
	wait "$first_upstream" || fail "the first upstream did not get the whole body"
	[[ $(cat "$WORK/first-upstream") == "$(sha_len "$WORK/www/$M")" ]] || fail "the first upstream got $(cat "$WORK/first-upstream")"
	[[ $got == "$(sha_len "$WORK/www/$M")" ]] || fail "the retried body differs: $got"
	record_result "retried PUT $got"
	say "retried PUT: both upstreams got the body byte-exactly"
	wait_anchors_released

	# A body never forwarded (413): its anchors go with the response or the
	# connection (for a chunked one, when nginx's lingering close ends it).
	for te in "" "Transfer-Encoding: chunked"; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X POST ${te:+-H "$te"} \
			--data-binary "@$WORK/www/$((4 * M))" "http://127.0.0.1:$(pass_port 8086)/upload/big")
		[[ $code == 413 ]] || fail "an oversized upload got $code, not 413"
		record_result "oversized upload ${te:-cl} $code"
	done
	say "oversized uploads refused with 413"

	abort_clients "$port"

	# Anything still anchored goes, at the latest, when its worker exits.
	nginx -p "$WORK/nginx-proxy-$MODE" -c "$WORK/nginx-proxy-$MODE/nginx.conf" -s reload
	sleep 2
	fetch_special "/cl/$M" "$port" $M
	wait_anchors_released
}

run_off_then_on hazards
libra_unload
