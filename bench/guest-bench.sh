# The benchmark's guest side (sourced by tests/guest/scenarios/bench*.sh,
# which set BENCH_SCENARIO and BENCH_MODE). Runs inside the guest under
# bash -eu: starts a backend and the proxy instances CONFIGS names (stock and
# Libra nginx, stock, Libra and splice HAProxy; with --https: nginx
# terminating TLS in user space, nginx with kernel TLS, and nginx with kernel
# TLS and Libra, all TLS 1.3 with AES-GCM-128) with tests/guest/lib.sh's
# start_nginx_proxy/start_haproxy_proxy, the same settings the kernel tests
# use; opts the Libra ones in before any traffic, then for every body size
# and method measures, interleaved A/B/A/B:
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
	# proves the pipeline, measures nothing worth reading: one size, one
	# connection, one repetition of 1 s, 3 requests per accounting pass
	SIZES="1048576" METHODS="GET" CONNS="1" REPS=1 DURATION=1 ACCT_MAX=3
	TIME_STATS=1	# its check: the module's timing counters move
else
	SIZES="1024 4096 16384 65536 262144 1048576 4194304" METHODS="GET POST" CONNS="1 8" REPS=2 DURATION=2 ACCT_MAX=16
fi
CONFIGS="direct nginx-stock nginx-libra haproxy-stock haproxy-libra haproxy-splice"
# HAProxy's own zero-copy mode, the reference: splice in both directions
# whenever HAProxy can (splice-auto splices only once its heuristics see a
# fast stream, which a short or paced transfer never becomes)
SPLICE_OPTIONS="option splice-request
option splice-response"
SELFTEST_ONLY=0
# libra.ko's time_stats (bench/run --time-stats): the time_*_ns counters,
# read around every Libra run; off, as deployed, unless asked for, since
# their clock reads cost the proxy time of their own
TIME_STATS=${TIME_STATS:-0}
NGINX_EXTRA=""	# lines for both nginx proxies' location (bench/run --nginx-buffers)
HAPROXY_GLOBAL=""	# lines for every HAProxy's global section (bench/run --haproxy-bufsize)
# bench/run may override any of the above for one invocation.
params=$LIBRA_BUILD/bench/params-$BENCH_SCENARIO.env
[[ -f $params ]] && source "$params"

emit() { echo "LIBRA-BENCH: $*"; }
emit_file() { # name file
	while IFS= read -r line; do echo "LIBRA-BENCH-CONF: $1| $line"; done < "$2"
}

declare -A PORT=([direct]=8081 [direct-unloaded]=8081 [nginx-stock]=8090 [nginx-libra]=8091
		 [haproxy-stock]=8092 [haproxy-libra]=8093 [haproxy-splice]=8094
		 [nginx-tls]=8095 [nginx-ktls-stock]=8096 [nginx-ktls-libra]=8097)
# NAME-timed: the instance NAME (a Libra one), measured with libra.ko's
# time_stats on for its runs and back to TIME_STATS after: their clock reads'
# cost, side by side with NAME's runs
for c in $CONFIGS; do
	[[ $c == *-libra-timed ]] && PORT[$c]=${PORT[${c%-timed}]}
done
# The HTTPS configurations: the same crypto (TLS 1.3, AES-GCM-128) in all
# three, so nginx-ktls-libra against nginx-ktls-stock is Libra's difference.
TLS_COMMON="ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;"
declare -A NGINX_TLS_OF=([nginx-tls]="$TLS_COMMON"
			 [nginx-ktls-stock]="$TLS_COMMON ssl_conf_command Options KTLS;"
			 [nginx-ktls-libra]="$TLS_COMMON ssl_conf_command Options KTLS;")
https=0
for c in $CONFIGS; do [[ -n ${NGINX_TLS_OF[$c]:-} ]] && https=1; done
# copycount counts kernel TLS's copies from user memory only if the tls
# module is there when it loads
((https == 0)) || { load_ktls; tls_cert; }
declare -A PIDS=()

# NOW: seconds since the start, to the millisecond (the t= of every line)
T0=${EPOCHREALTIME/./}
now() { local ms=$(( (${EPOCHREALTIME/./} - T0) / 1000 )); printf -v NOW '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
stage() { now; emit "kind=stage name=$1 t=$NOW"; }
stage start
# ---- the byte counter ----
# One copycount process for the whole run. Loading it and its self-test
# (against known transfers) take seconds here, so both run while the servers
# start; the self-test's verdict is read before any measurement.
coproc CC { "$COPYCOUNT" serve 2>&1; }
echo selftest >&"${CC[1]}"
# cc COMMAND ARGS...: prints the reply lines (up to "end" or "ok")
cc() {
	echo "$*" >&"${CC[1]}"
	cc_reply "$*"
}
cc_reply() {
	local line
	while read -r -t 120 line <&"${CC[0]}"; do
		[[ $line == end || $line == ok ]] && return 0
		echo "$line"
	done
	fail "copycount stopped answering ($1)"
}
copycount_check() {
	local ready
	read -r -t 300 ready <&"${CC[0]}" || fail "copycount did not start"
	[[ $ready == ready* ]] || fail "copycount: $ready"
	cc_reply selftest > "$WORK/selftest.out"
	local passed=0
	while IFS= read -r line; do
		emit "kind=selftest line=${line// /_}"
		echo "$line"
		[[ $line == "copycount selftest: PASSED" ]] && passed=1
	done < "$WORK/selftest.out"
	((passed)) || fail "copycount selftest"
	cc detach	# attached only during accounting passes, never during timed runs
	stage selftest-done
}
# ---- platform (few processes: each costs a few hundred ms here) ----
platform_info() {
	local kernel cpu=? vcpus=0 erms=no key value pkg version
	read -r kernel < /proc/sys/kernel/osrelease
	emit "kind=info key=kernel value=$kernel"
	while IFS=: read -r key value; do
		case $key in
		"model name"*) cpu=${value# } ;;
		processor*) vcpus=$((vcpus + 1)) ;;
		flags*) [[ " $value " == *" erms "* ]] && erms=yes ;;
		esac
	done < /proc/cpuinfo
	emit "kind=info key=cpu value=${cpu// /_}"
	emit "kind=info key=vcpus value=$vcpus"
	emit "kind=info key=erms value=$erms"
	# the Debian packages the binaries come from
	dpkg-query -W -f '${Package} ${Version}\n' nginx haproxy wrk curl > "$WORK/versions" 2>&1 || true
	while read -r pkg version; do
		emit "kind=info key=$pkg value=$version"
	done < "$WORK/versions"
	emit "kind=info key=mode value=$BENCH_MODE"
	emit "kind=info key=duration_s value=$DURATION"
	emit "kind=info key=reps value=$REPS"
	emit "kind=info key=sizes value=${SIZES// /,}"
	emit "kind=info key=methods value=${METHODS// /,}"
	emit "kind=info key=conns value=${CONNS// /,}"
	emit "kind=info key=configs value=${CONFIGS// /,}"
	emit "kind=info key=time_stats value=$TIME_STATS"
}
if [[ $SELFTEST_ONLY == 1 ]]; then platform_info; copycount_check; emit "kind=end"; return 0; fi

# ---- servers ----

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
	log_format acct '\$request_length \$bytes_sent \$body_bytes_sent \$content_length \$arg_acct';
	map \$arg_acct \$acct { default 1; "" 0; }
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

# Records the instance's pids (for nginx the master and its workers) and its
# configuration file, shown with $DIR and $PORT for its directory and port:
# stock and Libra instances come from the same lib.sh function, so the files
# must be identical after that (the report checks).
bench_proxy_started() { # name
	local name=$1 dir=${PROXY_CONF%/*} pids=$PROXY_PID line
	if [[ $name == nginx-* ]]; then
		local -a workers=()
		for _ in {1..100}; do
			read -r -a workers < "/proc/$PROXY_PID/task/$PROXY_PID/children" || true
			((${#workers[@]} >= 2)) && break
			sleep 0.1
		done
		((${#workers[@]} >= 2)) || fail "$name: its workers did not start"
		pids+=" ${workers[*]}"
	fi
	PIDS[$name]=$pids
	while IFS= read -r line; do
		line=${line//"$dir"/'$DIR'}
		echo "LIBRA-BENCH-CONF: $name| ${line//"127.0.0.1:${PORT[$name]}"/'127.0.0.1:$PORT'}"
	done < "$PROXY_CONF"
}
# Starts an instance in the background (starting a process takes long here,
# so all of them start at once): START_FN args... as lib.sh's function.
declare -A STARTING=()
start_bg() { # name function args...
	local name=$1; shift
	( "$@"; echo "$PROXY_PID $PROXY_CONF" > "$WORK/started-$name" ) &
	STARTING[$name]=$!
}
# Waits for every background start; fails if one failed.
wait_started() {
	local name
	for name in "${!STARTING[@]}"; do
		wait "${STARTING[$name]}" || fail "starting $name failed"
		[[ $name == backend || $name == libra ]] && continue
		read -r PROXY_PID PROXY_CONF < "$WORK/started-$name"
		bench_proxy_started "$name"
	done
}

# The cost to traffic that is not opted in (bench/run --idle-cost): the same
# direct client-backend pair with libra.ko not loaded (direct-unloaded), and
# loaded with another process opted in (direct), where every TCP send and
# receive in the guest passes libra's ftrace callbacks and its opt-in match.
# The module is unloaded and loaded again between the runs, so no Libra
# proxy may run alongside.
IDLE_COST=0 IDLE_PID= MODULE_LOADED=0
for c in $CONFIGS; do
	[[ $c == direct-unloaded ]] && IDLE_COST=1
done
if ((IDLE_COST)); then
	for c in $CONFIGS; do
		[[ $c == direct || $c == direct-unloaded ]] || fail "direct-unloaded runs only beside direct, not $c"
	done
fi
# module_state loaded|unloaded: libra.ko with the parser attached and the
# idle process opted in, or no libra.ko
module_state() {
	if [[ $1 == loaded ]] && ((!MODULE_LOADED)); then
		libra_load time_stats=$TIME_STATS; libra_attach_parser
		[[ -z $IDLE_PID ]] || "$DEVCTL" enable "$IDLE_PID" desc
		MODULE_LOADED=1
	elif [[ $1 == unloaded ]] && ((MODULE_LOADED)); then
		[[ -z $IDLE_PID ]] || "$DEVCTL" disable "$IDLE_PID"
		libra_unload
		MODULE_LOADED=0
	fi
}

bench_backend &
STARTING[backend]=$!
( libra_load time_stats=$TIME_STATS; libra_attach_parser ) &
STARTING[libra]=$!
MODULE_LOADED=1
start_tls_nginx() { # name: start_nginx_proxy with that configuration's TLS
	NGINX_TLS=${NGINX_TLS_OF[$1]} start_nginx_proxy "${PORT[$1]}" "${PORT[direct]}" "$1" "$NGINX_EXTRA"
}
for c in $CONFIGS; do
	case $c in
	direct|direct-unloaded) ;;
	*-libra-timed) [[ " $CONFIGS " == *" ${c%-timed} "* ]] || fail "$c needs ${c%-timed} in the configurations" ;;
	nginx-stock|nginx-libra) start_bg "$c" start_nginx_proxy "${PORT[$c]}" "${PORT[direct]}" "$c" "$NGINX_EXTRA" ;;
	nginx-tls|nginx-ktls-*) start_bg "$c" start_tls_nginx "$c" ;;
	haproxy-stock|haproxy-libra)
		start_bg "$c" start_haproxy_proxy "${PORT[$c]}" "${PORT[direct]}" "$c" "" "$HAPROXY_GLOBAL" ;;
	haproxy-splice)
		start_bg "$c" start_haproxy_proxy "${PORT[$c]}" "${PORT[direct]}" "$c" "$SPLICE_OPTIONS" "$HAPROXY_GLOBAL" ;;
	*) fail "unknown configuration $c" ;;
	esac
done
platform_info	# meanwhile
make_bodies $SIZES
wait_started
stage servers-up
# Opt-in before any traffic: Libra adopts connections only from their start.
proxies=()
if ((IDLE_COST)); then
	# the process opted in: never sends or receives a byte
	sleep 1000000 &
	IDLE_PID=$!
	"$DEVCTL" enable "$IDLE_PID" desc
	emit "kind=info key=idle_optin value=$IDLE_PID"
fi
for c in $CONFIGS; do
	[[ $c == *-libra-timed ]] && PIDS[$c]=${PIDS[${c%-timed}]}
	[[ $c == direct || $c == direct-unloaded || $c == *-timed ]] && continue
	proxies+=("$c")
	read -r -a p <<< "${PIDS[$c]}"
	[[ $c == *-libra ]] && "$DEVCTL" enable "${p[0]}" desc
done
stage proxies-up
copycount_check
"$DEVCTL" version > "$WORK/version"; read -r libra_version < "$WORK/version"
emit "kind=info key=libra value=${libra_version// /,}"
"$DEVCTL" list > "$WORK/optin"; mapfile -t optin < "$WORK/optin"
optin=("${optin[@]// /,}"); IFS=';'; emit "kind=info key=optin value=${optin[*]};"; unset IFS
for c in $CONFIGS; do pids=${PIDS[$c]:-}; emit "kind=pids config=$c pids=${pids// /,}"; done

# ---- measurement helpers (pure bash where it can: a process costs a few
# hundred ms under emulation) ----
# TICKS: utime+stime of the given processes in clock ticks
ticks_of() {
	local p line
	local -a f
	TICKS=0
	for p in "$@"; do
		read -r line 2>/dev/null < "/proc/$p/stat" || continue
		read -r -a f <<< "${line##*) }"
		TICKS=$((TICKS + f[11] + f[12]))
	done
}
busy_ticks() { # BUSY: all CPUs: user nice system irq softirq steal
	local -a f
	read -r -a f < /proc/stat
	BUSY=$((f[1] + f[2] + f[3] + f[6] + f[7] + f[8]))
}
HZ=$(getconf CLK_TCK)

url_of() { # config method size: sets URL
	local scheme=http
	[[ -n ${NGINX_TLS_OF[$1]:-} ]] && scheme=https
	if [[ $2 == GET ]]; then URL=$scheme://127.0.0.1:${PORT[$1]}/$3; else URL=$scheme://127.0.0.1:${PORT[$1]}/upload; fi
}

# wrk's "12.34ms" (us, ms, s, m) as whole microseconds: US
wrk_us() {
	local v=$1 unit num int frac f
	unit=${v##*[0-9]} num=${v%"$unit"}
	case $unit in us) f=1 ;; ms) f=1000 ;; s) f=1000000 ;; m) f=60000000 ;; *) fail "wrk latency $v" ;; esac
	int=${num%.*} frac=
	[[ $num == *.* ]] && frac=${num#*.}
	US=$(( 10#$int * f + 10#${frac:-0} * f / 10 ** ${#frac} ))
}
# X/Y to one decimal (both integers, Y > 0): Q
quot1() { local x10=$(( $1 * 10 / $2 )); Q=$((x10 / 10)).$((x10 % 10)); }

# One timed wrk run.
timed_run() { # config method size conns rep
	local cfg=$1 method=$2 size=$3 conns=$4 rep=$5 out=$WORK/wrk.out
	local -a pids=(${PIDS[$cfg]:-}) args=(-t 1 -c "$conns" -d "${DURATION}s" --timeout 60s --latency)
	[[ $method == POST ]] && args+=(-s "$POST_LUA")
	url_of "$cfg" "$method" "$size"
	if ((IDLE_COST)); then
		if [[ $cfg == direct-unloaded ]]; then module_state unloaded; else module_state loaded; fi
	fi
	local c0 s0 libra=0
	# Libra's counters around a Libra cell (global, but only this
	# configuration has traffic now): its timing stats give the module's
	# share of the CPU time per request, split by where it goes
	[[ $cfg == *-libra || $cfg == *-libra-timed ]] && libra=1
	if ((libra)); then
		local timed=$TIME_STATS
		[[ $cfg == *-timed ]] && timed=1
		echo "$timed" > /sys/module/libra/parameters/time_stats
	fi
	((libra)) && "$DEVCTL" stats > "$WORK/run-stats0"
	ticks_of "${pids[@]}"; busy_ticks; c0=$TICKS s0=$BUSY
	BENCH_BODY_FILE=$WORK/www/$size wrk "${args[@]}" "$URL" > "$out" 2>&1 \
		|| fail "wrk $cfg $method $size: $(cat "$out")"
	ticks_of "${pids[@]}"; busy_ticks; now
	((libra)) && "$DEVCTL" stats > "$WORK/run-stats1"
	local n=0 rps=NA p50=0 p99=0 err=0 a b c rest pcpu=NA scpu=NA
	while read -r a b c rest; do
		case $a in
		50%) wrk_us "$b"; p50=$US ;;
		99%) wrk_us "$b"; p99=$US ;;
		Requests/sec:) rps=$b ;;
		Socket|Non-2xx) err=1 ;;
		esac
		[[ $b == requests && $c == in ]] && n=$a
	done < "$out"
	if ((n > 0)); then
		quot1 $(( (BUSY - s0) * 1000000 / HZ )) "$n"; scpu=$Q
		((${#pids[@]} > 0)) && { quot1 $(( (TICKS - c0) * 1000000 / HZ )) "$n"; pcpu=$Q; }
	fi
	# the module's counters that matter for time: libra_NAME=delta (totals, not per request)
	local mod= name value
	if ((libra)); then
		local -A m0=()
		while read -r name value; do m0[$name]=$value; done < "$WORK/run-stats0"
		while read -r name value; do
			[[ $name == time_*_ns || $name == *msg_engaged || $name == bytes_anchored ||
			   $name == bytes_zero_copy_sent || $name == messages_parsed ]] || continue
			mod+=" libra_$name=$((value - ${m0[$name]:-0}))"
		done < "$WORK/run-stats1"
	fi
	emit "kind=run config=$cfg method=$method size=$size conns=$conns rep=$rep requests=$n rps=$rps p50_us=$p50 p99_us=$p99 proxy_cpu_us_per_req=$pcpu sys_cpu_us_per_req=$scpu errors=$err t=$NOW$mod"
	((err == 0)) || { cat "$out"; fail "wrk saw errors for $cfg $method $size c$conns"; }
}

# Accounting for some configurations at one method and size: exactly K
# requests to each, one after the other over one connection per
# configuration, from one curl (a process costs much here); the bytes each
# configuration's proxy processes copied across the user/kernel boundary
# meanwhile (copycount, attached by the caller, counts per process), the
# metadata bytes on both sides (curl's own counts on the client side, the
# backend's access log on the upstream side), the last GET body of each
# compared with the original; for a group of one, the change in Libra's
# counters (they are global).
account() { # method size config...
	local method=$1 size=$2 k i j cfg; shift 2
	local -a cfgs=("$@") all_pids=()
	k=$((8 * 1048576 / size)); ((k > ACCT_MAX)) && k=$ACCT_MAX; ((k < 3)) && k=3
	local -a curl_args=(-s -H 'Expect:' -w '%{size_request} %{size_header} %{size_upload} %{size_download} %{http_code}\n')
	((https == 0)) || curl_args+=(--cacert "$TLS_DIR/cert.pem")
	[[ $method == POST ]] && curl_args+=(--data-binary "@$WORK/www/$size")
	# ?acct=N (N: the configuration's place in the group) is what the
	# backend logs; as long as the ?acct=1 of a single configuration
	local -A group=()
	for ((j = 1; j <= ${#cfgs[@]}; j++)); do
		cfg=${cfgs[j - 1]} group[$j]=$cfg
		url_of "$cfg" "$method" "$size"
		for ((i = 1; i < k; i++)); do curl_args+=("$URL?acct=$j&i=$i" -o /dev/null); done
		: > "$WORK/got-$cfg"
		curl_args+=("$URL?acct=$j&i=$k" -o "$WORK/got-$cfg")
		all_pids+=(${PIDS[$cfg]:-})
	done
	: > "$WORK/backend/logs/acct.log"
	"$DEVCTL" stats > "$WORK/stats0"
	((${#all_pids[@]} == 0)) || cc reset "${all_pids[@]}"
	curl "${curl_args[@]}" > "$WORK/curl.out" || fail "accounting pass ${cfgs[*]} $method $size: curl failed"
	for cfg in "${cfgs[@]}"; do
		: > "$WORK/cc-$cfg"
		[[ -n ${PIDS[$cfg]:-} ]] && cc read ${PIDS[$cfg]} > "$WORK/cc-$cfg"
	done
	"$DEVCTL" stats > "$WORK/stats1"
	((${#all_pids[@]} == 0)) || cc untrack "${all_pids[@]}"
	local -a logged=()
	for _ in {1..50}; do
		mapfile -t logged < "$WORK/backend/logs/acct.log"
		((${#logged[@]} >= k * ${#cfgs[@]})) && break
		sleep 0.1
	done
	local verified=NA
	if [[ $method == GET ]]; then
		local -a sums
		md5sum "$WORK/www/$size" "${cfgs[@]/#/$WORK/got-}" > "$WORK/md5" || fail "md5sum"
		mapfile -t sums < "$WORK/md5"
		for ((i = 1; i < ${#sums[@]}; i++)); do
			[[ ${sums[i]%% *} == "${sums[0]%% *}" ]] || fail "${cfgs[i - 1]}: the body of /$size differs"
		done
		verified=md5
	fi
	# Libra's counters that moved (levels and limits left out)
	local deltas= name value
	if ((${#cfgs[@]} == 1)); then
		local -A before=()
		while read -r name value; do before[$name]=$value; done < "$WORK/stats0"
		while read -r name value; do
			[[ -n ${before[$name]:-} && $value != "${before[$name]}" ]] || continue
			[[ $name =~ _now$|_peak$|_limit$|optin|tracked|in_flight ]] && continue
			deltas+=" libra_$name=$((value - before[$name]))"
		done < "$WORK/stats1"
	fi
	# Client side, per response in order: request bytes, header bytes, upload
	# bytes, body bytes, status. curl's size_request includes the upload only
	# when it went out with the headers (small bodies); larger ones are
	# streamed and not in it.
	local -a responses
	mapfile -t responses < "$WORK/curl.out"
	((${#responses[@]} == k * ${#cfgs[@]})) || fail "accounting pass ${cfgs[*]} $method $size: ${#responses[@]} responses"
	local -A n=() rq=() rs=() un=() urq=() urs=()
	local a b c d e line
	for ((i = 0; i < ${#responses[@]}; i++)); do
		cfg=${cfgs[i / k]}
		read -r a b c d e <<< "${responses[i]}"
		[[ $e == 200 ]] || fail "accounting pass $cfg $method $size: status $e"
		n[$cfg]=$(( ${n[$cfg]:-0} + 1 )) rs[$cfg]=$(( ${rs[$cfg]:-0} + b ))
		rq[$cfg]=$(( ${rq[$cfg]:-0} + (a > c ? a - c : a) ))
	done
	# Upstream side, the backend's log: request length, bytes sent, body
	# bytes sent, Content-Length of the request, place in the group.
	for line in "${logged[@]}"; do
		read -r a b c d j <<< "$line"
		cfg=${group[$j]:-?}
		[[ $d == - ]] && d=0
		un[$cfg]=$(( ${un[$cfg]:-0} + 1 )) urq[$cfg]=$(( ${urq[$cfg]:-0} + a - d )) urs[$cfg]=$(( ${urs[$cfg]:-0} + b - c ))
	done
	now
	local copies word
	local -a words
	local -A sum
	for cfg in "${cfgs[@]}"; do
		copies="to_user_bytes=NA from_user_bytes=NA"
		if [[ -n ${PIDS[$cfg]:-} ]]; then
			sum=([to_user_bytes]=0 [from_user_bytes]=0 [to_user_calls]=0 [from_user_calls]=0)
			while read -r -a words; do
				for word in "${words[@]:1}"; do sum[${word%%=*}]=$(( ${sum[${word%%=*}]:-0} + ${word#*=} )); done
			done < "$WORK/cc-$cfg"
			copies="to_user_bytes=${sum[to_user_bytes]} from_user_bytes=${sum[from_user_bytes]}"
			copies+=" to_user_calls=${sum[to_user_calls]} from_user_calls=${sum[from_user_calls]}"
		fi
		emit "kind=copy config=$cfg method=$method size=$size reqs=${n[$cfg]} meta_client_req=${rq[$cfg]}" \
		     "meta_client_resp=${rs[$cfg]} upstream_reqs=${un[$cfg]:-0} meta_upstream_req=${urq[$cfg]:-0}" \
		     "meta_upstream_resp=${urs[$cfg]:-0} $copies verified=$verified t=$NOW$deltas"
	done
}

# ---- the sweep ----
read -r -a sizes <<< "$SIZES"; read -r -a methods <<< "$METHODS"
read -r -a conns_list <<< "$CONNS"; read -r -a configs <<< "$CONFIGS"
stock_configs=() libra_configs=()
for cfg in "${configs[@]}"; do
	if [[ $cfg == *-timed ]]; then continue	# its instance is accounted for under its own name
	elif [[ $cfg == *-libra ]]; then libra_configs+=("$cfg"); else stock_configs+=("$cfg"); fi
done
total=$(( ${#sizes[@]} * ${#methods[@]} * ${#conns_list[@]} * REPS * ${#configs[@]} ))
emit "kind=plan runs=$total accounting=$(( ${#sizes[@]} * ${#methods[@]} * ${#configs[@]} ))"
for size in "${sizes[@]}"; do
	for method in "${methods[@]}"; do
		if ((!IDLE_COST)); then	# no proxy there to count copies of
			cc attach	# never during timed runs
			# the configurations without Libra in one pass, each with Libra alone
			((${#stock_configs[@]} == 0)) || account "$method" "$size" "${stock_configs[@]}"
			for cfg in "${libra_configs[@]}"; do account "$method" "$size" "$cfg"; done
			cc detach
		fi
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
module_state loaded
"$DEVCTL" stats > "$WORK/stats.end"
while read -r name value; do emit "kind=libra-total name=$name value=$value"; done < "$WORK/stats.end"
for name in "${proxies[@]}"; do
	read -r -a p <<< "${PIDS[$name]}"
	[[ $name == *-libra ]] && "$DEVCTL" disable "${p[0]}"
	kill "${p[0]}"	# nginx's master and HAProxy stop on SIGTERM
done
for _ in {1..100}; do
	alive=0
	for c in "${proxies[@]}"; do
		for p in ${PIDS[$c]}; do [[ -d /proc/$p ]] && alive=1; done
	done
	((alive)) || break
	sleep 0.1
done
((alive == 0)) || fail "proxies still running 10 s after SIGTERM"
[[ -z $IDLE_PID ]] || { "$DEVCTL" disable "$IDLE_PID"; kill "$IDLE_PID"; }
wait_anchors_released
emit "kind=info key=anchors_after_stop value=$(stat_of anchors_now)"
echo quit >&"${CC[1]}"
emit "kind=end"
