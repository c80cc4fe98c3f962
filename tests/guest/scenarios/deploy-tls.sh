# Issue 13: TLS deployments, Libra off then on (tests/guest/deploy.inc.sh),
# every body compared by sha256 at the far end:
#  - nginx-tls: nginx terminating TLS in user space (listen ... ssl, a
#    self-signed certificate made here) with proxy_pass to the plain backend;
#  - haproxy-tls: HAProxy bind ... ssl crt ... to the plain backend;
#  - nginx-ktls: nginx with kernel TLS (ssl_conf_command Options KTLS; the
#    kernel's tls module encrypts); /proc/net/tls_stat's TlsTxSw must grow, or
#    the test did not test kTLS and fails;
#  - nginx-https-upstream: a plain nginx with proxy_pass https:// to HAProxy
#    terminating TLS in front of the backend (not opted in), so request
#    bodies go upstream encrypted by nginx.
# Sizes are matrix.inc.sh's (0, 1, 16 KiB - 1, 16 KiB, 16 KiB + 1, random
# below 64 KiB, 64 KiB, 1 MiB, random to 3 MiB, random 4 to 8 MiB for GETs)
# but its 16 MiB. Where the bodies that matter go one way, that way gets
# every size and the other a few (to keep a run near 4 minutes under
# emulation): the three TLS terminators get GETs of every size (Content-
# Length and chunked from the backend) and uploads of four (POST, Content-
# Length and chunked); nginx-https-upstream gets uploads of every size and
# three GETs. nginx-ktls also meets a client that reads nothing for 3 s, so
# the response spills to nginx's temp file and goes out from it by
# SSL_sendfile (the kernel's sendfile on a kTLS socket). Libra on must give
# the same bytes as Libra off, leave no anchor behind while the proxy runs,
# and leave the kernel log clean.
source "$LIBRA_SRC/tests/guest/lib.sh"
source "$LIBRA_SRC/tests/guest/deploy.inc.sh"

M=1048576
rnd_small=$((RANDOM % 65534 + 2))                 # 2 .. 65535
rnd_big=$((65537 + RANDOM * 97 + RANDOM % 97))    # 64 KiB + 1 .. about 3 MiB
rnd_huge=$((4 * M + RANDOM * 128 + RANDOM % 128)) # 4 .. 8 MiB: GETs only
# matrix.inc.sh's sizes but its 16 MiB (a minute per pass under emulation)
SIZES=(0 1 16383 16384 16385 $rnd_small 65536 $M $rnd_big)
GET_SIZES=("${SIZES[@]}" $rnd_huge)
say "sizes: ${GET_SIZES[*]} (random: $rnd_small, $rnd_big, $rnd_huge; uploads up to $rnd_big)"
deploy_files "${GET_SIZES[@]}" $((4 * M))

libra_load
libra_attach_parser
load_ktls
tls_cert
BACKEND=8083
start_special_backend $BACKEND "$WORK/www"
# the TLS upstream of nginx-https-upstream: HAProxy, never opted in
HAPROXY_BIND="ssl crt $TLS_DIR/combined.pem" run_haproxy tls-upstream 8444 127.0.0.1:$BACKEND
TLS_UPSTREAM_PID=$PROXY_PID
DEPLOY_HTTP_VERSION=1.1

# gets_all URL, uploads_few URL: GETs of every size, uploads of four.
gets_all() {
	local s gets=()
	for s in "${GET_SIZES[@]}"; do gets+=("get.cl.$s=$s" "get.chunked.$s=$s"); done
	deploy_get "$1" --http1.1 -- "${gets[@]}"
}
uploads_few() {
	deploy_upload "$1" --http1.1 -- post.cl.16385=cl:16385 post.chunked.16384=chunked:16384 \
		"post.chunked.$M=chunked:$M" "post.cl.$rnd_big=cl:$rnd_big"
}
# uploads_all URL, gets_few URL: uploads of every size, three GETs.
uploads_all() {
	local s ups=()
	for s in "${SIZES[@]}"; do ups+=("post.cl.$s=cl:$s" "post.chunked.$s=chunked:$s"); done
	deploy_upload "$1" --http1.1 -- "${ups[@]}"
}
gets_few() {
	deploy_get "$1" --http1.1 -- get.cl.16385=16385 "get.chunked.$M=$M" "get.cl.$rnd_huge=$rnd_huge"
}

# stalled_client PORT: GET /file/4194304 over TLS through nginx on PORT by a
# client that reads nothing for 3 s with a small receive buffer: the body
# outgrows nginx's proxy buffers and spills to its temp file, and goes out
# from the file later. Recorded like a GET; the spill itself is checked.
stalled_client() {
	local name=$((4 * M)) got
	deploy_expect spilled.$name "ok ${SUM[$name]}"
	python3 - "$WORK/out/spilled" "$1" "$TLS_DIR/cert.pem" <<'PY' > "$WORK/stalled.out" 2>&1 || true
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[3])
raw = socket.socket()
raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
raw.settimeout(60)
raw.connect(("127.0.0.1", int(sys.argv[2])))
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
s.sendall(b"GET /file/4194304 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
time.sleep(3)
data = b""
while chunk := s.recv(1 << 20):
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
print(head.split(b"\r\n")[0].decode())
open(sys.argv[1], "wb").write(body)
PY
	if [[ -f $WORK/out/spilled ]] && grep -q '^HTTP/1.1 200' "$WORK/stalled.out"; then
		got=$(sha_len "$WORK/out/spilled")
		deploy_record spilled.$name "ok $got"
		[[ $got == "${SUM[$name]}" ]] || deploy_describe "the spilled GET" "$WORK/out/spilled" "$name" ""
	else
		deploy_record spilled.$name "FAILED $(head -c 300 "$WORK/stalled.out" | tr '\n' ' ')"
	fi
	rm -f "$WORK/out/spilled"
	grep -q "buffered to a temporary file" "$PROXY_DIR/logs/error.log" \
		|| deploy_problem "nginx never spilled to its temp file: the stalled client did not test that"
}

traffic() {
	local port

	deploy_begin nginx-tls
	port=$(pass_port 8443)
	deploy_nginx "nginx-tls-$MODE" "$port" ssl http $BACKEND
	deploy_opt_in nginx
	gets_all "https://127.0.0.1:$port"
	uploads_few "https://127.0.0.1:$port"
	deploy_end "$PROXY_PID"

	deploy_begin haproxy-tls
	port=$(pass_port 8543)
	HAPROXY_BIND="ssl crt $TLS_DIR/combined.pem" run_haproxy "haproxy-tls-$MODE" "$port" 127.0.0.1:$BACKEND
	deploy_opt_in haproxy
	gets_all "https://127.0.0.1:$port"
	uploads_few "https://127.0.0.1:$port"
	deploy_end "$PROXY_PID"

	local tx0 tx1
	deploy_begin nginx-ktls
	port=$(pass_port 8643)
	deploy_nginx "nginx-ktls-$MODE" "$port" ssl http $BACKEND "ssl_conf_command Options KTLS;"
	deploy_opt_in "nginx (kTLS)"
	tx0=$(tls_stat TlsTxSw)
	gets_all "https://127.0.0.1:$port"
	uploads_few "https://127.0.0.1:$port"
	stalled_client "$port"
	tx1=$(tls_stat TlsTxSw)
	say "[$MODE] nginx-ktls: TlsTxSw $tx0 -> $tx1; $(tr -s ' \n' ' ' < /proc/net/tls_stat)"
	((tx1 > tx0)) || deploy_problem "kernel TLS was not used (TlsTxSw did not grow): the test did not test kTLS"
	deploy_end "$PROXY_PID"

	deploy_begin nginx-https-upstream
	port=$(pass_port 8080)
	deploy_nginx "nginx-https-upstream-$MODE" "$port" "" https 8444
	deploy_opt_in "nginx (TLS upstream)"
	uploads_all "http://127.0.0.1:$port"
	gets_few "http://127.0.0.1:$port"
	deploy_end "$PROXY_PID"
}

deploy_run_off_then_on traffic
deploy_stop "$TLS_UPSTREAM_PID"
libra_unload
deploy_finish "TLS deployments: Libra off and on byte-identical, nothing left anchored"
