# Where a proxy's CPU goes, stock nginx against nginx + Libra (issue 7's
# "the profile shows why"); run it by hand, it is not a test:
#   tests/guest/run-guest --kernel K --src . --build B --scenario bench-perf
# perf's hardware events do not exist under emulation, its software clock
# does: perf record -e cpu-clock samples the whole guest while wrk runs. Per
# configuration and body size: requests, the proxy's CPU time per request
# (utime+stime of its workers), TCP segments sent in the guest per request
# (nstat: both hops and their ACKs), and the proxy workers' hottest functions
# (self time) and call paths (with children), as shares of all samples, and
# their samples as milliseconds per request by system call and what runs
# under it (bench/perf-split.awk: what the copies cost stock, what libra adds);
# then wrk straight to the backend, not opted in, for the share of all
# samples in libra's hooks (the ftrace trampolines, with children).
# Timings here are emulated (README: what emulation does to them).
source "$LIBRA_SRC/tests/guest/lib.sh"
set +o pipefail	# perf report | head

command -v perf > /dev/null || fail "perf is not installed (apt-get install linux-perf)"
make_bodies 1048576 65536 1024
start_backend 8081
libra_load
libra_attach_parser
start_nginx_proxy 8080 8081 nginx-stock
stock=$PROXY_PID
start_nginx_proxy 8090 8081 nginx-libra
libra=$PROXY_PID
"$DEVCTL" enable "$libra" desc || fail "opt-in of nginx"

# CPU ticks (utime + stime) of the children of $1
worker_ticks() {
	local t=0 pid f
	for pid in $(pgrep -P "$1"); do
		read -ra f < "/proc/$pid/stat"
		t=$((t + f[13] + f[14]))
	done
	echo "$t"
}

hz=$(getconf CLK_TCK)
clock_read=read_$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
for size in 1048576 65536 1024; do
	for cfg in stock libra; do
		port=8080 master=$stock
		[[ $cfg == libra ]] && port=8090 master=$libra
		nstat -n
		t0=$(worker_ticks "$master")
		perf record -q -a -g -e cpu-clock -F 1000 -o "$WORK/perf.data" -- \
			wrk -t1 -c1 -d8s "http://127.0.0.1:$port/$size" > "$WORK/wrk" 2>&1 || fail "wrk"
		t1=$(worker_ticks "$master")
		req=$(awk '/requests in/ {print $1}' "$WORK/wrk")
		((req > 0)) || fail "no requests: $(cat "$WORK/wrk")"
		segs=$(nstat -z TcpOutSegs | awk '/TcpOutSegs/ {print $2}')
		# the proxy's workers only: the backend is an nginx too
		workers=$(pgrep -d, -P "$master")
		echo "### nginx $cfg, GET $size: $req requests in 8 s; its workers' CPU $(((t1 - t0) * 1000000 / hz / req)) us/request;" \
			"$((segs / req)) TCP segments sent in the guest per request"
		echo "#### the proxy workers' hottest functions (self, % of all samples)"
		perf report -i "$WORK/perf.data" --pid "$workers" --no-children --sort sym --stdio -g none 2>/dev/null \
			| grep '%' | head -25 || true
		echo "#### the proxy workers' call paths (with children, % of all samples)"
		perf report -i "$WORK/perf.data" --pid "$workers" --children --sort sym --stdio -g none 2>/dev/null \
			| grep '%' | grep -v '\] 0x' > "$WORK/paths" || true
		head -40 "$WORK/paths"
		# under emulation the clocksource is an emulated device (hpet), every
		# read an exit to the emulator: who reads it (epoll_wait's timeout,
		# TCP's timestamps) shows where a configuration pays for that
		echo "#### who reads the clock ($clock_read, self % of all samples, by caller)"
		perf report -i "$WORK/perf.data" --pid "$workers" --no-children --sort sym -S "$clock_read" \
			--stdio -g graph,1,callee,function,percent --max-stack 12 2>/dev/null \
			| grep -v '^#' | grep -E '[0-9]%' | head -40 || true
		echo "#### the workers' time per request, by system call and what runs under it"
		perf script -i "$WORK/perf.data" --pid "$workers" -F comm,ip,sym 2>/dev/null \
			| awk -v req="$req" -v hz=1000 -f "$LIBRA_SRC/bench/perf-split.awk" || true
		[[ $cfg == libra ]] || continue
		echo "#### libra's own functions and its parser (with children, % of all samples)"
		grep -E '\] (libra_|bpf_prog_)' "$WORK/paths" | head -30 || true
	done
done
# What the hooks cost traffic that is not opted in (issue 16): wrk straight
# to the backend, nginx + Libra opted in and idle. Every TCP send and receive
# of wrk and the backend passes libra's ftrace callbacks through their
# trampolines: the trampolines' share with children is all of it.
for size in 1024 1048576; do
	perf record -q -a -g -e cpu-clock -F 1000 -o "$WORK/perf.data" -- \
		wrk -t1 -c1 -d8s "http://127.0.0.1:8081/$size" > "$WORK/wrk" 2>&1 || fail "wrk"
	req=$(awk '/requests in/ {print $1}' "$WORK/wrk")
	((req > 0)) || fail "no requests: $(cat "$WORK/wrk")"
	echo "### direct to the backend, not opted in (another process is), GET $size: $req requests in 8 s"
	echo "#### the ftrace trampolines and libra's callbacks (with children, % of all samples)"
	# one report: its columns are the share with children and the self share
	perf report -i "$WORK/perf.data" --children --sort sym --stdio -g none 2>/dev/null \
		| grep '%' > "$WORK/report" || true
	grep -E 'ftrace_|libra_' "$WORK/report" | head -12 || true
	# the guest's idle loop is sampled too (self share): the hooks' share of its busy time as well
	awk '$NF == "ftrace_trampoline" { sub("%", "", $1); t += $1 }
	     $NF ~ /^(default_idle|pv_native_safe_halt|native_safe_halt|acpi_idle_do_entry|poll_idle)$/ { sub("%", "", $2); i += $2 }
	     END { printf "#### hooks in all: %.2f%% of all samples, %.2f%% of the busy ones (idle %.1f%%)\n", t, i < 100 ? t * 100 / (100 - i) : 0, i }' \
		"$WORK/report"
done
echo "### libra's counters"
"$DEVCTL" stats
"$DEVCTL" disable "$libra"
libra_unload
