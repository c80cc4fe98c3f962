# Helpers for the deploy-* guest scenarios (issue 13: "fail safe everywhere"):
# real deployments (TLS termination in user space and in the kernel, HAProxy
# bind ssl, nginx to a TLS upstream, HTTP/2 and h2c clients) in front of
# tools/backend.py, run Libra off, then on, every body compared by sha256 at
# the far end. Sourced after lib.sh.
#
# How a scenario uses it:
#
#   source "$LIBRA_SRC/tests/guest/lib.sh"
#   source "$LIBRA_SRC/tests/guest/deploy.inc.sh"
#   libra_load; libra_attach_parser
#   deploy_files 0 1 65536 ...; tls_cert; start_special_backend 8083 "$WORK/www"
#   DEPLOY_HTTP_VERSION=1.1         # what every transfer must have used (2: HTTP/2)
#   traffic() {                     # once per pass, $MODE off then on
#       deploy_begin nginx-tls      # a deployment: counters, log, budget
#       deploy_nginx ...            # a fresh proxy for this pass (or lib.sh's run_haproxy)
#       deploy_opt_in nginx         # Libra on: opts $PROXY_PID in (and remembers it)
#       deploy_get "$url" --http1.1 -- get.cl.65536=65536 ...
#       deploy_upload "$url" --http1.1 -- post.cl.65536=cl:65536 ...
#       deploy_h2c [--sequential] PORT ...  # h2c by tools/h2client.py
#       deploy_end "$PROXY_PID"     # anchors back to 0, counters, log; stops the proxy
#   }
#   deploy_run_off_then_on traffic
#   libra_unload
#   deploy_finish "what passed"     # fails with every problem found
#
# What is checked, each failure collected as a problem (reported together at
# the end, so that one run shows everything a module gets wrong):
#  - every transfer: curl's exit status 0, HTTP status 200, the HTTP version
#    wanted, and the sha256 and length of the body at the far end (at the
#    client for downloads, at the backend for uploads: its answer) equal to
#    the original's, in both passes; and the two passes' records identical;
#  - a stall fails instead of hanging: a transfer that moves nothing for
#    DEPLOY_STALL_S seconds, or runs past DEPLOY_MAX_S, ends with curl's exit
#    28; after DEPLOY_STALL_BUDGET such ends a deployment's remaining
#    transfers are recorded as SKIPPED (a failure) to bound the run;
#  - Libra off: no data-path counter moves (messages_parsed, bytes_anchored,
#    bytes_zero_copy_sent, tokens_rejected);
#  - Libra on: no token rejected; anchored_bytes_now and anchors_now back to 0
#    within DEPLOY_RELEASE_S seconds while the proxy still runs (anchors of
#    bodies already delivered must not wait for the process to exit), and
#    again after it exited;
#  - the kernel log gains no warning, bug, oops, refcount or list complaint.
# Libra on is not required to anchor anything: for a deployment it cannot
# follow (TLS, HTTP/2) passing the bytes through untouched is a right answer.
# What the module did is printed for each deployment (its opt-in entry's
# counters) so that a report shows whether it engaged.

DEPLOY_STALL_S=${DEPLOY_STALL_S:-10}
DEPLOY_MAX_S=${DEPLOY_MAX_S:-120}
DEPLOY_STALL_BUDGET=${DEPLOY_STALL_BUDGET:-3}
DEPLOY_RELEASE_S=${DEPLOY_RELEASE_S:-10}
declare -A SUM
deploy_problems=()

deploy_problem() {
	say "PROBLEM: $*"
	deploy_problems+=("${MODE:+[$MODE] }${DEPLOY_NAME:+$DEPLOY_NAME: }$*")
}

# deploy_files NAME...: random files $WORK/www/NAME of NAME bytes, written and
# summed by one process (process starts are slow under emulation); SUM[NAME]
# is "SHA256 LENGTH".
deploy_files() {
	mkdir -p "$WORK/www" "$WORK/out"
	python3 - "$WORK/www" "$@" > "$WORK/sums" <<'PY'
import hashlib, os, random, sys
root, rng = sys.argv[1], random.Random(os.urandom(16))
for name in dict.fromkeys(sys.argv[2:]):
    data = rng.randbytes(int(name))
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)
    print(name, hashlib.sha256(data).hexdigest(), len(data))
PY
	local name sha len
	while read -r name sha len; do SUM[$name]="$sha $len"; done < "$WORK/sums"
}

# deploy_chunk SIZE: the upstream chunk size for a chunked body of SIZE bytes:
# 5000 below 64 KiB (so that small chunks are seen too), else one that leaves
# no chunk below 16 KiB (each chunk anchorable, as matrix.inc.sh does).
deploy_chunk() {
	local c=65536
	if (($1 < 65536)); then echo 5000; return; fi
	while (($1 % c && $1 % c < 16384)); do c=$((c - 4096)); done
	echo "$c"
}

# deploy_nginx NAME PORT LISTEN_PARAMS UPSTREAM_SCHEME UPSTREAM_PORT [SERVER_EXTRA] [LOCATION_EXTRA]
# nginx as Debian configures it (sendfile, tcp_nopush, gzip on), listening on
# 127.0.0.1:PORT with LISTEN_PARAMS ("ssl", "ssl http2", "http2", ""; the
# certificate is $TLS_DIR's), proxying to UPSTREAM_SCHEME://127.0.0.1:UPSTREAM_PORT
# over HTTP/1.1 with a keep-alive pool. Sets PROXY_PID (the master), PROXY_DIR.
deploy_nginx() {
	local name=$1 port=$2 listen=$3 scheme=$4 upstream=$5 server_extra=${6:-} location_extra=${7:-}
	local dir=$WORK/$name
	mkdir -p "$dir/logs"
	cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 256; }
http {
	# as in Debian's /etc/nginx/nginx.conf
	sendfile on;
	tcp_nopush on;
	gzip on;
	ssl_protocols TLSv1.2 TLSv1.3;
	ssl_prefer_server_ciphers on;
	access_log off;
	client_max_body_size 64m;
	ssl_certificate $TLS_DIR/cert.pem;
	ssl_certificate_key $TLS_DIR/key.pem;
	upstream backend { server 127.0.0.1:$upstream; keepalive 8; }
	server {
		listen 127.0.0.1:$port${listen:+ $listen};
		$server_extra
		location / {
			proxy_pass $scheme://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			$location_extra
		}
	}
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" 2> "$dir/start.log" \
		|| fail "nginx $name did not start: $(cat "$dir/start.log" "$dir/logs/error.log")"
	wait_port "$port"
	PROXY_PID=$(cat "$dir/nginx.pid") PROXY_DIR=$dir
}

# deploy_stop PID: SIGTERM, then waits until PID has exited (nginx's master
# waits for its workers).
deploy_stop() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	deploy_problem "process $1 did not stop on SIGTERM within 15 s (killed)"
}

# --- records: "LABEL ..." lines, what was expected and what came -------------
deploy_expect() { echo "$DEPLOY_NAME/$1 $2" >> "$WORK/expect.$MODE"; }
deploy_record() { echo "$DEPLOY_NAME/$1 $2" >> "$WORK/record.$MODE"; }

# A body that differs from its original is described (tools/bodydiff.py:
# where, and whether a Libra token stands there), for the first few of each
# deployment.
deploy_describe() { # deploy_describe LABEL RECEIVED_FILE NAME CHUNK
	((DEPLOY_DESCRIBED++ < 3)) || return 0
	say "[$MODE] $DEPLOY_NAME: $1 differs from the original $3:"
	python3 "$LIBRA_SRC/tests/guest/tools/bodydiff.py" "$2" "$WORK/www/$3" ${4:+"$4"} 2>&1 | head -n 12 || true
}

# deploy_curl_opts: what every transfer gets. A stall fails the transfer
# (curl exit 28) instead of hanging the scenario.
deploy_curl_opts() {
	DEPLOY_CURL=(-sS --max-time "$DEPLOY_MAX_S" --speed-limit 1 --speed-time "$DEPLOY_STALL_S"
		--cacert "$TLS_DIR/cert.pem" -w '%{filename_effective} %{exitcode} %{http_code} %{http_version}\n')
}

# deploy_curl_to OUT ERR CURL_ARG...: curl, its standard output (the -w
# lines) to OUT and its errors to ERR (stall_watch's report stays visible).
deploy_curl_to() { curl "${@:3}" > "$1" 2> "$2"; }

# deploy_skip LABEL...: the deployment is over its stall budget.
deploy_over_budget() { ((DEPLOY_STALLS >= DEPLOY_STALL_BUDGET)); }
deploy_skip() {
	local l
	for l in "$@"; do deploy_record "$l" "SKIPPED after $DEPLOY_STALLS stalled transfers"; done
}

# deploy_results OUT LABEL...: reads curl's -w lines (one per transfer:
# output file, exit status, HTTP status and version; in completion order
# under --parallel) from OUT into RESULT[LABEL] ("exit=E http=H v=V"; "none"
# for a transfer curl never reported); counts stalls (exit 28).
declare -A RESULT RESULT_COUNTED
deploy_results() {
	local out=$1 f e h v l; shift
	local -A line=()
	while read -r f e h v; do [[ -n $f ]] && line[${f##*/}]="exit=$e http=$h v=$v"; done < "$out"
	for l in "$@"; do
		RESULT[$l]=${line[$l]:-"exit=none http=none v=none"}
		if [[ ${RESULT[$l]} == exit=28\ * && -z ${RESULT_COUNTED[$DEPLOY_NAME/$l]:-} ]]; then
			DEPLOY_STALLS=$((DEPLOY_STALLS + 1)) RESULT_COUNTED[$DEPLOY_NAME/$l]=1
		fi
	done
}

# deploy_get URL [CURL_OPTION...] -- LABEL=NAME...: GET URL/file/NAME (with
# ?chunk=N from deploy_chunk when LABEL contains "chunked": the backend
# answers chunked) for each, in one curl (one connection, kept alive). Each
# is recorded as "exit=0 http=200 v=$DEPLOY_HTTP_VERSION SHA256 LENGTH"
# (MISSING for the body when not one byte of it arrived).
deploy_get() {
	local url=$1 opts=() item label name target args=() labels=() rc=0 s
	shift
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	if deploy_over_budget; then
		for item in "$@"; do labels+=("${item%%=*}"); deploy_expect "${item%%=*}" "exit=0 http=200 v=$DEPLOY_HTTP_VERSION ${SUM[${item#*=}]}"; done
		deploy_skip "${labels[@]}"
		return 0
	fi
	deploy_curl_opts
	for item in "$@"; do
		label=${item%%=*} name=${item#*=} target=$name
		[[ $label != *chunked* ]] || target+="?chunk=$(deploy_chunk "$name")"
		deploy_expect "$label" "exit=0 http=200 v=$DEPLOY_HTTP_VERSION ${SUM[$name]}"
		rm -f "$WORK/out/$label"
		args+=(-o "$WORK/out/$label" "$url/file/$target")
		labels+=("$label")
	done
	local t0=$SECONDS i
	if [[ -z ${DEPLOY_ONE_CURL:-} ]]; then
		stall_watch 60 deploy_curl_to "$WORK/curl.out" "$WORK/curl.err" "${DEPLOY_CURL[@]}" "${opts[@]}" "${args[@]}" || rc=$?
		((rc == 0)) || say "[$MODE] $DEPLOY_NAME: curl exited $rc: $(head -c 600 "$WORK/curl.err")"
	else
		: > "$WORK/curl.all"
		for ((i = 0; i < ${#args[@]}; i += 3)); do
			deploy_over_budget && break
			rc=0
			deploy_curl_to "$WORK/curl.out" "$WORK/curl.err" "${DEPLOY_CURL[@]}" "${opts[@]}" "${args[@]:i:3}" || rc=$?
			((rc == 0)) || say "[$MODE] $DEPLOY_NAME: curl exited $rc: $(head -c 300 "$WORK/curl.err")"
			cat "$WORK/curl.out" >> "$WORK/curl.all"
			deploy_results "$WORK/curl.out" "${labels[i / 3]}"
		done
		mv "$WORK/curl.all" "$WORK/curl.out"
	fi
	deploy_results "$WORK/curl.out" "${labels[@]}"
	# one sha256sum and one stat for the batch (every process start is slow here)
	local -A sha=() len=()
	local f l
	while read -r s f; do [[ -n $f ]] && sha[$f]=$s; done <<< "$(cd "$WORK/out" && sha256sum -- "${labels[@]}" 2>/dev/null)"
	while read -r f l; do [[ -n $f ]] && len[$f]=$l; done <<< "$(cd "$WORK/out" && stat -c "%n %s" -- "${labels[@]}" 2>/dev/null)"
	for item in "$@"; do
		label=${item%%=*} name=${item#*=}
		if [[ -n ${sha[$label]:-} ]]; then
			deploy_record "$label" "${RESULT[$label]} ${sha[$label]} ${len[$label]}"
			if [[ "${sha[$label]} ${len[$label]}" != "${SUM[$name]}" ]]; then
				deploy_describe "GET $label" "$WORK/out/$label" "$name" \
					"$([[ $label == *chunked* ]] && deploy_chunk "$name")"
			fi
		else
			deploy_record "$label" "${RESULT[$label]} MISSING"
		fi
	done
	(cd "$WORK/out" && rm -f -- "${labels[@]}")
	say "[$MODE] $DEPLOY_NAME: ${#labels[@]} GETs in $((SECONDS - t0)) s"
}

# With DEPLOY_ONE_CURL set, deploy_get and deploy_upload run one curl per
# transfer (Debian 12's curl 7.88.1 fails every transfer after the first on
# a reused h2c prior-knowledge connection: "Error in the HTTP2 framing
# layer", Libra loaded or not).
#
# deploy_upload URL [CURL_OPTION...] -- LABEL=FRAMING:NAME...: POST the file
# NAME to URL/upload/NAME, FRAMING "cl" (Content-Length), "chunked"
# (Transfer-Encoding: chunked, HTTP/1.1) or "stream" (read from standard
# input with no length announced: chunked over HTTP/1.1, DATA frames without
# content-length over HTTP/2; one curl each). The backend answers
# "SHA256 LENGTH" of what it received; recorded as
# "exit=0 http=200 v=$DEPLOY_HTTP_VERSION SHA256 LENGTH".
deploy_upload() {
	local url=$1 opts=() item label framing name args=() labels=() streams=() rc=0 l t0=$SECONDS
	shift
	while [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	deploy_curl_opts
	for item in "$@"; do
		label=${item%%=*}
		IFS=: read -r framing name <<< "${item#*=}"
		rm -f "$WORK/out/$label"
		if [[ $framing == stream || -n ${DEPLOY_ONE_CURL:-} ]]; then
			streams+=("$label:$framing:$name")
			continue
		fi
		deploy_expect "$label" "exit=0 http=200 v=$DEPLOY_HTTP_VERSION ${SUM[$name]}"
		((${#args[@]} == 0)) || args+=(--next)
		args+=("${DEPLOY_CURL[@]}" "${opts[@]}" -o "$WORK/out/$label" -X POST --data-binary "@$WORK/www/$name"
			-H 'Content-Type: application/octet-stream')
		[[ $framing == cl ]] || args+=(-H 'Transfer-Encoding: chunked')
		args+=("$url/upload/$name")
		labels+=("$label")
	done
	if ((${#labels[@]})); then
		if deploy_over_budget; then
			deploy_skip "${labels[@]}"
		else
			stall_watch 90 deploy_curl_to "$WORK/curl.out" "$WORK/curl.err" "${args[@]}" || rc=$?
			((rc == 0)) || say "[$MODE] $DEPLOY_NAME: curl exited $rc: $(head -c 600 "$WORK/curl.err")"
			deploy_results "$WORK/curl.out" "${labels[@]}"
			for l in "${labels[@]}"; do deploy_upload_record "$l"; done
		fi
	fi
	for item in "${streams[@]}"; do
		IFS=: read -r label framing name <<< "$item"
		rc=0
		deploy_expect "$label" "exit=0 http=200 v=$DEPLOY_HTTP_VERSION ${SUM[$name]}"
		if deploy_over_budget; then deploy_skip "$label"; continue; fi
		args=(-X POST -H 'Content-Type: application/octet-stream')
		case $framing in
		stream) args+=(-T -) ;;
		cl) args+=(--data-binary "@$WORK/www/$name") ;;
		chunked) args+=(--data-binary "@$WORK/www/$name" -H 'Transfer-Encoding: chunked') ;;
		esac
		stall_watch 60 deploy_curl_to "$WORK/curl.out" "$WORK/curl.err" "${DEPLOY_CURL[@]}" "${opts[@]}" \
			-o "$WORK/out/$label" "${args[@]}" "$url/upload/$name" < "$WORK/www/$name" || rc=$?
		((rc == 0)) || say "[$MODE] $DEPLOY_NAME: curl exited $rc: $(head -c 600 "$WORK/curl.err")"
		deploy_results "$WORK/curl.out" "$label"
		deploy_upload_record "$label"
	done
	say "[$MODE] $DEPLOY_NAME: $# uploads in $((SECONDS - t0)) s"
}

# deploy_h2c [--sequential] PORT LABEL=NAME|LABEL=cl:NAME|LABEL=stream:NAME...:
# every request at once on one h2c connection (tools/h2client.py), or with
# --sequential one after the other on it: a GET of /file/NAME (chunked from
# the backend when LABEL contains "chunked"), or an upload of NAME with a
# content-length (cl) or without (stream). Recorded like deploy_get's and
# deploy_upload's.
deploy_h2c() {
	local seq=() how=multiplexed item label rest name target specs=() t0=$SECONDS rc=0 line port
	if [[ $1 == --sequential ]]; then
		seq=(--sequential --max-stalls $((DEPLOY_STALL_BUDGET - DEPLOY_STALLS))) how="one after the other"
		shift
	fi
	port=$1
	shift
	for item in "$@"; do
		label=${item%%=*} rest=${item#*=}
		name=${rest#*:}
		deploy_expect "$label" "exit=0 http=200 v=2 ${SUM[$name]}"
		case $rest in
		cl:*) specs+=("$label=POST:/upload/$name:$WORK/www/$name") ;;
		stream:*) specs+=("$label=POST+stream:/upload/$name:$WORK/www/$name") ;;
		*)
			target=$name
			[[ $label != *chunked* ]] || target+="?chunk=$(deploy_chunk "$name")"
			specs+=("$label=GET:/file/$target")
			;;
		esac
	done
	if deploy_over_budget; then
		for item in "$@"; do deploy_skip "${item%%=*}"; done
		return 0
	fi
	stall_watch 60 python3 "$LIBRA_SRC/tests/guest/tools/h2client.py" "${seq[@]}" "$port" "${specs[@]}" > "$WORK/h2.out" 2> "$WORK/h2.err" || rc=$?
	((rc == 0)) || say "[$MODE] $DEPLOY_NAME: h2client exited $rc $(head -c 300 "$WORK/h2.err")"
	for item in "$@"; do
		label=${item%%=*}
		line=$(grep -m1 "^$label " "$WORK/h2.out") || line="$label exit=none http=none v=none MISSING"
		[[ $line != *exit=stall* ]] || DEPLOY_STALLS=$((DEPLOY_STALLS + 1))
		deploy_record "$label" "${line#"$label "}"
	done
	say "[$MODE] $DEPLOY_NAME: $# requests $how on one h2c connection (h2client) in $((SECONDS - t0)) s"
}

deploy_upload_record() {
	local answer=MISSING
	if [[ -s $WORK/out/$1 ]]; then
		read -r -n 200 answer < "$WORK/out/$1" || true
		answer=${answer//[^[:print:]]/?}
	fi
	deploy_record "$1" "${RESULT[$1]} ${answer:-EMPTY}"
	rm -f "$WORK/out/$1"
}

# --- one deployment within a pass ---------------------------------------------
deploy_watched=(messages_parsed bytes_anchored bytes_zero_copy_sent tokens_rejected)

# deploy_stats: every counter of libra's into STAT[name], by one libra-devctl.
declare -A STAT
deploy_stats() {
	local k v
	STAT=()
	while read -r k v; do STAT[$k]=$v; done <<< "$("$DEVCTL" stats)"
	[[ -n ${STAT[anchored_bytes_now]:-} ]] || fail "libra-devctl stats: no anchored_bytes_now"
}

# deploy_begin NAME: a deployment starts (its proxies are started after).
deploy_begin() {
	DEPLOY_NAME=$1 DEPLOY_STALLS=0 DEPLOY_DESCRIBED=0 DEPLOY_OPTED=() DEPLOY_T0=$SECONDS
	DEPLOY_HTTP_VERSION=${DEPLOY_HTTP_VERSION:-1.1}
	DEPLOY_DMESG=$(dmesg | wc -l)
	local c
	DEPLOY_BEFORE=()
	deploy_stats
	for c in "${deploy_watched[@]}"; do DEPLOY_BEFORE+=("${STAT[$c]}"); done
	say "[$MODE] $DEPLOY_NAME starts"
}

# deploy_opt_in WHAT: Libra on only: opts $PROXY_PID (and its descendants) in.
deploy_opt_in() {
	[[ $MODE == on ]] || return 0
	"$DEVCTL" enable "$PROXY_PID" desc || fail "opt-in of $1 (pid $PROXY_PID)"
	DEPLOY_OPTED+=("$PROXY_PID:$1")
}

# deploy_end [PID...]: the checks after a deployment's traffic (see the top),
# then stops PID... (the proxies it started) and checks again.
deploy_end() {
	local c i moved pid what entry
	deploy_stats
	for i in "${!deploy_watched[@]}"; do
		c=${deploy_watched[$i]}
		moved=$((STAT[$c] - DEPLOY_BEFORE[i]))
		if [[ $MODE == off ]]; then
			((moved == 0)) || deploy_problem "Libra off: $c moved by $moved"
		elif [[ $c == tokens_rejected ]]; then
			((moved == 0)) || deploy_problem "Libra on: $moved tokens were rejected"
		fi
	done
	for entry in "${DEPLOY_OPTED[@]}"; do
		pid=${entry%%:*} what=${entry#*:}
		say "[$MODE] $DEPLOY_NAME: what libra did for $what (pid $pid): $("$DEVCTL" entry-stats "$pid" 2>&1 \
			| grep -E '^(recvmsg_engaged|sendmsg_engaged|messages_parsed|bytes_anchored|bytes_zero_copy_sent|bytes_fallback_copied|parser_errors|fallback_[a-z_]+|tokens_[a-z_]+) [1-9]' \
			| tr '\n' ' ')"
	done
	if [[ $MODE == on ]] && ! deploy_anchors_released "$DEPLOY_RELEASE_S"; then
		deploy_problem "Libra on: anchors still held ${DEPLOY_RELEASE_S} s after the traffic ended, with the proxy running:" \
			"anchored_bytes_now ${STAT[anchored_bytes_now]}, anchors_now ${STAT[anchors_now]}"
	fi
	for pid in "$@"; do deploy_stop "$pid"; done
	if ! deploy_anchors_released "$DEPLOY_RELEASE_S"; then
		deploy_problem "anchors still held ${DEPLOY_RELEASE_S} s after the proxies exited: anchored_bytes_now" \
			"${STAT[anchored_bytes_now]}, anchors_now ${STAT[anchors_now]}"
	fi
	if dmesg | tail -n +"$((DEPLOY_DMESG + 1))" \
		| grep -E 'WARNING:|BUG:|Oops|general protection fault|Call Trace:|refcount_t:|list_(add|del) corruption' > "$WORK/dmesg.new"; then
		deploy_problem "the kernel log complained: $(head -n 5 "$WORK/dmesg.new")"
	fi
	say "[$MODE] $DEPLOY_NAME done in $((SECONDS - DEPLOY_T0)) s"
	DEPLOY_NAME=
}

# deploy_anchors_released SECONDS: waits until no anchor is held, for at
# most SECONDS (by the clock: every libra-devctl start is slow here).
deploy_anchors_released() {
	local end=$((SECONDS + $1))
	while :; do
		deploy_stats
		((STAT[anchored_bytes_now] == 0 && STAT[anchors_now] == 0)) && return 0
		((SECONDS < end)) || return 1
		sleep 0.5
	done
}

# deploy_run_off_then_on FUNCTION: FUNCTION (the traffic: deployments, each
# between deploy_begin and deploy_end) once per pass, Libra off then on; each
# pass's records must equal what was expected, and the two passes' records
# each other.
deploy_run_off_then_on() {
	local t0
	for MODE in off on; do
		: > "$WORK/expect.$MODE"; : > "$WORK/record.$MODE"
		t0=$SECONDS
		say "[$MODE] pass starts"
		"$1"
		if diff -u "$WORK/expect.$MODE" "$WORK/record.$MODE" > "$WORK/diff.$MODE"; then
			say "[$MODE] pass done in $((SECONDS - t0)) s: all $(wc -l < "$WORK/record.$MODE") transfers as expected"
		else
			say "[$MODE] pass done in $((SECONDS - t0)) s; transfers that differ from what was expected (- expected, + received):"
			grep -E '^[-+][^-+]' "$WORK/diff.$MODE" || true
			deploy_problem "Libra $MODE: $(grep -c '^+[^+]' "$WORK/diff.$MODE") of $(wc -l < "$WORK/record.$MODE")" \
				"transfers differ from what was expected (status, HTTP version, or sha256 and length at the far end)"
		fi
	done
	MODE=
	"$DEVCTL" stats
	if diff -u "$WORK/record.off" "$WORK/record.on" > "$WORK/diff.off-on"; then
		say "Libra off and Libra on: $(wc -l < "$WORK/record.on") identical records"
	else
		deploy_problem "Libra off and Libra on differ in $(grep -c '^+[^+]' "$WORK/diff.off-on") records (see the lists above)"
	fi
}

# deploy_finish: fails with every problem found, else says the scenario passed.
deploy_finish() {
	if ((${#deploy_problems[@]})); then
		say "libra's lines in the kernel log:"
		dmesg | grep -F 'libra' | tail -n 40 || true
		fail "$((${#deploy_problems[@]})) problems:$(printf '\n  %s' "${deploy_problems[@]}")"
	fi
	say "$1"
}

