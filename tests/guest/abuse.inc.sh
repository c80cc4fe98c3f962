# Helpers for the deploy-* and abuse-* scenarios (issue 13), sourced after
# lib.sh. Like hazards-*, each scenario runs its traffic twice in one guest,
# through proxies started afresh for each pass: first with the module loaded
# and the parser attached but nothing opted in (Libra off), then with the
# proxy opted in from its start (Libra on); $MODE names the pass, pass_port
# (lib.sh) keeps the two passes' proxies apart.
#
# Unlike hazards-*, a failed check does not end the scenario: it is collected
# as a problem and the scenario goes on, so that one run reports everything
# Libra on gets wrong (with the counters that moved and the kernel log of the
# phase it happened in); the scenario fails at its end, with the list, from
# abuse_finish. Checks made:
#  - each pass: what arrived (record) equals what was sent (expect), line by
#    line, and the two passes' records are identical;
#  - each phase (phase_begin/phase_end): no kernel complaint (WARNING, BUG,
#    Oops, ... as guest-run looks for, and any emerg/alert/crit line) since
#    it began; its counters printed;
#  - anchors_back_to_zero: anchored_bytes_now and anchors_now return to 0
#    while the proxies still run (not at their exit);
#  - Libra off: no data-path counter moved; Libra on: the parser ran
#    (messages_parsed moved), and with STRICT_TOKENS=1 no token was rejected.
# The tools: tools/abuse_client.py (what a remote client does),
# tools/abuse_backend.py (backend.py, on TCP or a unix socket, with custom
# methods, urgent data, slow reads), tools/fcgi_responder.py (FastCGI).

ABUSE_CLIENT=(python3 "$LIBRA_SRC/tests/guest/tools/abuse_client.py")
HTTP_CLIENT=(python3 "$LIBRA_SRC/tests/guest/tools/httpclient.py")
COMPLAINT='WARNING:|BUG:|Oops|general protection fault|Call Trace:|refcount_t:|list_(add|del) corruption|cut here'
STRICT_TOKENS=${STRICT_TOKENS:-1}
SHOWN_COUNTERS=(recvmsg_engaged sendmsg_engaged messages_parsed bytes_metadata_copied bytes_anchored
	bytes_zero_copy_sent bytes_fallback_copied anchored_bytes_now anchors_now parser_errors
	fallback_budget fallback_small_body fallback_desync fallback_not_adopted fallback_unknown_method
	fallback_page_copied tokens_rejected tokens_unframed anchors_released tx_holds_expired tx_resets)

problems=()
problem() {
	say "PROBLEM [${MODE:-}${PHASE:+ $PHASE}]: $*"
	problems+=("[${MODE:-}${PHASE:+ $PHASE}] $*")
}

# --- records: "LABEL VALUE..." lines, what was sent and what arrived ---------
expect() { echo "$*" >> "$WORK/expect.$MODE"; }
record() { echo "$*" >> "$WORK/record.$MODE"; }

# --- counters -----------------------------------------------------------------
snap() { "$DEVCTL" stats > "$WORK/snap.$1" || fail "libra-devctl stats"; }
# delta COUNTER FROM TO
delta() {
	awk -v c="$1" -v f="$WORK/snap.$2" '
		FILENAME == f && $1 == c { from = $2 }
		FILENAME != f && $1 == c { to = $2 }
		END { print to - from }' "$WORK/snap.$2" "$WORK/snap.$3"
}
# the counters of SHOWN_COUNTERS that moved between two snapshots
moved_counters() {
	awk -v shown="${SHOWN_COUNTERS[*]}" -v f="$WORK/snap.$1" '
		FILENAME == f { from[$1] = $2; next } { to[$1] = $2 }
		END {
			n = split(shown, names, " ")
			for (i = 1; i <= n; i++) {
				d = to[names[i]] - from[names[i]]
				if (d != 0) { out = out " " names[i] "=" d }
			}
			print (out == "" ? " none" : out)
		}' "$WORK/snap.$1" "$WORK/snap.$2"
}

# make_originals NAME...: random files $WORK/www/NAME (NAME is the size),
# and SUM[NAME]="SHA256 LENGTH" of each, from one process (every process
# start is slow under emulation).
make_originals() {
	local name sha len
	declare -gA SUM
	mkdir -p "$WORK/www"
	# (no process substitution: the guest has no /dev/fd)
	python3 - "$WORK/www" "$@" > "$WORK/sums" <<'PY' || fail "make_originals: $*"
import hashlib, os, sys
for name in sys.argv[2:]:
    data = os.urandom(int(name))
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        f.write(data)
    print(name, hashlib.sha256(data).hexdigest(), len(data))
PY
	while read -r name sha len; do SUM[$name]="$sha $len"; done < "$WORK/sums"
	((${#SUM[@]} >= $#)) || fail "make_originals: $*"
}

# --- the kernel log -----------------------------------------------------------
# klog_mark NAME: a line in the kernel log to look from.
klog_mark() { echo "libra-test: mark $1" > /dev/kmsg; }
# klog_since NAME: the kernel log after the mark (all of it if the mark has
# left the ring buffer), raw: each line starts with <PRIORITY>, its level
# being PRIORITY % 8.
klog_since() {
	dmesg -r | awk -v m="libra-test: mark $1" '
		{ line[NR] = $0 } index($0, m) { start = NR }
		END { for (i = start + 1; i <= NR; i++) print line[i] }'
}
# klog_check NAME WHAT: a problem if the kernel complained since the mark
# (what guest-run looks for, or any line at emerg, alert or crit level);
# lines at err or warn level are shown.
klog_check() {
	local log complaints others
	log=$(klog_since "$1")
	complaints=$(awk -v re="$COMPLAINT" 'match($0, /^<[0-9]+>/) {
		level = substr($0, 2, RLENGTH - 2) % 8
		if (level <= 2 || $0 ~ re) print "C " $0; else if (level <= 4) print "W " $0 }' <<< "$log")
	others=$(grep '^W ' <<< "$complaints" | tail -n 5 | cut -c3- || true)
	complaints=$(grep '^C ' <<< "$complaints" | cut -c3- || true)
	if [[ -n $complaints ]]; then
		say "kernel log since $2 began:"
		tail -n 60 <<< "$log"
		problem "the kernel complained during $2:" \
			"$( (grep -m1 -E 'WARNING:|BUG:|Oops|general protection' <<< "$complaints" || head -n 1 <<< "$complaints") | cut -c1-200)"
	elif [[ -n $others ]]; then
		say "kernel log lines at err/warn level during $2 (not complaints): $others"
	fi
	return 0
}

# --- phases -------------------------------------------------------------------
# phase_begin NAME / phase_end: a named part of a pass; its counters are
# printed at its end and its kernel log checked.
phase_begin() {
	PHASE=$1
	PHASE_ID="$MODE.$(tr -c 'a-zA-Z0-9\n' _ <<< "$1")"
	klog_mark "$PHASE_ID"
	snap "phase.0"
	say "[$MODE] $PHASE: begins"
}
phase_end() {
	snap "phase.1"
	say "[$MODE] $PHASE: done; counters moved:$(moved_counters phase.0 phase.1)"
	klog_check "$PHASE_ID" "[$MODE] $PHASE"
	PHASE=
}

# anchors_back_to_zero WHAT [SECONDS]: anchored memory returns to 0 within
# SECONDS (default 10) while the proxies still run. A problem otherwise.
anchors_back_to_zero() {
	local secs=${2:-10} t0=$SECONDS
	while :; do
		if anchors_zero; then
			say "[$MODE] anchored memory back to 0 after $1 ($((SECONDS - t0)) s)"
			return 0
		fi
		((SECONDS - t0 < secs)) || break
		sleep 0.2
	done
	problem "after $1, anchored memory is not back to 0 within ${secs} s while the proxy runs:" \
		"anchored_bytes_now $ANCHORED_NOW, anchors_now $ANCHORS_NOW"
	return 0
}

# anchors_zero: true when anchored_bytes_now and anchors_now are 0 (one
# libra-devctl call); sets ANCHORED_NOW and ANCHORS_NOW.
anchors_zero() {
	local c v
	ANCHORED_NOW=? ANCHORS_NOW=?
	while read -r c v; do
		case $c in anchored_bytes_now) ANCHORED_NOW=$v ;; anchors_now) ANCHORS_NOW=$v ;; esac
	done <<< "$("$DEVCTL" stats)"
	[[ $ANCHORED_NOW == 0 && $ANCHORS_NOW == 0 ]]
}

# --- proxies --------------------------------------------------------------------
# abuse_nginx NAME PORT SERVER_BODY [HTTP_EXTRA]: nginx (Debian's settings as
# lib.sh's start_nginx_proxy: two workers (NGINX_WORKERS), sendfile,
# tcp_nopush, gzip) with one server on 127.0.0.1:PORT holding SERVER_BODY;
# HTTP_EXTRA goes in the http block (upstreams). Sets PROXY_PID and PROXY_DIR.
abuse_nginx() {
	local name=$1 port=$2 body=$3 extra=${4:-} dir=$WORK/$1
	mkdir -p "$dir/logs"
	cat > "$dir/nginx.conf" <<CONF
user root;
worker_processes ${NGINX_WORKERS:-2};
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
	sendfile on;
	tcp_nopush on;
	gzip on;
	access_log off;
	client_max_body_size 64m;
	$extra
	server {
		listen 127.0.0.1:$port;
		keepalive_requests 1000000;
		$body
	}
}
CONF
	nginx -p "$dir" -c "$dir/nginx.conf" || fail "nginx $name did not start ($dir/nginx.conf)"
	wait_port "$port"
	PROXY_PID=$(cat "$dir/nginx.pid") PROXY_DIR=$dir
}

# stop_pid PID WHAT: SIGTERM, and wait until it is gone.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || return 0
	for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	problem "$2 (pid $1) did not stop on SIGTERM"
}

# opted_in PID WHAT: in the Libra-on pass, PID is opted in (lib.sh's opt_in)
# and the module lists it.
opted_in() {
	opt_in "$1" "$2"
	[[ $MODE == on ]] || return 0
	"$DEVCTL" list | grep -q "^$1 " || fail "$2 (pid $1) is not in the opt-in list: $("$DEVCTL" list)"
}

wait_unix_socket() {
	for _ in $(seq 100); do [[ -S $1 ]] && return 0; sleep 0.1; done
	fail "no unix socket $1"
}

# --- passes -----------------------------------------------------------------------
# abuse_passes FUNCTION: FUNCTION (the traffic, which starts and stops its
# proxies) runs with MODE=off, then MODE=on; each pass's records are
# compared with what it expected, and the two passes' records with each other.
abuse_passes() {
	local watched=(messages_parsed bytes_anchored bytes_zero_copy_sent) c d t0
	for MODE in off on; do
		: > "$WORK/record.$MODE"; : > "$WORK/expect.$MODE"
		klog_mark "pass.$MODE"
		snap "pass.$MODE.0"
		t0=$SECONDS
		say "[$MODE] pass starts"
		"$1"
		snap "pass.$MODE.1"
		say "[$MODE] pass done in $((SECONDS - t0)) s; counters moved:$(moved_counters "pass.$MODE.0" "pass.$MODE.1")"
		if [[ $MODE == off ]]; then
			for c in "${watched[@]}"; do
				d=$(delta "$c" pass.off.0 pass.off.1)
				[[ $d == 0 ]] || problem "Libra off: $c moved by $d"
			done
		else
			d=$(delta messages_parsed pass.on.0 pass.on.1)
			((d > 0)) || problem "Libra on: the parser saw no message: Libra never engaged, the pass tested nothing"
			d=$(delta tokens_rejected pass.on.0 pass.on.1)
			if ((d > 0)); then
				if ((STRICT_TOKENS)); then problem "Libra on: $d tokens rejected (sent as the bytes they are)"
				else say "[on] $d tokens rejected (not counted as a problem in this scenario)"; fi
			fi
		fi
		if diff -u "$WORK/expect.$MODE" "$WORK/record.$MODE" > "$WORK/diff.$MODE"; then
			say "[$MODE] all $(wc -l < "$WORK/record.$MODE") results as sent"
		else
			cat "$WORK/diff.$MODE"
			problem "Libra $MODE: $(grep -c '^+[^+]' "$WORK/diff.$MODE") results differ from what was sent" \
				"(diff above: - sent, + arrived)"
		fi
	done
	MODE=
	if diff -u "$WORK/record.off" "$WORK/record.on" > "$WORK/diff.off-on"; then
		say "Libra off and Libra on: $(wc -l < "$WORK/record.on") identical results"
	else
		cat "$WORK/diff.off-on"
		problem "Libra off and Libra on differ in $(grep -c '^+[^+]' "$WORK/diff.off-on") results (diff above: - off, + on)"
	fi
}

# abuse_finish: unloads the module (every proxy must be gone by now, and
# with it its anchors) and fails with every problem collected, if any.
abuse_finish() {
	if ! wait_anchors_released_quietly 10; then
		problem "anchored memory not released even with every proxy stopped: $(stat_of anchored_bytes_now) bytes"
	fi
	"$DEVCTL" stats
	local off=0 p
	for p in "${problems[@]}"; do [[ $p == "[off"* ]] && off=$((off + 1)); done
	if ((${#problems[@]})); then
		say "$((${#problems[@]})) problems ($off with Libra off):"
		printf '  %s\n' "${problems[@]}"
	fi
	local unloaded=
	for _ in $(seq 100); do
		if rmmod libra 2>/dev/null; then unloaded=1; break; fi
		sleep 0.1
	done
	[[ -n $unloaded ]] || problem "the module could not be unloaded: $(rmmod libra 2>&1)"
	((${#problems[@]} == 0)) || fail "$(printf '\n  %s' "${problems[@]}")"
	say "no problem: Libra off and on byte-identical, anchors released, kernel log clean"
}

wait_anchors_released_quietly() {
	local t0=$SECONDS
	while ! anchors_zero; do
		((SECONDS - t0 < ${1:-10})) || return 1
		sleep 0.2
	done
}

# show_errors LOG WHAT: the last error lines of a proxy's log, shown (not
# counted: what the far end got is what counts).
show_errors() {
	local lines
	[[ -f $1 ]] || return 0
	lines=$(grep -E '\[(error|crit|alert|emerg)\]' "$1" | tail -n 8 || true)
	[[ -z $lines ]] || say "[$MODE] $2 logged errors (the last 8):"$'\n'"$lines"
}

# show_kept DIR: for the first uploads a backend kept because they held a
# Libra token magic (abuse_backend.py --keep), where the first differences
# from the original stand and what is there; the rest are counted.
show_kept() {
	local files=("$1"/*)
	[[ -f ${files[0]} ]] || return 0
	say "[$MODE] ${#files[@]} uploads reached the backend holding Libra tokens; the first:"
	python3 - "$WORK/www" "${files[@]:0:4}" <<'PY' || true
import os, sys
MAGIC = b"\xf7LIBRA\x01\xf7"
for path in sys.argv[2:]:
    got = open(path, "rb").read()
    want = open(os.path.join(sys.argv[1], os.path.basename(path).split(".", 1)[1]), "rb").read()
    first = next((i for i in range(0, min(len(got), len(want)), 4096) if got[i:i + 4096] != want[i:i + 4096]), None)
    if first is not None:
        first = next(i for i in range(first, first + 4096) if got[i] != want[i])
    same = sum(got[i:i + 4096] == want[i:i + 4096] for i in range(0, min(len(got), len(want)), 4096))
    magics, i = [], got.find(MAGIC)
    while i >= 0 and len(magics) < 3:
        magics.append(i)
        i = got.find(MAGIC, i + 1)
    after = got[magics[0] + 32:magics[0] + 48] if magics else b""
    what = "zeros" if after and not after.strip(bytes(1)) else "not zeros"
    print(f"  {path}: {len(got)} bytes (original {len(want)}), first difference at {first},"
          f" {same} of {(min(len(got), len(want)) + 4095) // 4096} 4 KiB blocks equal;"
          f" {got.count(MAGIC)} token magics, the first at {magics}; the 16 bytes after the"
          f" first token: {after.hex()} ({what})")
PY
	rm -f "${files[@]}"
}
