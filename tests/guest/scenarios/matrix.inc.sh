# Shared body of the matrix-* scenarios: issue 5's guest matrix. $PROXY is
# nginx or haproxy (Debian's, default settings); $NGINX_EXTRA holds directives
# added to nginx's proxy location (matrix-nginx-unbuffered).
#
# One traffic script runs twice in one guest, each time through a fresh proxy
# in front of tools/backend.py: first with libra.ko loaded and the parser
# attached but the proxy not opted in (Libra off), then with the proxy opted
# in from its start (Libra on). The sha256 and length of every body are
# recorded where it arrives: at the client for responses, at the backend for
# uploads (its /upload answers with what it received). Each run must equal
# the originals, and the two runs each other.
#
# Traffic: GETs of every size (0, 1, min-body-1, min-body, min-body+1, 64 KiB,
# 1 MiB, 16 MiB, two random sizes), each with a Content-Length and a chunked
# response; uploads of the same sizes, POST and PUT, Content-Length and
# chunked; a keep-alive sequence on one connection (GETs and uploads mixed);
# pipelined requests (one write, one connection); 32 concurrent connections.
# Libra on must show it engaged: over a phase that moves only GET bodies of at
# least 64 KiB, bytes_zero_copy_sent >= 90% of the body bytes forwarded and
# bytes_metadata_copied of header size (< 2 KiB per response, plus the
# upstream's chunk-size lines); anchors return to 0 when traffic stops.
source "$LIBRA_SRC/tests/guest/lib.sh"

M=1048576 min_body=16384
BACKEND=8083
CLIENT=(python3 "$LIBRA_SRC/tests/guest/tools/httpclient.py")
rnd_small=$((RANDOM % 65534 + 2))              # 2 .. 65535
rnd_big=$((65537 + RANDOM * 97 + RANDOM % 97)) # 64 KiB + 1 .. about 3 MiB
small=(0 1 $((min_body - 1)) $min_body $((min_body + 1)) $rnd_small)
big=(65536 $M $((16 * M)) $rnd_big)
say "sizes: ${small[*]} ${big[*]} (random: $rnd_small and $rnd_big)"

# Originals: random content, one file per size, and 32 more (c0..c31, 64 to
# 320 KiB) for the concurrent connections; their sha256 and length in sums.
make_bodies "${small[@]}" "${big[@]}"
for i in $(seq 0 31); do
	head -c $((65536 + RANDOM * 8)) /dev/urandom > "$WORK/www/c$i"
done
for f in "$WORK"/www/*; do
	echo "${f##*/} $(sha_len "$f")"
done > "$WORK/sums"
want_of() { awk -v n="$1" '$1 == n { print $2, $3 }' "$WORK/sums"; }

# A chunk size for a body of $1 bytes that leaves no chunk below min-body, so
# that every chunk is anchorable (a smaller chunk is copied by design).
chunk_for() {
	local c=65536
	while (($1 % c && $1 % c < min_body)); do c=$((c - 4096)); done
	((c >= min_body)) || fail "no chunk size for $1"
	echo "$c"
}

# --- recording: "LABEL SHA256 LENGTH" lines, what was expected and what came
expect() { echo "$1 $2" >> "$EXPECT"; }
record() { echo "$1 $2" >> "$RECORD"; }

# get LABEL NAME [QUERY]: GET /file/NAME through the proxy with curl.
get() {
	local r
	expect "$1" "$(want_of "$2")"
	r=$(curl_sha_len "http://127.0.0.1:$PORT/file/$2${3:-}") || true
	record "$1" "$r"
}

# upload LABEL METHOD cl|chunked NAME: curl sends the file NAME; the backend
# answers with the sha256 and length of the body it got.
upload() {
	local r args=(-X "$2" --data-binary "@$WORK/www/$4" -H 'Content-Type: application/octet-stream')
	[[ $3 == chunked ]] && args+=(-H 'Transfer-Encoding: chunked')
	expect "$1" "$(want_of "$4")"
	r=$(curl -sSf --max-time 300 "${args[@]}" "http://127.0.0.1:$PORT/upload/$4" 2>&1) \
		|| r="FAILED curl exit $? $r"
	record "$1" "$r"
}

counters=(recvmsg_calls messages_parsed bytes_metadata_copied bytes_anchored bytes_zero_copy_sent
	bytes_fallback_copied tokens_rejected)
snapshot() { # snapshot NAME: every counter above into NAME_<counter>
	local c
	for c in "${counters[@]}"; do
		printf -v "${1}_$c" '%s' "$(stat_of "$c")"
	done
}
delta() { # delta COUNTER FROM TO
	local from=${2}_$1 to=${3}_$1
	echo $((${!to} - ${!from}))
}

# The traffic script, through the proxy on $PORT; $MODE is off or on.
run_traffic() {
	EXPECT=$WORK/expect.$MODE RECORD=$WORK/record.$MODE
	: > "$EXPECT"; : > "$RECORD"
	local s i

	say "[$MODE] GETs below 64 KiB, Content-Length and chunked (5000-byte chunks)"
	for s in "${small[@]}"; do
		get "get.cl.$s" "$s"
		get "get.chunked.$s" "$s" "?chunk=5000"
	done

	say "[$MODE] GETs of 64 KiB and more, Content-Length and chunked (every chunk >= min-body)"
	local forwarded=0 responses=0 framing=0 c
	snapshot big0
	for s in "${big[@]}"; do
		c=$(chunk_for "$s")
		get "get.cl.$s" "$s"
		get "get.chunked.$s" "$s" "?chunk=$c"
		forwarded=$((forwarded + 2 * s)) responses=$((responses + 2))
		framing=$((framing + ((s + c - 1) / c + 1) * 16))
	done
	snapshot big1
	check_big_phase "$forwarded" "$responses" "$framing"

	say "[$MODE] uploads: POST and PUT, Content-Length and chunked"
	for s in "${small[@]}" "${big[@]}"; do
		upload "post.cl.$s" POST cl "$s"
		upload "put.chunked.$s" PUT chunked "$s"
		((s == 16 * M)) && continue # 16 MiB: two uploads are plenty
		upload "put.cl.$s" PUT cl "$s"
		upload "post.chunked.$s" POST chunked "$s"
	done

	say "[$MODE] keep-alive: GETs and uploads on one connection"
	local url=http://127.0.0.1:$PORT ka=(-sSf --max-time 300 -w '%{num_connects}\n')
	curl "${ka[@]}" -o "$WORK/ka.1" "$url/file/$M" \
		--next "${ka[@]}" -o "$WORK/ka.2" -X POST --data-binary "@$WORK/www/65536" "$url/upload/ka" \
		--next "${ka[@]}" -o "$WORK/ka.3" "$url/file/$((min_body + 1))?chunk=5000" \
		--next "${ka[@]}" -o "$WORK/ka.4" -X PUT -H 'Transfer-Encoding: chunked' \
			--data-binary "@$WORK/www/$M" "$url/upload/ka" \
		--next "${ka[@]}" -o "$WORK/ka.5" "$url/file/0" \
		--next "${ka[@]}" -o "$WORK/ka.6" "$url/file/$rnd_big?chunk=40000" \
		--next "${ka[@]}" -o "$WORK/ka.7" "$url/file/65536" \
		> "$WORK/ka.connects" 2>&1 || true
	expect ka.connects 1
	record ka.connects "$(awk '{ n += $1 } END { print n }' "$WORK/ka.connects")"
	i=0
	for s in $M 65536 $((min_body + 1)) $M 0 "$rnd_big" 65536; do
		i=$((i + 1))
		expect "ka.$i" "$(want_of "$s")"
		if ((i == 2 || i == 4)); then
			record "ka.$i" "$(cat "$WORK/ka.$i" 2>/dev/null)"
		else
			record "ka.$i" "$([[ -f $WORK/ka.$i ]] && sha_len "$WORK/ka.$i")"
		fi
		rm -f "$WORK/ka.$i"
	done

	say "[$MODE] pipelined: eight requests in one write on one connection"
	# (each GET names its original after a last colon, stripped before sending)
	local w=$WORK/www
	local pipe=(
		"p.get.cl.65536=GET:/file/65536:65536"
		"p.get.chunked.$M=GET:/file/$M?chunk=40000:$M"
		"p.post.cl.$((min_body + 1))=POST:/upload/p:$w/$((min_body + 1))"
		"p.get.cl.0=GET:/file/0:0"
		"p.put.chunked.$min_body=PUT+chunked:/upload/p:$w/$min_body"
		"p.get.chunked.$((min_body - 1))=GET:/file/$((min_body - 1))?chunk=5000:$((min_body - 1))"
		"p.post.cl.$M=POST:/upload/p:$w/$M"
		"p.get.cl.$rnd_big=GET:/file/$rnd_big:$rnd_big"
	)
	local spec specs=()
	for spec in "${pipe[@]}"; do
		expect "${spec%%=*}" "$(want_of "${spec##*[:/]}")"
		[[ $spec == *=GET:* ]] && spec=${spec%:*}
		specs+=("$spec")
	done
	"${CLIENT[@]}" --pipeline "$PORT" "$(IFS=,; echo "${specs[*]}")" >> "$RECORD" \
		|| record pipeline "FAILED client exit $?"

	say "[$MODE] 32 concurrent connections, each a GET, a chunked GET and an upload"
	local conns=() up
	for i in $(seq 0 31); do
		up=POST
		((i % 2)) && up=PUT+chunked
		conns+=("k.$i.get=GET:/file/c$i,k.$i.chunked=GET:/file/c$(((i + 1) % 32))?chunk=32768,k.$i.up=$up:/upload/k:$w/c$i")
		expect "k.$i.get" "$(want_of "c$i")"
		expect "k.$i.chunked" "$(want_of "c$(((i + 1) % 32))")"
		expect "k.$i.up" "$(want_of "c$i")"
	done
	"${CLIENT[@]}" "$PORT" "${conns[@]}" >> "$RECORD" || record concurrent "FAILED client exit $?"
	say "[$MODE] traffic done: $(wc -l < "$RECORD") records"
}

# The counters over the phase of >= 64 KiB GET bodies: $1 body bytes
# forwarded in $2 responses whose upstream framing adds at most $3 bytes.
check_big_phase() {
	local zc meta anchored
	zc=$(delta bytes_zero_copy_sent big0 big1)
	meta=$(delta bytes_metadata_copied big0 big1)
	anchored=$(delta bytes_anchored big0 big1)
	say "[$MODE] >= 64 KiB phase: $1 body bytes in $2 responses; anchored $anchored," \
		"sent zero-copy $zc ($((zc * 100 / $1))%), metadata copied $meta ($((meta / $2)) per response)," \
		"fallback copied $(delta bytes_fallback_copied big0 big1)"
	[[ $MODE == on ]] || return 0
	((zc * 10 >= $1 * 9)) || fail "Libra on: bytes_zero_copy_sent $zc is below 90% of the $1 body bytes forwarded"
	((meta <= $2 * 2048 + $3)) || fail "Libra on: bytes_metadata_copied $meta is more than headers" \
		"(2 KiB for each of $2 responses, plus $3 bytes of chunk-size lines)"
}

# Every run must equal the originals.
compare_run() {
	if ! diff -u "$WORK/expect.$1" "$WORK/record.$1" > "$WORK/diff.$1"; then
		cat "$WORK/diff.$1"
		fail "Libra $1: bodies at the far end differ from the originals (lines - expected, + received)"
	fi
	say "Libra $1: all $(wc -l < "$WORK/record.$1") bodies equal the originals"
}

start_proxy() { # start_proxy PORT INSTANCE
	case $PROXY in
	nginx) start_nginx_proxy "$1" "$BACKEND" "$2" "client_max_body_size 64m; ${NGINX_EXTRA:-}" ;;
	haproxy) start_haproxy_proxy "$1" "$BACKEND" "$2" ;;
	*) fail "unknown proxy $PROXY" ;;
	esac
}

stop_proxy() {
	kill -TERM "$PROXY_PID"
	for _ in $(seq 100); do kill -0 "$PROXY_PID" 2>/dev/null || return 0; sleep 0.1; done
	fail "$PROXY (pid $PROXY_PID) did not stop"
}

start_special_backend "$BACKEND" "$WORK/www"
libra_load
libra_attach_parser

# Libra off: the module hooks every call, but the proxy is not opted in.
PORT=8080 MODE=off
start_proxy "$PORT" "$PROXY-off"
snapshot run0
t0=$SECONDS
run_traffic
snapshot run1
say "Libra off: traffic took $((SECONDS - t0)) s"
(($(delta recvmsg_calls run0 run1) > 0)) || fail "Libra off: the hooks saw no traffic"
for c in messages_parsed bytes_anchored bytes_zero_copy_sent; do
	(($(delta $c run0 run1) == 0)) || fail "Libra off: $c moved by $(delta $c run0 run1)"
done
stop_proxy
compare_run off

# Libra on: a fresh proxy, opted in before it has a connection.
PORT=8090 MODE=on
start_proxy "$PORT" "$PROXY-on"
"$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of $PROXY"
snapshot run0
t0=$SECONDS
run_traffic
snapshot run1
say "Libra on: traffic took $((SECONDS - t0)) s"
"$DEVCTL" stats
(($(delta bytes_anchored run0 run1) > 0)) || fail "Libra on: nothing was anchored"
(($(delta tokens_rejected run0 run1) == 0)) || fail "Libra on: tokens were rejected"
wait_anchors_released 25
say "Libra on: anchored memory back to 0"
compare_run on

diff -u "$WORK/record.off" "$WORK/record.on" || fail "Libra off and Libra on differ (lines - off, + on)"
say "Libra off and Libra on: $(wc -l < "$WORK/record.on") identical records"
"$DEVCTL" disable "$PROXY_PID"
stop_proxy
libra_unload
