# Issue 13 item 6: counters tell the truth. A soak through a lossy link: netem
# on the loopback (delay with jitter, loss, duplication, reordering: every
# connection's both directions), Debian's nginx (default buffering) and
# HAProxy (mode http, no splicing) side by side in front of tools/backend.py,
# each with its own clients for SOAK_SECONDS (two Python clients and a curl
# loop a proxy): keep-alive and "Connection: close" connections, GETs of
# 16 KiB to 2 MiB with a Content-Length, chunked and close-delimited
# upstream, POST (Content-Length) and PUT (chunked) uploads of the same
# sizes; one answer in four the backend follows with its FIN at once, so the
# proxies read a FIN right behind a body. Every body is checked by sha256 and
# length where it arrives (the client for GETs, the backend for uploads),
# first with Libra off (the module loaded and the parser attached, the
# proxies not opted in), then with fresh proxies opted in. About 4 minutes
# of guest time for 60-second passes (SOAK_SECONDS).
#
# With Libra on: no body differs, no request fails, Libra engaged
# (anchored and sent zero-copy), no token rejected or refused,
# fallback_desync stays 0 (no byte is consumed or sent behind libra's back
# in this traffic: a FIN read or sent is not such a byte), anchored memory
# back to 0 afterwards, nothing from libra at warning level in the kernel
# log. Every fallback counter, parser_errors, tokens_refused and tx_resets
# are printed per pass and per proxy, every socket seen stepped aside with
# its reason (libra-devctl sockets, sampled each second), and every
# step-aside as a kprobe on libra_dir_step_aside saw it: reason, direction,
# the check that stepped aside, and the socket's sequence numbers then (the
# counters are the authority: a step-aside decided inside dir.c may be
# inlined there and escape the probe; those of the desync checks, in rx.c,
# tx.c and tx_scan.c, cannot).
source "$LIBRA_SRC/tests/guest/lib.sh"
source "$LIBRA_SRC/tests/guest/soak.inc.sh"

SOAK_SECONDS=${SOAK_SECONDS:-60}
SOAK_NETEM=${SOAK_NETEM:-delay 1ms 1ms loss 1% duplicate 1% reorder 5% 50%}
BACKEND=8083
K=1024 M=1048576
SEED=$((RANDOM * 32768 + RANDOM))
# 16 KiB to 2 MiB: the edges, page and buffer sizes and odd ones, plus three random
sizes=(16384 16385 24576 65535 65536 100000 262144 $((512 * K + 7)) $M 1500000 $((2 * M))
	$((16384 + RANDOM % 49152)) $((65536 + RANDOM * 6)) $((262144 + RANDOM * 50)))
say "sizes: ${sizes[*]}; seed $SEED; $SOAK_SECONDS s a pass; netem: ${SOAK_NETEM:-none}"
soak_make_files "${sizes[@]}"

problems=()
problem() {
	say "PROBLEM: $*"
	problems+=("$*")
}

start_soak_backend "$BACKEND"
libra_load dyndbg=+p
libra_attach_parser
soak_trace_start
[[ $SOAK_NETEM == none ]] || netem_on $SOAK_NETEM
nstat -n >/dev/null 2>&1 || true

# counters printed for every pass: the fallbacks and what else says a
# connection did not take the zero-copy path
shown=(parser_errors tokens_rejected tokens_refused tokens_unframed tx_resets tx_holds_expired
	regions_cut sockets_reset tls_resets anchors_expired bytes_fallback_copied)

stop_proxy_pid() { # stop_proxy_pid PID NAME
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	fail "$2 (pid $1) did not stop"
}

# soak_pass MODE NGINX_PORT HAPROXY_PORT
soak_pass() {
	local mode=$1 nport=$2 hport=$3 c rc=0 line
	local -A before=() after=()
	start_nginx_proxy "$nport" "$BACKEND" "nginx-$mode" "client_max_body_size 64m;"
	NGINX_PID=$PROXY_PID
	start_haproxy_proxy "$hport" "$BACKEND" "haproxy-$mode"
	HAPROXY_PID=$PROXY_PID
	if [[ $mode == on ]]; then
		"$DEVCTL" enable "$NGINX_PID" desc || fail "opt-in of nginx"
		"$DEVCTL" enable "$HAPROXY_PID" desc || fail "opt-in of haproxy"
		soak_sampler_start "$WORK/asides.$mode"
	fi
	stats_into before
	netem_report "[$mode] before"
	say "[$mode] soak: $SOAK_SECONDS s through nginx (:$nport, pid $NGINX_PID) and HAProxy (:$hport, pid $HAPROXY_PID)"
	soak_curl_loop "$SOAK_SECONDS" "$nport" "$WORK/curl-nginx.$mode" &
	local curl_n=$!
	soak_curl_loop "$SOAK_SECONDS" "$hport" "$WORK/curl-haproxy.$mode" &
	local curl_h=$!
	stall_watch $((SOAK_SECONDS + 120)) soak_drive "$SOAK_SECONDS" "$SEED" "$WORK/failures.$mode" \
		"nginx:$nport:2" "haproxy:$hport:2" || rc=$?
	wait "$curl_n" || true
	wait "$curl_h" || true
	((rc == 0)) || { cat "$WORK/failures.$mode"; problem "Libra $mode: $(wc -l < "$WORK/failures.$mode") requests of the driver failed or differ (above)"; }
	for c in nginx haproxy; do
		line=$(tail -n 1 "$WORK/curl-$c.$mode")
		say "[$mode] curl through $c: $line"
		[[ $line == "requests "*" failures 0" ]] || { cat "$WORK/curl-$c.$mode"; problem "Libra $mode: curl through $c: $line"; }
	done
	netem_report "[$mode] after"
	stats_into after
	if [[ $mode == on ]]; then
		soak_sampler_stop
		say "[$mode] per proxy (its opt-in entry's counters):"
		for c in nginx haproxy; do
			local pid_var=${c^^}_PID
			echo "  $c: $("$DEVCTL" entry-stats "${!pid_var}" | awk '$1 ~ /^(fallback_|parser_errors|tokens_re|tx_resets|bytes_anchored|bytes_zero_copy_sent|bytes_materialized|regions_cut|messages_parsed)/ { printf "%s=%s ", $1, $2 }')"
		done
		say "[$mode] sockets seen stepped aside (sampled each second; last state of each):"
		soak_sampler_report "$WORK/asides.$mode" | sed 's/^/  /'
		say "[$mode] sockets tracked now:"
		"$DEVCTL" sockets | sed 's/^/  /'
	fi
	say "[$mode] counters over the pass (after - before):"
	local out=""
	for c in "${!after[@]}"; do
		[[ $c == fallback_* || " ${shown[*]} " == *" $c "* || $c == bytes_anchored || $c == bytes_zero_copy_sent ||
			$c == messages_parsed || $c == bytes_materialized ]] || continue
		out+="  $c=$((after[$c] - before[$c]))"$'\n'
	done
	sort <<< "$out" | grep -v '^$'
	PASS_DESYNC=$((after[fallback_desync] - before[fallback_desync]))
	PASS_ANCHORED=$((after[bytes_anchored] - before[bytes_anchored]))
	PASS_ZC=$((after[bytes_zero_copy_sent] - before[bytes_zero_copy_sent]))
	PASS_PARSED=$((after[messages_parsed] - before[messages_parsed]))
	PASS_REJECTED=$((after[tokens_rejected] - before[tokens_rejected]))
	PASS_REFUSED=$((after[tokens_refused] - before[tokens_refused]))
	if [[ $mode == on ]]; then
		local released=
		for _ in $(seq 250); do
			if [[ $(stat_of anchored_bytes_now) == 0 && $(stat_of anchors_now) == 0 ]]; then
				released=1
				break
			fi
			sleep 0.1
		done
		if [[ -n $released ]]; then
			say "[$mode] anchored memory back to 0"
		else
			problem "Libra $mode: anchored memory not released 25 s after the traffic:" \
				"anchored_bytes_now $(stat_of anchored_bytes_now), anchors_now $(stat_of anchors_now)"
		fi
		"$DEVCTL" disable "$NGINX_PID" || true
		"$DEVCTL" disable "$HAPROXY_PID" || true
	fi
	stop_proxy_pid "$NGINX_PID" nginx
	stop_proxy_pid "$HAPROXY_PID" haproxy
}

t0=$SECONDS
soak_pass off 8080 8081
say "Libra off: the pass took $((SECONDS - t0)) s"
((PASS_PARSED == 0 && PASS_ANCHORED == 0 && PASS_ZC == 0)) \
	|| problem "Libra off: libra's data path moved (messages_parsed $PASS_PARSED, bytes_anchored $PASS_ANCHORED, zero-copy $PASS_ZC)"
((PASS_DESYNC == 0)) || problem "Libra off: fallback_desync moved by $PASS_DESYNC"

t0=$SECONDS
soak_pass on 8090 8091
say "Libra on: the pass took $((SECONDS - t0)) s"
((PASS_ANCHORED > 0 && PASS_ZC > 0)) || problem "Libra on: not engaged (anchored $PASS_ANCHORED, zero-copy $PASS_ZC)"
((PASS_REJECTED == 0)) || problem "Libra on: $PASS_REJECTED tokens rejected"
((PASS_REFUSED == 0)) || problem "Libra on: $PASS_REFUSED tokens refused (connections reset) on honest traffic"
((PASS_DESYNC == 0)) || problem "Libra on: fallback_desync counted $PASS_DESYNC step-asides (nothing consumed or sent behind libra's back here)"

netem_off
soak_trace_stop
say "every step-aside, as the kprobe saw it:"
soak_trace_report
libra_unload
say "libra's lines in the kernel log (its debug lines included):"
dmesg | grep -F 'libra: ' | tail -n 60 || true
# (the out-of-tree module's taint notices aside)
if dmesg -l warn,err,crit,alert,emerg | grep -F 'libra: ' | grep -v -q 'taint'; then
	problem "libra logged at warning level or above (above)"
fi
((${#problems[@]} == 0)) || fail "$(printf '\n  %s' "${problems[@]}")"
say "soak passed: every body byte-exact Libra off and on through a lossy link, fallback_desync 0, anchors released"
