# Issue 13, deployments: an HTTP application on a unix socket behind an
# opted-in proxy (tools/abuse_backend.py --unix: backend.py's endpoints on an
# AF_UNIX socket):
#   nginx    proxy_pass http://unix:/path.sock (Debian's settings)
#   HAProxy  server s1 unix@/path.sock
# Through each, every size of the matrix (0, 1, min-body-1, min-body,
# min-body+1, a random size below 64 KiB, 64 KiB, 1 MiB, 16 MiB, a random size
# to 3 MiB): GETs with a Content-Length and chunked (one keep-alive
# connection), uploads POST with a Content-Length and PUT chunked (one
# connection; the backend answers the sha256 and length it received); 16 MiB
# only with a Content-Length, to keep the scenario's time.
# Libra off, then on; every body compared by sha256 where it arrives and off
# against on; anchored memory back to 0 with the proxy running; kernel log
# clean. An upload that reaches the backend holding a Libra token is kept and
# shown (where it differs from the original).
source "$LIBRA_SRC/tests/guest/lib.sh"
source "$LIBRA_SRC/tests/guest/abuse.inc.sh"

libra_load
libra_attach_parser

M=1048576 min_body=16384
small=(0 1 $((min_body - 1)) $min_body $((min_body + 1)) $((RANDOM % 65534 + 2)))
big=(65536 $M $((16 * M)) $((65537 + RANDOM * 97 + RANDOM % 97)))
say "sizes: ${small[*]} ${big[*]}"
mkdir -p "$WORK/out"
make_originals "${small[@]}" "${big[@]}"

SOCK=$WORK/http.sock
python3 "$LIBRA_SRC/tests/guest/tools/abuse_backend.py" --unix "$SOCK" "$WORK/www" --keep "$WORK/kept" &
wait_unix_socket "$SOCK"

# get_batch: one curl, one connection, GET /file/NAME of every size, with a
# Content-Length, then chunked; bodies recorded at the client.
get_batch() {
	local s label args=() labels=()
	for s in "${small[@]}" "${big[@]}"; do
		for framing in cl chunked; do
			((s == 16 * M)) && [[ $framing == chunked ]] && continue	# (time: 16 MiB once)
			label=get.$framing.$s
			args+=(-o "$WORK/out/$label" "http://127.0.0.1:$PORT/file/$s$([[ $framing == cl ]] || echo "?chunk=$((s < 65536 ? 5000 : 40000))")")
			labels+=("$label")
			expect "$label ${SUM[$s]}"
		done
	done
	stall_watch 90 curl -sS --max-time 300 "${args[@]}" || say "[$MODE] curl exited $? (see the records)"
	for label in "${labels[@]}"; do
		if [[ -f $WORK/out/$label ]]; then record "$label $(sha_len "$WORK/out/$label")"; else record "$label MISSING"; fi
		rm -f "$WORK/out/$label"
	done
}

# upload_batch: one curl, one connection, POST (Content-Length) and PUT
# (chunked) of every size to /upload; the backend's answers recorded.
upload_batch() {
	local s label args=() labels=() method framing
	for s in "${small[@]}" "${big[@]}"; do
		for method in POST PUT; do
			((s == 16 * M)) && [[ $method == PUT ]] && continue	# (time: 16 MiB once)
			framing=cl
			[[ $method == PUT ]] && framing=chunked
			label=${method,,}.$framing.$s
			((${#args[@]} == 0)) || args+=(--next)
			args+=(-sS --max-time 300 -o "$WORK/out/$label" -X "$method" --data-binary "@$WORK/www/$s"
				-H 'Content-Type: application/octet-stream')
			[[ $framing == cl ]] || args+=(-H 'Transfer-Encoding: chunked')
			args+=("http://127.0.0.1:$PORT/upload/$s")
			labels+=("$label")
			expect "$label ${SUM[$s]}"
		done
	done
	stall_watch 120 curl "${args[@]}" || say "[$MODE] curl exited $? (see the records)"
	for label in "${labels[@]}"; do
		if [[ -s $WORK/out/$label ]]; then record "$label $(head -c 200 "$WORK/out/$label" | tr -s '\n\r' '  ' | sed 's/ *$//')"
		else record "$label MISSING"; fi
		rm -f "$WORK/out/$label"
	done
}

through() { # through PROXY
	phase_begin "$1 GETs"
	get_batch
	anchors_back_to_zero "$1's GETs"
	phase_end
	phase_begin "$1 uploads"
	upload_batch
	show_kept "$WORK/kept"
	anchors_back_to_zero "$1's uploads"
	phase_end
}

unix_upstreams() {
	PORT=$(pass_port 8080)
	abuse_nginx "nginx-unix-$MODE" "$PORT" "
		location / {
			proxy_pass http://unix:$SOCK;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
		}"
	opted_in "$PROXY_PID" nginx
	through nginx
	show_errors "$PROXY_DIR/logs/error.log" nginx
	stop_pid "$PROXY_PID" nginx

	PORT=$(pass_port 8081)
	run_haproxy "haproxy-unix-$MODE" "$PORT" "unix@$SOCK"
	opted_in "$PROXY_PID" haproxy
	through haproxy
	stop_pid "$PROXY_PID" haproxy
}

abuse_passes unix_upstreams
abuse_finish
