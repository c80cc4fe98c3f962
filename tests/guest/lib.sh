# Helpers for guest scenarios (sourced; runs inside the guest under bash -eu).
# Environment from guest-run: LIBRA_SRC, LIBRA_BUILD, LIBRA_KVER, LIBRA_KO.

DEVCTL=$LIBRA_BUILD/tests/guest/libra-devctl
WORK=/tmp/libra-test
mkdir -p "$WORK"

say() { echo "scenario: $*"; }
fail() { echo "scenario: FAILED: $*" >&2; exit 1; }

libra_load() {
	say "loading $LIBRA_KO"
	insmod "$LIBRA_KO" || fail "insmod $LIBRA_KO"
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

# nginx as a reverse proxy on 127.0.0.1:$1 in front of 127.0.0.1:$2
# (instance name $3, default nginx-proxy).
start_nginx_proxy() {
	local port=$1 upstream=$2 dir=$WORK/${3:-nginx-proxy}
	mkdir -p "$dir/logs"
	cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	upstream backend { server 127.0.0.1:$upstream; keepalive 8; }
	server {
		listen 127.0.0.1:$port;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" || fail "proxy nginx did not start"
	wait_port "$port"
	PROXY_PID=$(cat "$dir/nginx.pid")
}

# HAProxy in mode http on 127.0.0.1:$1 in front of 127.0.0.1:$2.
start_haproxy_proxy() {
	local port=$1 upstream=$2 dir=$WORK/haproxy
	mkdir -p "$dir"
	cat > "$dir/haproxy.cfg" <<CONF
global
	nbthread 2
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
frontend fe
	bind 127.0.0.1:$port
	default_backend be
backend be
	server s1 127.0.0.1:$upstream
CONF
	haproxy -q -D -p "$dir/haproxy.pid" -f "$dir/haproxy.cfg" || fail "haproxy did not start"
	wait_port "$port"
	PROXY_PID=$(head -n 1 "$dir/haproxy.pid")
}

wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	fail "nothing listens on port $1"
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

# Bounded load; its summary goes to $WORK/wrk.out.
start_wrk() {
	local url=$1 seconds=$2
	wrk -t 1 -c 4 -d "${seconds}s" "$url" > "$WORK/wrk.out" 2>&1 &
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

# Waits until every anchor is released (sent in full or its process gone).
wait_anchors_released() {
	for _ in $(seq 100); do
		[[ $(stat_of anchored_bytes_now) == 0 && $(stat_of anchors_now) == 0 ]] && return 0
		sleep 0.1
	done
	"$DEVCTL" stats
	fail "anchored memory was not released"
}
