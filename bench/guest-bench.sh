# The benchmark's guest side (sourced by tests/guest/scenarios/bench*.sh,
# which set BENCH_SCENARIO and BENCH_MODE). Runs inside the guest under
# bash -eu: starts a backend and five proxy instances (stock and Libra nginx,
# stock, Libra and splice HAProxy), opts the Libra ones in before any traffic,
# then for every body size and method measures, interleaved A/B/A/B:
#   - timed wrk runs (req/s, P50/P99, CPU time of the proxy processes and of
#     the whole guest per request),
#   - an accounting pass of exactly K requests with curl, under copycount
#     (bytes copied across the user/kernel boundary by the proxy processes),
#     the metadata bytes of those requests (curl on the client side, the
#     backend's access log on the upstream side) and Libra's counters.
# Results are console lines "LIBRA-BENCH: kind=... key=value ..." that
# bench/run extracts; configuration files as "LIBRA-BENCH-CONF: name| line".
source "$LIBRA_SRC/tests/guest/lib.sh"

COPYCOUNT=$LIBRA_BUILD/bench/copycount
POST_LUA=$LIBRA_SRC/bench/post.lua

if [[ $BENCH_MODE == quick ]]; then
	SIZES="4096 1048576" METHODS="GET POST" CONNS="1" REPS=1 DURATION=1 ACCT_MAX=4
else
	SIZES="1024 4096 16384 65536 262144 1048576 4194304" METHODS="GET POST" CONNS="1 8" REPS=2 DURATION=2 ACCT_MAX=16
fi
CONFIGS="direct nginx-stock nginx-libra haproxy-stock haproxy-libra haproxy-splice"
SELFTEST_ONLY=0
# bench/run may override any of the above for one invocation.
params=$LIBRA_BUILD/bench/params-$BENCH_SCENARIO.env
[[ -f $params ]] && source "$params"

emit() { echo "LIBRA-BENCH: $*"; }
emit_file() { # name file
	while IFS= read -r line; do echo "LIBRA-BENCH-CONF: $1| $line"; done < "$2"
}

declare -A PORT=([direct]=8081 [nginx-stock]=8090 [nginx-libra]=8091
		 [haproxy-stock]=8092 [haproxy-libra]=8093 [haproxy-splice]=8094)
declare -A PIDS=()

# ---- platform ----
emit "kind=info key=kernel value=$(uname -r)"
emit "kind=info key=cpu value=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//; s/ /_/g')"
emit "kind=info key=vcpus value=$(nproc)"
grep -q -w erms /proc/cpuinfo && erms=yes || erms=no
emit "kind=info key=erms value=$erms"
emit "kind=info key=nginx value=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
emit "kind=info key=haproxy value=$(haproxy -v | head -n1 | awk '{print $3}')"
emit "kind=info key=wrk value=$(wrk -v 2>&1 | head -n1 | awk '{print $2}')"
emit "kind=info key=curl value=$(curl --version | head -n1 | awk '{print $2}')"
emit "kind=info key=mode value=$BENCH_MODE"
emit "kind=info key=duration_s value=$DURATION"
emit "kind=info key=reps value=$REPS"
emit "kind=info key=sizes value=${SIZES// /,}"
emit "kind=info key=methods value=${METHODS// /,}"
emit "kind=info key=conns value=${CONNS// /,}"
emit "kind=info key=configs value=${CONFIGS// /,}"

stage() { emit "kind=stage name=$1 t=$SECONDS"; }
stage start
# ---- the byte counter, checked against known transfers first ----
# One copycount process for the whole run (loading takes seconds here).
coproc CC { "$COPYCOUNT" serve 2>&1; }
read -r -t 300 ready <&"${CC[0]}" || fail "copycount did not start"
[[ $ready == ready* ]] || fail "copycount: $ready"
# cc COMMAND ARGS...: prints the reply lines (up to "end" or "ok")
cc() {
	local line
	echo "$*" >&"${CC[1]}"
	while read -r -t 120 line <&"${CC[0]}"; do
		[[ $line == end || $line == ok ]] && return 0
		echo "$line"
	done
	fail "copycount stopped answering ($*)"
}
cc selftest > "$WORK/selftest.out"
while IFS= read -r line; do emit "kind=selftest line=${line// /_}"; done < "$WORK/selftest.out"
cat "$WORK/selftest.out"
grep -q 'copycount selftest: PASSED' "$WORK/selftest.out" || fail "copycount selftest"
cc detach	# attached only during accounting passes, never during timed runs
stage selftest-done
[[ $SELFTEST_ONLY == 1 ]] && { emit "kind=end"; return 0; }

# ---- servers ----
make_bodies $SIZES

bench_backend() {
	local dir=$WORK/backend
	mkdir -p "$dir/logs"
	cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile off;
	keepalive_requests 1000000;
	client_max_body_size 16m;
	log_format acct '\$request_length \$bytes_sent \$body_bytes_sent \$content_length';
	map \$arg_acct \$acct { default 0; 1 1; }
	server {
		listen 127.0.0.1:${PORT[direct]};
		root $WORK/www;
		access_log $dir/logs/acct.log acct if=\$acct;
		# reads the whole upload (into memory) before answering "ok"
		location = /upload {
			client_body_buffer_size 16m;
			proxy_pass http://127.0.0.1:${PORT[direct]}/ok;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
		}
		location = /ok { access_log off; return 200 "ok\n"; }
	}
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" || fail "backend nginx did not start"
	wait_port "${PORT[direct]}"
	emit_file backend "$dir/nginx.conf"
}

bench_nginx() { # name
	local name=$1 dir=$WORK/$1
	mkdir -p "$dir/logs"
	cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_max_body_size 16m;
	upstream backend {
		server 127.0.0.1:${PORT[direct]};
		keepalive 16;
		keepalive_requests 1000000;
	}
	server {
		listen 127.0.0.1:${PORT[$name]};
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" || fail "$name did not start"
	wait_port "${PORT[$name]}"
	local master
	master=$(cat "$dir/nginx.pid")
	PIDS[$name]="$master $(pgrep -P "$master" | tr '\n' ' ')"
	# identical settings: the file differs only in its paths and port
	sed -e "s#$dir#\$DIR#g" -e "s#:${PORT[$name]};#:\$PORT;#" "$dir/nginx.conf" > "$dir/nginx.conf.shown"
	emit_file "$name" "$dir/nginx.conf.shown"
}

bench_haproxy() { # name [extra defaults line]
	local name=$1 extra=${2:-} dir=$WORK/$1
	mkdir -p "$dir"
	cat > "$dir/haproxy.cfg" <<CONF
global
	nbthread 2
	maxconn 1024
defaults
	mode http
	option http-keep-alive
	timeout connect 5s
	timeout client 30s
	timeout server 30s
${extra:+	$extra
}frontend fe
	bind 127.0.0.1:${PORT[$name]}
	default_backend be
backend be
	server s1 127.0.0.1:${PORT[direct]}
CONF
	haproxy -q -D -p "$dir/haproxy.pid" -f "$dir/haproxy.cfg" || fail "$name did not start"
	wait_port "${PORT[$name]}"
	PIDS[$name]=$(head -n 1 "$dir/haproxy.pid")
	sed -e "s#:${PORT[$name]}\$#:\$PORT#" "$dir/haproxy.cfg" > "$dir/haproxy.cfg.shown"
	emit_file "$name" "$dir/haproxy.cfg.shown"
}

bench_backend
stage backend-up
libra_load
libra_attach_parser
emit "kind=info key=libra value=$("$DEVCTL" version | tr ' ' ',')"
bench_nginx nginx-stock
bench_nginx nginx-libra
bench_haproxy haproxy-stock
bench_haproxy haproxy-libra
bench_haproxy haproxy-splice "option splice-auto"
# Opt-in before any traffic: Libra adopts connections only from their start.
"$DEVCTL" enable "$(cat "$WORK/nginx-libra/nginx.pid")" desc
"$DEVCTL" enable "${PIDS[haproxy-libra]}" desc
stage proxies-up
emit "kind=info key=optin value=$("$DEVCTL" list | tr ' \n' ',;')"
for c in $CONFIGS; do emit "kind=pids config=$c pids=$(echo ${PIDS[$c]:-} | tr ' ' ',')"; done

# ---- measurement helpers ----
# utime+stime of the given processes in clock ticks (pure bash: forks are
# expensive under emulation)
ticks_of() {
	local t=0 p line
	local -a f
	for p in "$@"; do
		read -r line 2>/dev/null < "/proc/$p/stat" || continue
		read -r -a f <<< "${line##*) }"
		t=$((t + f[11] + f[12]))
	done
	echo "$t"
}
busy_ticks() { # all CPUs: user nice system irq softirq steal
	local -a f
	read -r -a f < /proc/stat
	echo $((f[1] + f[2] + f[3] + f[6] + f[7] + f[8]))
}
HZ=$(getconf CLK_TCK)

libra_counters() { "$DEVCTL" stats | sort; }

# Counters that changed between two "name value" listings, as key=value words.
counter_delta() {
	join "$1" "$2" | awk '$3 != $2 && $1 !~ /_now$|_peak$|_limit$|optin|tracked|in_flight/ { printf " libra_%s=%d", $1, $3 - $2 }'
}

url_of() { # config method size
	if [[ $2 == GET ]]; then echo "http://127.0.0.1:${PORT[$1]}/$3"; else echo "http://127.0.0.1:${PORT[$1]}/upload"; fi
}

# One timed wrk run.
timed_run() { # config method size conns rep
	local cfg=$1 method=$2 size=$3 conns=$4 rep=$5 out=$WORK/wrk.out
	local -a pids=(${PIDS[$cfg]:-}) args=(-t 1 -c "$conns" -d "${DURATION}s" --timeout 60s --latency)
	[[ $method == POST ]] && args+=(-s "$POST_LUA")
	local c0 s0 c1 s1
	c0=$(ticks_of "${pids[@]}") s0=$(busy_ticks)
	BENCH_BODY_FILE=$WORK/www/$size wrk "${args[@]}" "$(url_of "$cfg" "$method" "$size")" > "$out" 2>&1 \
		|| fail "wrk $cfg $method $size: $(cat "$out")"
	c1=$(ticks_of "${pids[@]}") s1=$(busy_ticks)
	local errors=0
	grep -E -q 'Socket errors|Non-2xx' "$out" && errors=1
	awk -v cfg="$cfg" -v m="$method" -v size="$size" -v conns="$conns" -v rep="$rep" \
	    -v pc=$((c1 - c0)) -v sc=$((s1 - s0)) -v hz="$HZ" -v np="${#pids[@]}" -v err="$errors" -v t="$SECONDS" '
		function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }
		/requests in/ { n = $1 }
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = us($2) }
		/^ +99%/ { p99 = us($2) }
		END {
			pcpu = (np > 0 && n > 0) ? sprintf("%.1f", pc * 1000000 / hz / n) : "NA"
			scpu = n > 0 ? sprintf("%.1f", sc * 1000000 / hz / n) : "NA"
			printf "LIBRA-BENCH: kind=run config=%s method=%s size=%s conns=%s rep=%s requests=%d rps=%s p50_us=%.0f p99_us=%.0f proxy_cpu_us_per_req=%s sys_cpu_us_per_req=%s errors=%d t=%s\n",
				cfg, m, size, conns, rep, n, rps, p50, p99, pcpu, scpu, err, t
		}' "$out"
	[[ $errors == 0 ]] || { cat "$out"; fail "wrk saw errors for $cfg $method $size c$conns"; }
}

# Accounting for one configuration, method and size: exactly K requests over
# one connection with curl, the bytes its proxy processes copied across the
# user/kernel boundary meanwhile (copycount), the metadata bytes on both
# sides, Libra's counters; then one more request with the body checked.
account() { # config method size
	local cfg=$1 method=$2 size=$3 k
	k=$((8 * 1048576 / size)); ((k > ACCT_MAX)) && k=$ACCT_MAX; ((k < 3)) && k=3
	local -a curl_args=(-s -H 'Expect:' -o /dev/null -w '%{size_request} %{size_header} %{size_upload} %{size_download} %{http_code}\n')
	[[ $method == POST ]] && curl_args+=(--data-binary "@$WORK/www/$size")
	local base pids=${PIDS[$cfg]:-}
	base=$(url_of "$cfg" "$method" "$size")
	: > "$WORK/backend/logs/acct.log"
	libra_counters > "$WORK/stats0"
	cc attach
	[[ -n $pids ]] && cc reset $pids
	curl "${curl_args[@]}" "$base?acct=1&i=[1-$k]" > "$WORK/curl.out" \
		|| fail "accounting pass $cfg $method $size: curl failed"
	[[ -n $pids ]] && cc read $pids > "$WORK/cc.out"
	cc detach
	libra_counters > "$WORK/stats1"
	for _ in $(seq 50); do (($(wc -l < "$WORK/backend/logs/acct.log") >= k)) && break; sleep 0.1; done
	local client upstream deltas
	# curl's size_request includes the upload only when it went out with the
	# headers (small bodies); larger ones are streamed and not in it
	client=$(awk '$5 != 200 { bad++ } { rq += ($1 > $3) ? $1 - $3 : $1; rs += $2 } END { if (bad || NR == 0) print "bad"; else printf "reqs=%d meta_client_req=%d meta_client_resp=%d", NR, rq, rs }' "$WORK/curl.out")
	[[ $client != bad ]] || fail "accounting pass $cfg $method $size: $(cat "$WORK/curl.out")"
	upstream=$(awk '{ cl = ($4 == "-") ? 0 : $4; rq += $1 - cl; rs += $2 - $3 } END { printf "upstream_reqs=%d meta_upstream_req=%d meta_upstream_resp=%d", NR, rq, rs }' "$WORK/backend/logs/acct.log")
	deltas=$(counter_delta "$WORK/stats0" "$WORK/stats1")
	local copies="to_user_bytes=NA from_user_bytes=NA"
	if [[ -n $pids ]]; then
		copies=$(awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); sum[kv[1]] += kv[2] } }
			END { printf "to_user_bytes=%d from_user_bytes=%d to_user_calls=%d from_user_calls=%d",
			      sum["to_user_bytes"], sum["from_user_bytes"], sum["to_user_calls"], sum["from_user_calls"] }' "$WORK/cc.out")
		cc untrack $pids
	fi
	local verified=NA
	if [[ $method == GET ]]; then
		local want got
		want=$(sha256sum < "$WORK/www/$size" | cut -d' ' -f1)
		got=$(curl -sf "$base" | sha256sum | cut -d' ' -f1)
		[[ $want == "$got" ]] || fail "$cfg: body of /$size differs"
		verified=sha256
	fi
	emit "kind=copy config=$cfg method=$method size=$size $client $upstream $copies verified=$verified t=$SECONDS$deltas"
}

# ---- the sweep ----
read -r -a sizes <<< "$SIZES"; read -r -a methods <<< "$METHODS"
read -r -a conns_list <<< "$CONNS"; read -r -a configs <<< "$CONFIGS"
total=$(( ${#sizes[@]} * ${#methods[@]} * ${#conns_list[@]} * REPS * ${#configs[@]} ))
emit "kind=plan runs=$total accounting=$(( ${#sizes[@]} * ${#methods[@]} * ${#configs[@]} ))"
for size in "${sizes[@]}"; do
	for method in "${methods[@]}"; do
		for cfg in "${configs[@]}"; do account "$cfg" "$method" "$size"; done
		for conns in "${conns_list[@]}"; do
			for ((rep = 1; rep <= REPS; rep++)); do
				# A/B/A/B: every configuration once per repetition, in turn
				for cfg in "${configs[@]}"; do timed_run "$cfg" "$method" "$size" "$conns" "$rep"; done
			done
		done
	done
done

# Totals while the proxies still run (anchors of requests cut off when wrk
# stopped are held until sent or until their process exits), then stop every
# proxy: all anchored memory must come back.
libra_counters | awk '{ printf "LIBRA-BENCH: kind=libra-total name=%s value=%s\n", $1, $2 }'
"$DEVCTL" disable "$(cat "$WORK/nginx-libra/nginx.pid")"
"$DEVCTL" disable "${PIDS[haproxy-libra]}"
for name in nginx-stock nginx-libra; do nginx -p "$WORK/$name" -c "$WORK/$name/nginx.conf" -s stop; done
kill ${PIDS[haproxy-stock]} ${PIDS[haproxy-libra]} ${PIDS[haproxy-splice]}
for _ in $(seq 100); do
	alive=0
	for c in nginx-stock nginx-libra haproxy-stock haproxy-libra haproxy-splice; do
		for p in ${PIDS[$c]}; do [[ -d /proc/$p ]] && alive=1; done
	done
	((alive)) || break
	sleep 0.1
done
wait_anchors_released
emit "kind=info key=anchors_after_stop value=$(stat_of anchors_now)"
echo quit >&"${CC[1]}"
emit "kind=end"
