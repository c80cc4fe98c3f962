# Shared body of the matrix-* scenarios: issue 5's guest matrix. $PROXY is
# nginx or haproxy (Debian's, default settings); $NGINX_EXTRA holds directives
# added to nginx's proxy location (matrix-nginx-unbuffered), $HAPROXY_GLOBAL
# lines for HAProxy's global section (matrix-haproxy-large-buffers). With
# $MATRIX_TLS (nginx only) the proxy terminates TLS with those directives in
# its server (matrix-nginx-ktls: kernel TLS) and every client speaks HTTPS;
# a scenario may define matrix_extra, run with Libra's module still loaded
# after the matrix.
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
# 1 MiB, 16 MiB, random sizes below 64 KiB, to 3 MiB and of 4 to 8 MiB), each
# with a Content-Length and a chunked response; uploads of the same sizes
# (but the 4-8 MiB one), POST and PUT, Content-Length and chunked; a
# keep-alive sequence on one connection (GETs and uploads mixed); pipelined
# requests (one write, one connection); 32 concurrent connections.
#
# Libra on must show it engaged: over the GETs of 64 KiB and more (measured
# apart for Content-Length and chunked responses), bytes_zero_copy_sent >= 90%
# of the body bytes forwarded (bytes_ktls_sent, through kernel TLS) and bytes_metadata_copied of header size (2 KiB
# per response, plus 16 bytes per upstream chunk-size line); no token
# rejected; anchors back to 0 when traffic stops. Every failed check is
# collected and reported at the end; a body that differs is described
# (tools/bodydiff.py).
source "$LIBRA_SRC/tests/guest/lib.sh"

M=1048576 min_body=16384
BACKEND=8083
CLIENT=(python3 "$LIBRA_SRC/tests/guest/tools/httpclient.py")
SCHEME=http CURL_TLS=()
if [[ -n ${MATRIX_TLS:-} ]]; then
	[[ $PROXY == nginx ]] || fail "MATRIX_TLS is for nginx"
	load_ktls
	tls_cert
	SCHEME=https CURL_TLS=(--cacert "$TLS_DIR/cert.pem")
	CLIENT+=(--tls "$TLS_DIR/cert.pem")
fi
rnd_small=$((RANDOM % 65534 + 2))              # 2 .. 65535
rnd_big=$((65537 + RANDOM * 97 + RANDOM % 97)) # 64 KiB + 1 .. about 3 MiB
rnd_huge=$((4 * M + RANDOM * 128 + RANDOM % 128)) # 4 .. 8 MiB: GETs only
small=(0 1 $((min_body - 1)) $min_body $((min_body + 1)) $rnd_small)
big=(65536 $M $((16 * M)) $rnd_big $rnd_huge)
say "sizes: ${small[*]} ${big[*]} (random: $rnd_small, $rnd_big and $rnd_huge)"

# Originals, written and summed by one process (every process start is slow
# under emulation): random content, one file per size, and c0..c31 (16 to
# 144 KiB) for the concurrent connections. SUM[name] is "SHA256 LENGTH".
mkdir -p "$WORK/www" "$WORK/out"
python3 - "$WORK/www" "${small[@]}" "${big[@]}" $((4 * M)) > "$WORK/sums" <<'PY'
import hashlib, os, random, sys
root, rng = sys.argv[1], random.Random(os.urandom(16))
files = [(s, int(s)) for s in sys.argv[2:]] + [(f"c{i}", rng.randrange(16384, 147456)) for i in range(32)]
for name, size in dict(files).items():
    data = rng.randbytes(size)
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)
    print(name, hashlib.sha256(data).hexdigest(), size)
PY
declare -A SUM
while read -r name sha len; do SUM[$name]="$sha $len"; done < "$WORK/sums"

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

# record_bodies LABEL=NAME[?chunk=N]...: records the sha256 and length of
# $WORK/out/LABEL for each label (MISSING where curl wrote nothing), then
# removes the files. A body that differs from the original NAME is described
# first (tools/bodydiff.py: where, and whether a Libra token stands there).
record_bodies() {
	local -A sha=() len=()
	local s f l item labels=()
	for item in "$@"; do labels+=("${item%%=*}"); done
	while read -r s f; do [[ -n $f ]] && sha[$f]=$s; done <<< "$(cd "$WORK/out" && sha256sum -- "${labels[@]}" 2>/dev/null)"
	while read -r f l; do [[ -n $f ]] && len[$f]=$l; done <<< "$(cd "$WORK/out" && stat -c "%n %s" -- "${labels[@]}" 2>/dev/null)"
	for item in "$@"; do
		l=${item%%=*} f=${item#*=}
		record "$l" "${sha[$l]:-MISSING} ${len[$l]:-}"
		if [[ -n ${sha[$l]:-} && "${sha[$l]} ${len[$l]}" != "${SUM[${f%%\?*}]}" ]]; then
			say "[$MODE] $l: GET /file/$f through $PROXY differs from the original:"
			python3 "$LIBRA_SRC/tests/guest/tools/bodydiff.py" "$WORK/out/$l" "$WORK/www/${f%%\?*}" \
				"$([[ $f == *chunk=* ]] && echo "${f##*chunk=}")" || true
		fi
		rm -f "$WORK/out/$l"
	done
}

# record_answers LABEL...: records the backend's answer ("SHA256 LENGTH" of
# the upload it received) in $WORK/out/LABEL for each label.
record_answers() {
	local l answer
	for l in "$@"; do
		answer=MISSING
		if [[ -s $WORK/out/$l ]]; then read -r answer < "$WORK/out/$l" || true; fi
		record "$l" "$answer"
		rm -f "$WORK/out/$l"
	done
}

# get_batch LABEL=NAME[?QUERY]...: one curl, its connection kept alive across
# the transfers, GET /file/NAME[?QUERY] for each; bodies recorded.
get_batch() {
	local item label target args=() labels=()
	for item in "$@"; do
		label=${item%%=*} target=${item#*=}
		expect "$label" "${SUM[${target%%\?*}]}"
		args+=(-o "$WORK/out/$label" "$SCHEME://127.0.0.1:$PORT/file/$target")
		labels+=("$label")
	done
	stall_watch 60 curl -sSf --max-time 300 "${CURL_TLS[@]}" "${args[@]}" || say "[$MODE] curl exited $? (see the records)"
	record_bodies "$@"
}

# upload_batch LABEL=METHOD:cl|chunked:NAME...: one curl, one connection, the
# file NAME sent with METHOD to /upload, with a Content-Length or chunked.
upload_batch() {
	local item label method framing name args=() labels=()
	for item in "$@"; do
		label=${item%%=*}
		IFS=: read -r method framing name <<< "${item#*=}"
		expect "$label" "${SUM[$name]}"
		((${#args[@]} == 0)) || args+=(--next)
		args+=(-sSf --max-time 300 "${CURL_TLS[@]}" -o "$WORK/out/$label" -X "$method" --data-binary "@$WORK/www/$name"
			-H 'Content-Type: application/octet-stream')
		[[ $framing == cl ]] || args+=(-H 'Transfer-Encoding: chunked')
		args+=("$SCHEME://127.0.0.1:$PORT/upload/$name")
		labels+=("$label")
	done
	stall_watch 90 curl "${args[@]}" || say "[$MODE] curl exited $? (see the records)"
	record_answers "${labels[@]}"
}

counters=(recvmsg_calls messages_parsed bytes_metadata_copied bytes_anchored bytes_zero_copy_sent
	bytes_fallback_copied fallback_small_body tokens_rejected bytes_materialized tokens_refused
	bytes_ktls_sent)
snapshot() { # snapshot NAME: every counter above into NAME_<counter>
	local c v var
	while read -r c v; do
		[[ " ${counters[*]} " == *" $c "* ]] && printf -v "${1}_$c" '%s' "$v"
	done <<< "$("$DEVCTL" stats)"
	for c in "${counters[@]}"; do
		var=${1}_$c
		[[ -n ${!var:-} ]] || fail "no counter $c"
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
	local s i c items=() chunks=0 forwarded=0 url=$SCHEME://127.0.0.1:$PORT w=$WORK/www

	say "[$MODE] GETs below 64 KiB, Content-Length and chunked (5000-byte chunks)"
	for s in "${small[@]}"; do
		items+=("get.cl.$s=$s" "get.chunked.$s=$s?chunk=5000")
	done
	get_batch "${items[@]}"

	# >= 64 KiB: the counters are measured around each batch
	say "[$MODE] GETs of 64 KiB and more with Content-Length"
	items=()
	for s in "${big[@]}"; do
		items+=("get.cl.$s=$s")
		forwarded=$((forwarded + s))
	done
	snapshot cl0
	get_batch "${items[@]}"
	snapshot cl1
	check_big_phase Content-Length cl0 cl1 "$forwarded" "${#big[@]}" 0
	say "[$MODE] GETs of 64 KiB and more, chunked (no chunk below min-body)"
	items=()
	for s in "${big[@]}"; do
		c=$(chunk_for "$s")
		items+=("get.chunked.$s=$s?chunk=$c")
		chunks=$((chunks + (s + c - 1) / c + 1))
	done
	snapshot ch0
	get_batch "${items[@]}"
	snapshot ch1
	check_big_phase chunked ch0 ch1 "$forwarded" "${#big[@]}" "$chunks"

	# A token split across two of the proxy's outgoing chunks and cut off
	# by the end of a send call has been seen under HAProxy in 1 of 3 to 6
	# such transfers, and after it a send of the chunk's CRLF and the next
	# size line alone (a region lost each time: its token and stale bytes
	# went out): more chances to meet them.
	say "[$MODE] six chunked 4 MiB GETs, each from a new curl"
	for i in 1 2 3 4 5 6; do get_batch "soak.$i=$((4 * M))?chunk=65536"; done

	say "[$MODE] uploads: POST and PUT, Content-Length and chunked"
	items=() forwarded=0
	for s in "${small[@]}" "${big[@]}"; do
		((s == rnd_huge)) && continue
		items+=("post.cl.$s=POST:cl:$s" "put.chunked.$s=PUT:chunked:$s")
		((s == 16 * M)) || items+=("put.cl.$s=PUT:cl:$s" "post.chunked.$s=POST:chunked:$s")
		((s < 65536)) || forwarded=$((forwarded + s * (s == 16 * M ? 2 : 4)))
	done
	snapshot up0
	upload_batch "${items[@]}"
	snapshot up1
	check_upload_phase up0 up1 "$forwarded"

	say "[$MODE] keep-alive: GETs and uploads on one connection"
	local ka=(-sSf --max-time 300 "${CURL_TLS[@]}" -w '%{num_connects}\n')
	curl "${ka[@]}" -o "$WORK/out/ka.1" "$url/file/$M" \
		--next "${ka[@]}" -o "$WORK/out/ka.2" -X POST --data-binary "@$w/65536" "$url/upload/ka" \
		--next "${ka[@]}" -o "$WORK/out/ka.3" "$url/file/$((min_body + 1))?chunk=5000" \
		--next "${ka[@]}" -o "$WORK/out/ka.4" -X PUT -H 'Transfer-Encoding: chunked' \
			--data-binary "@$w/$M" "$url/upload/ka" \
		--next "${ka[@]}" -o "$WORK/out/ka.5" "$url/file/0" \
		--next "${ka[@]}" -o "$WORK/out/ka.6" "$url/file/$rnd_big?chunk=40000" \
		--next "${ka[@]}" -o "$WORK/out/ka.7" "$url/file/65536" \
		> "$WORK/ka.connects" || say "[$MODE] curl exited $? (see the records)"
	expect ka.connects 1
	record ka.connects "$(awk '{ n += $1 } END { print n }' "$WORK/ka.connects")"
	i=0
	for s in $M 65536 "$((min_body + 1))?chunk=5000" $M 0 "$rnd_big?chunk=40000" 65536; do
		i=$((i + 1))
		expect "ka.$i" "${SUM[${s%%\?*}]}"
		if ((i == 2 || i == 4)); then record_answers "ka.$i"; else record_bodies "ka.$i=$s"; fi
	done

	say "[$MODE] pipelined: eight requests in one write on one connection"
	# (each GET names its original after a last colon, stripped before sending;
	# over TLS the client writes them all before it reads: no 1 MiB upload then)
	local pipe_upload=$M
	[[ $SCHEME == http ]] || pipe_upload=65536
	local pipe=(
		"p.get.cl.65536=GET:/file/65536:65536"
		"p.get.chunked.$M=GET:/file/$M?chunk=40000:$M"
		"p.post.cl.$((min_body + 1))=POST:/upload/p:$w/$((min_body + 1))"
		"p.get.cl.0=GET:/file/0:0"
		"p.put.chunked.$min_body=PUT+chunked:/upload/p:$w/$min_body"
		"p.get.chunked.$((min_body - 1))=GET:/file/$((min_body - 1))?chunk=5000:$((min_body - 1))"
		"p.post.cl.$pipe_upload=POST:/upload/p:$w/$pipe_upload"
		"p.get.cl.$rnd_big=GET:/file/$rnd_big:$rnd_big"
	)
	local spec specs=()
	for spec in "${pipe[@]}"; do
		expect "${spec%%=*}" "${SUM[${spec##*[:/]}]}"
		[[ $spec == *=GET:* ]] && spec=${spec%:*}
		specs+=("$spec")
	done
	stall_watch 60 "${CLIENT[@]}" --pipeline "$PORT" "$(IFS=,; echo "${specs[*]}")" >> "$RECORD" \
		|| record pipeline "FAILED client exit $?"

	say "[$MODE] 32 concurrent connections, each a GET, a chunked GET and an upload"
	local conns=() up
	for i in $(seq 0 31); do
		up=POST
		((i % 2)) && up=PUT+chunked
		conns+=("k.$i.get=GET:/file/c$i,k.$i.chunked=GET:/file/c$(((i + 1) % 32))?chunk=20000,k.$i.up=$up:/upload/k:$w/c$i")
		expect "k.$i.get" "${SUM[c$i]}"
		expect "k.$i.chunked" "${SUM[c$(((i + 1) % 32))]}"
		expect "k.$i.up" "${SUM[c$i]}"
	done
	stall_watch 60 "${CLIENT[@]}" "$PORT" "${conns[@]}" >> "$RECORD" || record concurrent "FAILED client exit $?"
	say "[$MODE] traffic done: $(wc -l < "$RECORD") records"
}

# check_big_phase WHAT FROM TO BYTES RESPONSES CHUNKS: the counters over a
# batch of >= 64 KiB GET bodies, BYTES in RESPONSES responses framed upstream
# in CHUNKS chunks (0: Content-Length). With Libra on, bytes_zero_copy_sent
# must be at least 90% of the body bytes and bytes_metadata_copied (every
# byte an opted-in receive copied) of header size: 2 KiB per response, plus
# 16 bytes per chunk-size line.
#
# An nginx that may buffer a response in a temp file (proxy_max_temp_file_size
# not 0: it does when the client is slower than the upstream and its buffers
# are full) writes the regions out there (the egress guard, bytes_materialized)
# and sends the file: that path counts with the zero-copy one. With the
# README's settings (matrix-nginx-large-buffers) it never does, and only
# bytes_zero_copy_sent counts.
check_big_phase() {
	local zc meta mat allowed=$(($5 * 2048 + $6 * 16)) out what=bytes_zero_copy_sent
	zc=$(delta bytes_zero_copy_sent "$2" "$3")
	mat=$(delta bytes_materialized "$2" "$3")
	meta=$(delta bytes_metadata_copied "$2" "$3")
	out=$zc
	if [[ $SCHEME == https ]]; then
		out=$(delta bytes_ktls_sent "$2" "$3") what=bytes_ktls_sent
	elif [[ $PROXY == nginx && ${NGINX_EXTRA:-} != *"proxy_max_temp_file_size 0"* ]]; then
		out=$((zc + mat)) what="bytes_zero_copy_sent + bytes_materialized (temp files)"
	fi
	say "[$MODE] $1, >= 64 KiB: $4 body bytes in $5 responses; anchored $(delta bytes_anchored "$2" "$3")," \
		"sent zero-copy $zc ($((zc * 100 / $4))%), written out $mat, copied $meta ($((meta / $5)) per response; allowed $allowed)," \
		"of which fallback $(delta bytes_fallback_copied "$2" "$3") (small-body fallbacks $(delta fallback_small_body "$2" "$3"));" \
		"tokens rejected $(delta tokens_rejected "$2" "$3")"
	[[ $MODE == on ]] || return 0
	((out * 10 >= $4 * 9)) || problem "Libra on, $1 >= 64 KiB: $what $out is below 90% of the $4 body bytes forwarded"
	(($(delta tokens_refused "$2" "$3") == 0)) || problem "Libra on, $1: tokens were refused on honest traffic"
	((meta <= allowed)) || problem "Libra on, $1 >= 64 KiB: bytes_metadata_copied $meta is more than headers" \
		"(2 KiB for each of $5 responses plus 16 bytes for each of $6 chunk-size lines: $allowed)"
}

# check_upload_phase FROM TO BYTES: with request bodies anchored (the
# default, anchor_request_bodies=Y), at least 90% of the BYTES of its uploads
# of 64 KiB and more must leave the way Libra's design says: HAProxy sends
# them from the anchors (bytes_zero_copy_sent); nginx writes a body past its
# client_body_buffer_size to a temp file first, where the egress guard
# writes the regions out (bytes_materialized), and sends the file.
check_upload_phase() {
	local zc mat out what
	zc=$(delta bytes_zero_copy_sent "$1" "$2")
	mat=$(delta bytes_materialized "$1" "$2")
	say "[$MODE] uploads: $3 bytes in uploads of 64 KiB and more; anchored $(delta bytes_anchored "$1" "$2")," \
		"sent zero-copy $zc ($((zc * 100 / $3))%), written out $mat; tokens rejected $(delta tokens_rejected "$1" "$2")," \
		"refused $(delta tokens_refused "$1" "$2")"
	# over TLS the uploads arrive encrypted: decrypted into nginx's buffer, never anchored
	[[ $MODE == on && $request_bodies == Y && $SCHEME == http ]] || return 0
	if [[ $PROXY == nginx ]]; then
		out=$((zc + mat)) what="bytes_zero_copy_sent + bytes_materialized"
	else
		out=$zc what=bytes_zero_copy_sent
	fi
	((out * 10 >= $3 * 9)) || problem "Libra on, uploads: $what $out is below 90% of the $3 upload bytes"
	(($(delta tokens_refused "$1" "$2") == 0)) || problem "Libra on, uploads: tokens were refused on honest traffic"
}

# Every failed check is collected; the scenario fails at its end, with all of them.
problems=()
problem() {
	say "PROBLEM: $*"
	problems+=("$*")
}

# Every run must equal the originals.
compare_run() {
	if diff -u "$WORK/expect.$1" "$WORK/record.$1" > "$WORK/diff.$1"; then
		say "Libra $1: all $(wc -l < "$WORK/record.$1") bodies equal the originals"
	else
		cat "$WORK/diff.$1"
		problem "Libra $1: $(grep -c '^+[^+]' "$WORK/diff.$1") bodies at the far end differ from the" \
			"originals (diff above: - expected, + received)"
	fi
}

start_proxy() { # start_proxy PORT INSTANCE
	case $PROXY in
	nginx) NGINX_TLS=${MATRIX_TLS:-} start_nginx_proxy "$1" "$BACKEND" "$2" "client_max_body_size 64m; ${NGINX_EXTRA:-}" ;;
	haproxy) start_haproxy_proxy "$1" "$BACKEND" "$2" "" "${HAPROXY_GLOBAL:-}" ;;
	*) fail "unknown proxy $PROXY" ;;
	esac
}

stop_proxy() {
	kill -TERM "$PROXY_PID"
	for _ in $(seq 100); do kill -0 "$PROXY_PID" 2>/dev/null || return 0; sleep 0.1; done
	fail "$PROXY (pid $PROXY_PID) did not stop"
}

start_special_backend "$BACKEND" "$WORK/www"
# its debug lines (why a token was rejected) are shown if the matrix fails
libra_load dyndbg=+p
libra_attach_parser
request_bodies=$(cat /sys/module/libra/parameters/anchor_request_bodies)
say "anchor_request_bodies=$request_bodies"

# Libra off: the module hooks every call, but the proxy is not opted in.
PORT=8080 MODE=off
start_proxy "$PORT" "$PROXY-off"
snapshot run0
t0=$SECONDS
run_traffic
snapshot run1
say "Libra off: traffic took $((SECONDS - t0)) s"
(($(delta recvmsg_calls run0 run1) > 0)) || problem "Libra off: the hooks saw no traffic"
for c in messages_parsed bytes_anchored bytes_zero_copy_sent; do
	(($(delta $c run0 run1) == 0)) || problem "Libra off: $c moved by $(delta $c run0 run1)"
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
(($(delta bytes_anchored run0 run1) > 0)) || problem "Libra on: nothing was anchored"
(($(delta tokens_rejected run0 run1) == 0)) || problem "Libra on: $(delta tokens_rejected run0 run1) tokens were rejected"
compare_run on
if diff -u "$WORK/record.off" "$WORK/record.on" > "$WORK/diff.off-on"; then
	say "Libra off and Libra on: $(wc -l < "$WORK/record.on") identical records"
else
	cat "$WORK/diff.off-on"
	problem "Libra off and Libra on differ (diff above: - off, + on)"
fi
wait_anchors_released 25
say "Libra on: anchored memory back to 0"
"$DEVCTL" disable "$PROXY_PID"
stop_proxy
if declare -F matrix_extra > /dev/null; then matrix_extra; fi
libra_unload
if ((${#problems[@]})); then
	say "the module's debug lines:"
	dmesg | grep -F 'libra: ' | tail -n 100 || true
fi
((${#problems[@]} == 0)) || fail "$(printf '\n  %s' "${problems[@]}")"
say "matrix passed: Libra off and on byte-identical, Libra engaged"
