# Helpers for guest scenarios (sourced; runs inside the guest under bash -eu).
# Environment from guest-run: LIBRA_SRC, LIBRA_BUILD, LIBRA_KVER, LIBRA_KO.

DEVCTL=$LIBRA_BUILD/tests/guest/libra-devctl
WORK=/tmp/libra-test
rm -rf "$WORK"	# the overlay shows the host's /tmp: start from nothing
mkdir -p "$WORK"

say() { echo "scenario [${SECONDS}s]: $*"; }
fail() { echo "scenario: FAILED: $*" >&2; exit 1; }

# libra_load [PARAM=VALUE...]: module parameters (dyndbg=+p: its debug lines)
libra_load() {
	say "loading $LIBRA_KO${*:+ $*}"
	insmod "$LIBRA_KO" "$@" || fail "insmod $LIBRA_KO"
	for _ in $(seq 50); do [[ -c /dev/libra ]] && return 0; sleep 0.1; done
	fail "/dev/libra did not appear"
}

# rmmod refuses while a libra handler is running; under load it may take tries.
libra_unload() {
	local tries=${1:-300}
	for ((i = 1; i <= tries; i++)); do
		if rmmod libra 2>/dev/null; then
			say "module unloaded (attempt $i)"
			return 0
		fi
		sleep 0.05
	done
	rmmod libra || fail "module could not be unloaded in $tries attempts"
}

# Take every CPU but CPU 0 offline, for the rest of the scenario. Removing
# libra's hooks patches kernel text: ftrace's call sites, by text_poke_bp()'s
# int3 protocol. Under QEMU's TCG another vCPU running a hooked function at
# that moment can still execute the temporary int3 after the patching is done:
# "Oops: int3" at tcp_recvmsg+0x5, twice on 6.12 during the unload under load,
# and at boot on a static key (sched_clock_cpu) with no module loaded at all.
# Real CPUs keep the protocol. With one CPU the load still runs, and rmmod still
# races it, by preemption.
one_cpu_online() {
	local cpu
	for cpu in /sys/devices/system/cpu/cpu[1-9]*; do
		[[ -w $cpu/online ]] || continue
		echo 0 > "$cpu/online" || fail "cannot take ${cpu##*/} offline"
	done
	say "one CPU online: $(cat /sys/devices/system/cpu/online)"
}

stat_of() { "$DEVCTL" stat "$1"; }

# Files whose names are their sizes, random content, under $WORK/www.
make_bodies() {
	mkdir -p "$WORK/www"
	for size in "$@"; do
		head -c "$size" /dev/urandom > "$WORK/www/$size"
	done
}

# nginx serving $WORK/www on 127.0.0.1:$1, as a backend.
start_backend() {
	local port=$1 dir=$WORK/backend
	mkdir -p "$dir/logs"
	cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	sendfile off;
	server { listen 127.0.0.1:$port; root $WORK/www; }
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" || fail "backend nginx did not start"
	wait_port "$port"
}

# --- TLS ------------------------------------------------------------------------
TLS_DIR=$WORK/tls
# tls_cert: a self-signed ECDSA certificate for 127.0.0.1 and localhost,
# made in the guest: $TLS_DIR/cert.pem, key.pem, and both in combined.pem
# (HAProxy's crt).
tls_cert() {
	mkdir -p "$TLS_DIR"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
		-keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" 2> "$WORK/openssl.log" \
		|| fail "openssl could not make a certificate: $(cat "$WORK/openssl.log")"
	cat "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" > "$TLS_DIR/combined.pem"
	say "self-signed certificate made: $(openssl x509 -noout -subject -in "$TLS_DIR/cert.pem")"
}

# load_ktls: the kernel's tls module and the AES-GCM implementations
# its software path uses. The guest's kernel cannot load them on demand:
# its usermode helper runs /sbin/modprobe in the initramfs, not in the chroot.
load_ktls() {
	modprobe tls || fail "modprobe tls"
	local m
	for m in gcm ghash_generic ghash_clmulni_intel aesni_intel chacha20poly1305; do
		modprobe "$m" 2>/dev/null || say "modprobe $m failed (built in, or not needed)"
	done
	[[ -r /proc/net/tls_stat ]] || fail "no /proc/net/tls_stat after modprobe tls"
	say "kernel TLS loaded: $(tr -s ' \n' ' ' < /proc/net/tls_stat)"
}

# tls_stat NAME: a counter of /proc/net/tls_stat (TlsTxSw: transmit contexts
# the kernel's software TLS has installed since boot).
tls_stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }

# nginx as a reverse proxy on 127.0.0.1:$1 in front of 127.0.0.1:$2
# (instance name $3, default nginx-proxy; $4, directives added to its location).
# $2 may list several upstream servers, "PORT[:PARAM],...": 8085,8083:backup.
# With NGINX_TLS set for the call, it terminates TLS on that port with
# $TLS_DIR's certificate (tls_cert first) and NGINX_TLS's directives added to
# its server (ssl_protocols, ssl_conf_command Options KTLS; ...). Sets
# PROXY_PID (the master) and PROXY_CONF. The benchmark runs its stock and
# Libra instances from here too.
start_nginx_proxy() {
	local port=$1 dir=$WORK/${3:-nginx-proxy} extra=${4:-} servers="" server param
	for server in ${2//,/ }; do
		param=""
		[[ $server == *:* ]] && param=" ${server#*:}"
		servers+="server 127.0.0.1:${server%%:*}$param; "
	done
	mkdir -p "$dir/logs"
	PROXY_CONF=$dir/nginx.conf
	cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
http {
	# as in Debian's /etc/nginx/nginx.conf
	sendfile on;
	tcp_nopush on;
	gzip on;
	access_log off;
	client_max_body_size 16m;	# the benchmark uploads up to 4 MiB
	upstream backend { $servers keepalive 8; }
	server {
		listen 127.0.0.1:$port${NGINX_TLS:+ ssl};
		${NGINX_TLS:+ssl_certificate $TLS_DIR/cert.pem; ssl_certificate_key $TLS_DIR/key.pem; $NGINX_TLS}
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			$extra
		}
	}
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" || fail "proxy nginx did not start"
	wait_port "$port"
	PROXY_PID=$(cat "$dir/nginx.pid")
}

# run_haproxy NAME PORT SERVER: HAProxy in mode http (two threads, Debian's
# defaults otherwise) on 127.0.0.1:PORT, its default backend "be" the one
# server SERVER (an address, 127.0.0.1:8083 or unix@/path, and any server
# parameters), its files under $WORK/NAME. More, as variables for the call:
# HAPROXY_BIND (bind parameters, e.g. "ssl crt FILE"), HAPROXY_GLOBAL,
# HAPROXY_DEFAULTS and HAPROXY_FRONTEND (lines added to those sections),
# HAPROXY_SECTIONS (more sections, e.g. backends), HAPROXY_TIMEOUT (client
# and server timeout, default 30s). Sets PROXY_PID, PROXY_DIR and PROXY_CONF.
run_haproxy() {
	local name=$1 port=$2 server=$3 dir=$WORK/$1
	mkdir -p "$dir"
	cat > "$dir/haproxy.cfg" <<CONF
global
	nbthread 2
	# no CA store for the internal HTTP client (unused): loading it costs seconds here
	httpclient.ssl.verify none
${HAPROXY_GLOBAL:+$(sed 's/^/\t/' <<< "$HAPROXY_GLOBAL")
}defaults
	mode http
	timeout connect 5s
	timeout client ${HAPROXY_TIMEOUT:-30s}
	timeout server ${HAPROXY_TIMEOUT:-30s}
${HAPROXY_DEFAULTS:+$(sed 's/^/\t/' <<< "$HAPROXY_DEFAULTS")
}frontend fe
	bind 127.0.0.1:$port${HAPROXY_BIND:+ $HAPROXY_BIND}
${HAPROXY_FRONTEND:+$(sed 's/^/\t/' <<< "$HAPROXY_FRONTEND")
}	default_backend be
backend be
	server s1 $server
${HAPROXY_SECTIONS:-}
CONF
	haproxy -q -D -p "$dir/haproxy.pid" -f "$dir/haproxy.cfg" 2> "$dir/start.log" \
		|| fail "haproxy $name did not start: $(cat "$dir/start.log")"
	wait_port "$port"
	PROXY_PID=$(head -n 1 "$dir/haproxy.pid") PROXY_DIR=$dir PROXY_CONF=$dir/haproxy.cfg
}

# HAProxy in mode http on 127.0.0.1:$1 in front of 127.0.0.1:$2 (instance
# name $3, default haproxy; $4: extra lines for the defaults section, e.g.
# "option splice-response"; $5: extra lines for the global section, e.g.
# "tune.bufsize 65536"), 10 s timeouts. Sets PROXY_PID and PROXY_CONF.
start_haproxy_proxy() {
	HAPROXY_DEFAULTS=${4:-} HAPROXY_GLOBAL=${5:-} HAPROXY_TIMEOUT=10s run_haproxy "${3:-haproxy}" "$1" "127.0.0.1:$2"
}

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	fail "nothing listens on port $1"
}

# hold_connection PORT SIZE...: GET /SIZE for each SIZE over one keep-alive
# connection to 127.0.0.1:PORT, every body checked against $WORK/www/SIZE,
# then keep that connection open until release_connection. Sets HELD_PORT,
# the connection's local port.
hold_connection() {
	local port=$1 specs=() size line; shift
	for size in "$@"; do specs+=("$size=GET:/$size"); done
	coproc HELD { python3 "$LIBRA_SRC/tests/guest/tools/httpclient.py" --hold "$port" "$(IFS=,; echo "${specs[*]}")"; }
	for size in "$@"; do
		read -r line <&"${HELD[0]}" || fail "held connection: no answer for /$size"
		[[ $line == "$size $(sha256sum < "$WORK/www/$size" | cut -d' ' -f1) $size" ]] \
			|| fail "held connection: /$size: $line"
	done
	read -r line <&"${HELD[0]}" || fail "held connection: the client ended"
	[[ $line == "HOLD "[1-9]* ]] || fail "held connection: $line"
	HELD_PORT=${line#HOLD }
	say "connection from port $HELD_PORT to $port held open after GET $*"
}

release_connection() {
	local pid=$HELD_PID fd=${HELD[1]}
	eval "exec $fd>&-"
	wait "$pid" || fail "the held connection's client failed"
}

# Fetch every body through the proxy and compare sha256 with the original.
fetch_and_verify() {
	local port=$1; shift
	for size in "$@"; do
		local want got
		want=$(sha256sum < "$WORK/www/$size" | cut -d' ' -f1)
		got=$(curl -sf --max-time 120 "http://127.0.0.1:$port/$size" | sha256sum | cut -d' ' -f1) \
			|| fail "GET /$size through port $port failed"
		[[ $want == "$got" ]] || fail "body of /$size differs: want $want got $got"
		say "GET /$size: sha256 $got ok"
	done
}

# Bounded load; its summary goes to $WORK/wrk.out. Two connections: under
# software emulation, ftrace patching a hook out while both vCPUs spin on its
# breakpoint has been seen to starve the patching task (an emulation
# artefact), so the load leaves a vCPU some air.
start_wrk() {
	local url=$1 seconds=$2
	wrk -t 1 -c 2 -d "${seconds}s" "$url" > "$WORK/wrk.out" 2>&1 &
	WRK_PID=$!
}

finish_wrk() {
	wait "$WRK_PID" || fail "wrk failed: $(cat "$WORK/wrk.out")"
	cat "$WORK/wrk.out"
	grep -q 'requests in' "$WORK/wrk.out" || fail "wrk made no requests"
	if grep -E -q 'Socket errors|Non-2xx' "$WORK/wrk.out"; then
		fail "wrk saw errors"
	fi
}

libra_attach_parser() {
	"$DEVCTL" attach-parser "$LIBRA_BUILD/bpf/libra_http.bpf.o" || fail "attaching the parser"
	say "parser attached"
}

# stall_watch SECONDS CMD...: runs CMD and returns its status. If CMD is
# still running after SECONDS, the evidence of a stall goes to stderr once:
# every TCP socket's queues, where each proxy process sleeps in the kernel,
# libra's counters. CMD runs on to its own end.
stall_watch() {
	local secs=$1 rc=0 watcher
	shift
	{
		sleep "$secs"
		say "still running after ${secs}s: $*; the sockets, the proxies' kernel stacks, libra's counters:"
		ss -tinpm
		for pid in $(pgrep -x 'nginx|haproxy'); do
			echo "== pid $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline")) sleeps in $(cat "/proc/$pid/wchan")"
			cat "/proc/$pid/stack"
		done
		"$DEVCTL" stats
	} >&2 &
	watcher=$!
	"$@" || rc=$?
	kill "$watcher" 2>/dev/null || true
	wait "$watcher" 2>/dev/null || true
	return "$rc"
}

# Waits until every anchor is released (sent in full, its connection or its
# process gone), for at most $1 seconds (default 10).
wait_anchors_released() {
	for _ in $(seq $((${1:-10} * 10))); do
		[[ $(stat_of anchored_bytes_now) == 0 && $(stat_of anchors_now) == 0 ]] && return 0
		sleep 0.1
	done
	"$DEVCTL" stats
	fail "anchored memory was not released"
}

# The backend with unusual framings and failures (tools/backend.py) on $1,
# serving the files under $2 (default $WORK/www) at /file/NAME.
start_special_backend() {
	python3 "$LIBRA_SRC/tests/guest/tools/backend.py" "$1" "${2:-$WORK/www}" &
	wait_port "$1"
}

# "SHA256 LENGTH" of the file $1.
sha_len() {
	echo "$(sha256sum < "$1" | cut -d' ' -f1) $(stat -c %s "$1")"
}

# One curl transfer (arguments: curl's); prints "SHA256 LENGTH" of the body it
# received, or "FAILED curl exit N" and returns N.
curl_sha_len() {
	local out rc=0
	out=$(mktemp -p "$WORK" curl.XXXXXX)
	curl -sSf --max-time 300 -o "$out" "$@" || rc=$?
	if ((rc)); then echo "FAILED curl exit $rc"; else sha_len "$out"; fi
	rm -f "$out"
	return "$rc"
}

# sha256 of the special backend's body of $1 bytes (or its first $2 bytes).
special_sha() {
	python3 "$LIBRA_SRC/tests/guest/tools/backend.py" --body "$1" "${2:-$1}" | sha256sum | cut -d' ' -f1
}

# GET $1 through the proxy on $2 and compare with the special backend's body of $3 bytes.
fetch_special() {
	local got
	got=$(curl -sf --max-time 120 "http://127.0.0.1:$2$1" | sha256sum | cut -d' ' -f1) \
		|| fail "GET $1 failed"
	[[ $got == "$(special_sha "$3")" ]] || fail "body of $1 differs"
	record_result "GET $1 $got"
	say "GET $1: $3 bytes, sha256 ok"
}

# --- librad as libra.service runs it (daemon-* scenarios) ---------------------
# The installed unit (cmake --install of this build inside the guest's overlay)
# is the source of truth: its ExecStartPre/ExecStart, CapabilityBoundingSet,
# NoNewPrivileges, UMask and RuntimeDirectory are applied the way systemd would
# apply them; INVOCATION_ID is set, and NOTIFY_SOCKET points at a listener that
# records every sd_notify datagram with the sender's pid ("PID: MESSAGE").
# Not reproduced without systemd: the mount, seccomp and device-cgroup
# sandboxing (ProtectSystem, SystemCallFilter, DevicePolicy...).

# Installs this build (binaries, unit, config, BPF objects) with its configured
# prefix; sets LIBRA_UNIT, LIBRA_CONF, LIBRAD, LIBRACTL.
libra_install_userspace() {
	cmake --install "$LIBRA_BUILD" > "$WORK/install.log" 2>&1 || fail "cmake --install: $(cat "$WORK/install.log")"
	local prefix
	prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$LIBRA_BUILD/CMakeCache.txt")
	LIBRA_UNIT=$(grep -m1 '/libra.service$' "$LIBRA_BUILD/install_manifest.txt") || fail "no libra.service installed"
	LIBRA_CONF=$(grep -m1 '/librad.conf$' "$LIBRA_BUILD/install_manifest.txt") || fail "no librad.conf installed"
	LIBRAD=$(grep -m1 '/librad$' "$LIBRA_BUILD/install_manifest.txt") || fail "no librad installed"
	LIBRACTL=$(grep -m1 '/libractl$' "$LIBRA_BUILD/install_manifest.txt") || fail "no libractl installed"
	say "installed under $prefix: $LIBRAD, $LIBRACTL, $LIBRA_UNIT"
}

# unit_value KEY: the last value of KEY= in the installed unit (all of them with -a)
unit_value() {
	if [[ $1 == -a ]]; then
		sed -n "s/^$2=//p" "$LIBRA_UNIT"
	else
		sed -n "s/^$1=//p" "$LIBRA_UNIT" | tail -n 1
	fi
}

# Records sd_notify datagrams on $WORK/notify.sock into $WORK/notify.log.
start_notify_listener() {
	NOTIFY_SOCK=$WORK/notify.sock NOTIFY_LOG=$WORK/notify.log
	rm -f "$NOTIFY_SOCK" "$NOTIFY_LOG"; : > "$NOTIFY_LOG"
	python3 - "$NOTIFY_SOCK" "$NOTIFY_LOG" <<'PY' &
import socket, struct, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(path)
with open(log, "a") as out:
    while True:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = 0
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        for line in data.decode(errors="replace").splitlines():
            out.write(f"{pid}: {line}\n")
        out.flush()
PY
	NOTIFY_PID=$!
	for _ in $(seq 100); do [[ -S $NOTIFY_SOCK ]] && return 0; sleep 0.05; done
	fail "sd_notify listener did not start"
}

stop_notify_listener() {
	kill "$NOTIFY_PID" 2>/dev/null || true
	wait "$NOTIFY_PID" 2>/dev/null || true
}

# Starts librad as the unit does (ExecStartPre first); waits for READY=1 from
# librad's own pid (NotifyAccess=main). Sets LIBRAD_PID; log in $WORK/librad.log.
librad_start_like_unit() {
	local pre cmd caps bounding nnp umask_value rundir mode
	while read -r pre; do
		[[ -n $pre ]] || continue
		pre=${pre#[-+@!:]}; pre=${pre#[-+@!:]}
		say "ExecStartPre: $pre"
		$pre || fail "ExecStartPre $pre"
	done <<<"$(unit_value -a ExecStartPre)"
	rundir=$(unit_value RuntimeDirectory) mode=$(unit_value RuntimeDirectoryMode)
	if [[ -n $rundir ]]; then
		mkdir -p "/run/$rundir" && chmod "${mode:-0755}" "/run/$rundir"
	fi
	caps=$(unit_value CapabilityBoundingSet)
	bounding=-all
	for cap in $caps; do
		cap=${cap#CAP_}; bounding+=",+${cap,,}"
	done
	nnp=()
	[[ $(unit_value NoNewPrivileges) == yes ]] && nnp=(--no-new-privs)
	umask_value=$(unit_value UMask)
	cmd=$(unit_value ExecStart)
	[[ -x ${cmd%% *} ]] || fail "ExecStart $cmd is not an installed program"
	[[ -n ${NOTIFY_PID:-} ]] || start_notify_listener
	: > "$NOTIFY_LOG"
	say "ExecStart: $cmd (bounding set $bounding${nnp:+, no_new_privs}, umask ${umask_value:-0022})"
	(
		umask "${umask_value:-0022}"
		cd /
		export INVOCATION_ID=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
		export NOTIFY_SOCKET=$NOTIFY_SOCK
		# shellcheck disable=SC2086
		exec setpriv --inh-caps=-all --ambient-caps=-all --bounding-set="$bounding" "${nnp[@]}" $cmd
	) >> "$WORK/librad.log" 2>&1 &
	LIBRAD_PID=$!
	librad_wait_ready 0 "while starting"
	say "librad (pid $LIBRAD_PID) is ready: $(grep "^$LIBRAD_PID: STATUS=" "$NOTIFY_LOG" | tail -n 1)"
}

# librad_wait_ready N WHAT: waits until librad ($LIBRAD_PID) has sent READY=1
# more than N times; fails, saying what it was doing, if it exits or never does.
librad_wait_ready() {
	for _ in $(seq 300); do
		(($(grep -c "^$LIBRAD_PID: READY=1" "$NOTIFY_LOG") > $1)) && return 0
		kill -0 "$LIBRAD_PID" 2>/dev/null || { cat "$WORK/librad.log"; fail "librad exited $2"; }
		sleep 0.1
	done
	cat "$WORK/librad.log" "$NOTIFY_LOG"
	fail "librad sent no READY=1 $2"
}

# Reloads librad as `systemctl reload libra` does (ExecReload: SIGHUP to the
# main pid) and waits for its RELOADING=1 and the READY=1 after it.
librad_reload() {
	local ready_before
	ready_before=$(grep -c "^$LIBRAD_PID: READY=1" "$NOTIFY_LOG")
	kill -HUP "$LIBRAD_PID"
	librad_wait_ready "$ready_before" "while reloading"
	grep -q "^$LIBRAD_PID: RELOADING=1" "$NOTIFY_LOG" || fail "librad sent READY=1 without RELOADING=1"
	say "librad reloaded"
}

# Stops librad as systemd does (SIGTERM), expects exit status 0 and the socket gone.
librad_stop() {
	local socket=${1:-/run/libra/librad.sock} rc=0
	kill -TERM "$LIBRAD_PID"
	wait "$LIBRAD_PID" || rc=$?
	((rc == 0)) || { cat "$WORK/librad.log"; fail "librad exited $rc on SIGTERM"; }
	[[ ! -e $socket ]] || fail "librad left its socket $socket behind"
	grep -q "^$LIBRAD_PID: STOPPING=1" "$NOTIFY_LOG" || fail "librad did not send STOPPING=1"
	say "librad stopped: exit 0, socket removed, STOPPING=1 sent"
}

# libractl stats --json, checked for every key issue 4 requires; prints the
# value of each key named in the arguments, one per line.
libractl_stats() {
	"$LIBRACTL" stats --json > "$WORK/stats.json" || fail "libractl stats --json"
	python3 - "$WORK/stats.json" "$@" <<'PY' || fail "stats --json: $(cat "$WORK/stats.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
stats = doc.get("result", doc)
required = ["sockets_tracked", "messages_parsed", "bytes_metadata_copied", "bytes_anchored",
            "bytes_zero_copy_sent", "bytes_fallback_copied", "anchored_bytes_now",
            "anchored_bytes_peak", "anchored_bytes_limit", "parser_errors", "fallbacks", "processes"]
missing = [k for k in required if k not in stats]
if missing:
    sys.exit(f"missing keys: {missing}")
if not isinstance(stats["fallbacks"], dict) or not isinstance(stats["processes"], list):
    sys.exit("fallbacks must be an object and processes a list")
for key in sys.argv[2:]:
    print(stats[key])
PY
}

# Waits until libractl stats reports no anchored bytes.
libractl_wait_anchors_released() {
	for _ in $(seq 100); do
		[[ $(libractl_stats anchored_bytes_now) == 0 ]] && return 0
		sleep 0.1
	done
	"$LIBRACTL" stats
	fail "anchored memory was not released"
}

# The shared hazards of hazards-*.sh, against the special backend behind the
# proxy on port $1.

# A HEAD's response has a Content-Length and no body; the next response on
# the same upstream connection must not be mistaken for it.
check_head_then_get() {
	for _ in 1 2; do
		curl -sf -I "http://127.0.0.1:$1/cl/1048576" | grep -qi "content-length: 1048576" \
			|| fail "HEAD"
		fetch_special /cl/1048576 "$1" 1048576
	done
	say "HEAD then GET on a kept-alive upstream: ok"
}

# The upstream closes halfway through a promised body: the client gets the
# bytes that came, exactly.
check_early_close() {
	local got
	got=$( (curl -s "http://127.0.0.1:$1/early-close/1048576" || true) | sha256sum | cut -d" " -f1)
	[[ $got == "$(special_sha 1048576 524288)" ]] || fail "early close: the bytes that came differ"
	record_result "early-close $got"
	say "upstream closed early: the first half arrived exactly"
}

# Re-framing through the proxy on $1: chunked upstream bodies (big chunks,
# chunks larger than the proxy's buffers, small chunks) and one delimited by
# the upstream's close.
check_reframing() {
	local M=1048576
	fetch_special "/chunked/$M?chunk=40000" "$1" $M
	fetch_special "/chunked/$((3 * M + 17))?chunk=300000" "$1" $((3 * M + 17))
	fetch_special "/chunked/200000?chunk=5000" "$1" 200000
	fetch_special "/close/$M" "$1" $M
}

# Clients that go away mid-body; a later body still arrives whole.
abort_clients() {
	for _ in 1 2 3; do
		curl -s --max-time 1 --limit-rate 200K "http://127.0.0.1:$1/cl/4194304" > /dev/null || true
	done
	say "clients aborted mid-body"
	fetch_special /cl/1048576 "$1" 1048576
}

# --- Libra off, then on (hazards-*) ------------------------------------------
# The same traffic twice in one guest, through proxies started afresh for
# each pass: first not opted in (Libra off: the module loaded and the parser
# attached, so every call still goes through the hooks), then opted in.
# $MODE is the pass; pass_port shifts ports so the passes' proxies never meet.
# Each pass records what arrived (record_result); the records must be equal.

pass_port() { if [[ $MODE == on ]]; then echo $(($1 + 100)); else echo "$1"; fi; }
record_result() { [[ -z ${MODE:-} ]] || echo "$*" >> "$WORK/record.$MODE"; }

# opt_in PID WHAT: opts PID in, in the Libra-on pass only.
opt_in() {
	[[ $MODE == on ]] || return 0
	"$DEVCTL" enable "$1" desc || fail "opt-in of $2"
}

# run_off_then_on FUNCTION: runs FUNCTION (the traffic) once per pass. Libra
# off must leave Libra's data-path counters where they were; Libra on must
# anchor and reject no token; the two records must be byte-identical.
run_off_then_on() {
	local c before=()
	local watched=(messages_parsed bytes_anchored bytes_zero_copy_sent tokens_rejected)
	for MODE in off on; do
		: > "$WORK/record.$MODE"
		before=()
		for c in "${watched[@]}"; do before+=("$(stat_of "$c")"); done
		say "[$MODE] pass starts"
		"$1"
		for i in "${!watched[@]}"; do
			c=${watched[$i]}
			local moved=$(($(stat_of "$c") - before[i]))
			if [[ $MODE == off ]]; then
				((moved == 0)) || fail "Libra off: $c moved by $moved"
			elif [[ $c == bytes_anchored ]]; then
				((moved > 0)) || fail "Libra on: nothing was anchored"
			elif [[ $c == tokens_rejected ]]; then
				((moved == 0)) || fail "Libra on: $moved tokens were rejected"
			fi
		done
		say "[$MODE] pass done: $(wc -l < "$WORK/record.$MODE") results recorded"
	done
	"$DEVCTL" stats
	diff -u "$WORK/record.off" "$WORK/record.on" || fail "Libra off and Libra on differ (diff above: - off, + on)"
	say "Libra off and Libra on: $(wc -l < "$WORK/record.on") identical results"
}
