# Issue 13: HTTP/2 clients through nginx to an HTTP/1.1 upstream, Libra off
# then on (tests/guest/deploy.inc.sh), every body compared by sha256 at the
# far end:
#  - h2-tls: listen ... ssl http2, curl --http2 (ALPN h2);
#  - h2c: listen ... http2 in clear text, curl --http2-prior-knowledge;
#  - h2-ktls: listen ... ssl http2 with kernel TLS (ssl_conf_command Options
#    KTLS;): the HTTP/2 frames go through libra's kernel-TLS path, which must
#    see the server's preface there (TlsTxSw must grow);
# each with nginx's default proxy buffers (8 4k) and with
# "proxy_buffer_size 64k; proxy_buffers 8 64k;" (the README's advice).
# Bodies of 20 KB to 4 MiB (20,000 B: the h2c GET that stopped at
# 8,192; 64 KiB + 1: past the initial window; random; 1 MiB: the h2c GET
# that stopped at 65,535; 4 MiB) both ways: GETs of every size with
# Content-Length and chunked from the backend; uploads (POST) of every
# size, with a content-length or streamed without one (DATA frames until
# END_STREAM), with the default buffers only (proxy buffers hold
# responses, not request bodies).
# Over TLS every transfer is curl's (--http2), one after the other on one
# connection, then four GETs at once multiplexed on one connection (curl
# --parallel). Over h2c Debian 12's curl 7.88.1 cannot reuse a
# prior-knowledge connection (every transfer after the first fails with
# "Error in the HTTP2 framing layer", Libra loaded or not) and each curl
# costs seconds here, so curl (--http2-prior-knowledge, one per transfer)
# does the two GETs and one upload, tools/h2client.py the rest: one
# after the other on one connection (a new one after a failure; uploads
# first), then four GETs and two uploads at once
# on one connection, so that nginx interleaves their DATA frames (its
# receive window the protocol's default 65,535 bytes, replenished as data
# arrives).
# Every transfer must be HTTP/2, complete (exit 0, status 200) and
# byte-exact; a stall ends it after DEPLOY_STALL_S seconds without a byte
# (curl exit 28, h2client "stall") and fails the test. Libra on must leave
# no anchor behind while nginx runs, and the kernel log clean.
source "$LIBRA_SRC/tests/guest/lib.sh"
source "$LIBRA_SRC/tests/guest/deploy.inc.sh"

M=1048576
rnd=$((20001 + RANDOM * 64 + RANDOM % 64)) # 20 KB .. about 2 MiB
SIZES=(20000 65537 $rnd $M $((4 * M)))
say "sizes: ${SIZES[*]} (random: $rnd)"
deploy_files "${SIZES[@]}"

libra_load
libra_attach_parser
load_ktls
tls_cert
BACKEND=8083
start_special_backend $BACKEND "$WORK/www"
DEPLOY_HTTP_VERSION=2

# h2_deployment NAME PORT LISTEN_PARAMS SCHEME [LOCATION_EXTRA [SERVER_EXTRA]]
h2_deployment() {
	local name=$1 port=$2 listen=$3 scheme=$4 extra=${5:-} server=${6:-} url s gets=() ups=() multi
	deploy_begin "$name"
	deploy_nginx "$name-$MODE" "$port" "$listen" http $BACKEND "$server" "$extra"
	deploy_opt_in "nginx ($name)"
	url=$scheme://127.0.0.1:$port
	multi=("multi.cl.20000=20000" "multi.chunked.$rnd=$rnd" "multi.cl.$M=$M" "multi.chunked.65537=65537")
	if [[ $scheme == https ]]; then
		for s in "${SIZES[@]}"; do gets+=("get.cl.$s=$s" "get.chunked.$s=$s"); done
		ups=(post.cl.20000=cl:20000 post.stream.20000=stream:20000 post.cl.65537=cl:65537
			"post.stream.$rnd=stream:$rnd" "post.stream.$M=stream:$M" "post.cl.$((4 * M))=cl:$((4 * M))")
		deploy_get "$url" --http2 -- "${gets[@]}"
		[[ -n $extra ]] || deploy_upload "$url" --http2 -- "${ups[@]}"
		deploy_get "$url" --http2 --parallel --parallel-max 4 -- "${multi[@]}"
	else
		DEPLOY_ONE_CURL=1 deploy_get "$url" --http2-prior-knowledge -- get.cl.20000=20000 "get.cl.$M=$M"
		[[ -n $extra ]] || DEPLOY_ONE_CURL=1 deploy_upload "$url" --http2-prior-knowledge -- "post.stream.$M=stream:$M"
		gets=(get.chunked.20000=20000)
		for s in 65537 $rnd $((4 * M)); do gets+=("get.cl.$s=$s" "get.chunked.$s=$s"); done
		gets+=("get.chunked.$M=$M")
		ups=(post.cl.20000=cl:20000 post.stream.20000=stream:20000 post.cl.65537=cl:65537
			"post.stream.$rnd=stream:$rnd" "post.cl.$((4 * M))=cl:$((4 * M))")
		[[ -z $extra ]] || ups=()
		deploy_h2c --sequential "$port" "${ups[@]}" "${gets[@]}"
		deploy_h2c "$port" "${multi[@]}" "multi.post.$rnd=cl:$rnd" "multi.stream.65537=stream:65537"
	fi
	deploy_end "$PROXY_PID"
}

traffic() {
	local big="proxy_buffer_size 64k; proxy_buffers 8 64k;"
	h2_deployment h2-tls "$(pass_port 8443)" "ssl http2" https
	h2_deployment h2-tls-64k "$(pass_port 8444)" "ssl http2" https "$big"
	local tx0
	tx0=$(tls_stat TlsTxSw)
	h2_deployment h2-ktls "$(pass_port 8445)" "ssl http2" https "" "ssl_conf_command Options KTLS;"
	(($(tls_stat TlsTxSw) > tx0)) || deploy_problem "h2-ktls: kernel TLS was not used (TlsTxSw did not grow)"
	h2_deployment h2c "$(pass_port 8080)" http2 http
	h2_deployment h2c-64k "$(pass_port 8081)" http2 http "$big"
}

deploy_run_off_then_on traffic
libra_unload
deploy_finish "HTTP/2 deployments: Libra off and on byte-identical, nothing stalled, nothing left anchored"
