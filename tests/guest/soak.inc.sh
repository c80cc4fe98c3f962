# Helpers for the soak scenarios (soak-*.sh; sourced after lib.sh, inside the
# guest under bash -eu): a lossy loopback, a time-bounded traffic driver that
# checks every body at the far end, and the evidence of every step-aside.

# --- the link ---------------------------------------------------------------

# netem_on SPEC...: netem on the loopback with the tc netem arguments SPEC
# (loopback netem delays, drops, duplicates and reorders both directions of
# every connection, since both go through lo's root qdisc).
netem_on() {
	modprobe sch_netem || fail "modprobe sch_netem"
	tc qdisc replace dev lo root netem "$@" || fail "tc qdisc add dev lo root netem $*"
	say "netem on lo: $(tc qdisc show dev lo)"
}

netem_off() {
	tc qdisc del dev lo root 2>/dev/null || true
}

# netem_report WHAT: the qdisc's own figures (sent, dropped, ...) and the TCP
# counters that show what the peers went through since the last call.
netem_report() {
	say "$1: lo's qdisc: $(tc -s qdisc show dev lo | tr -s ' \n' ' ')"
	say "$1: TCP: $(nstat -s 2>/dev/null | awk '$1 ~ /^(TcpRetransSegs|TcpExtTCPLostRetransmit|TcpExtTCPOFOQueue|TcpExtTCPOFOMerge|TcpExtTCPDSACKRecv|TcpExtTCPDSACKOfoRecv|TcpExtTCPDSACKOldSent|TcpExtTCPDSACKOfoSent|TcpExtTCPSACKReorder|TcpExtTCPTimeouts|TcpExtTCPFastRetrans|TcpExtTCPSpuriousRTOs|TcpExtTCPAbortOnData|TcpExtTCPAbortOnClose|TcpEstabResets|TcpExtTCPRcvCoalesce|TcpExtTCPBacklogCoalesce|TcpExtTCPPartialUndo|TcpExtTCPDSACKUndo)$/ { printf "%s=%s ", $1, $2 }')"
	nstat -n >/dev/null 2>&1 || true	# the next report counts from here
}

# --- the traffic --------------------------------------------------------------

# soak_make_files SIZE...: random originals $WORK/www/<size>, written and
# summed by one process; SOAK_SUMS names the "NAME SHA256 LENGTH" file.
soak_make_files() {
	mkdir -p "$WORK/www"
	SOAK_SUMS=$WORK/sums
	python3 - "$WORK/www" "$@" > "$SOAK_SUMS" <<'PY'
import hashlib, os, random, sys
root, rng = sys.argv[1], random.Random(os.urandom(16))
for name in sys.argv[2:]:
    data = rng.randbytes(int(name))
    with open(os.path.join(root, name), "wb") as f:
        f.write(data)
    print(name, hashlib.sha256(data).hexdigest(), len(data))
PY
}

# start_soak_backend PORT: tools/backend.py serving $WORK/www, plus "close=1"
# in the query of /file/NAME and /upload/NAME: the answer says "Connection:
# close" and the backend closes right after it, so its last bytes and its FIN
# arrive together at the proxy, which then reads on to the end of the
# stream (a FIN read counts one sequence number: not a desync).
start_soak_backend() {
	python3 - "$LIBRA_SRC/tests/guest/tools" "$1" "$WORK/www" <<'PY' &
import os, sys, urllib.parse
sys.path.insert(0, sys.argv[1])
import backend  # noqa: E402


class Handler(backend.Handler):
    closing = False

    def head(self, status, fields):
        if self.closing:
            fields = list(fields) + [("Connection", "close")]
        super().head(status, fields)

    def serve_file(self, method, name, url):
        query = urllib.parse.parse_qs(url.query)
        self.closing = "close" in query
        if not self.closing:
            return super().serve_file(method, name, url)
        with open(os.path.join(self.server.root, os.path.basename(name)), "rb") as f:
            data = f.read()
        if "chunk" not in query:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (len(data), data))
            return False
        chunk = int(query["chunk"][0])
        self.head("200 OK", [("Transfer-Encoding", "chunked")])
        for i in range(0, len(data), chunk):
            piece = data[i:i + chunk]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
        return False

    def serve_upload(self, method, name, url):
        self.closing = "close" in urllib.parse.parse_qs(url.query)
        return super().serve_upload(method, name, url) and not self.closing


server = backend.Server(("127.0.0.1", int(sys.argv[2])), Handler)
server.root = sys.argv[3]
server.serve_forever()
PY
	wait_port "$1"
}

# soak_drive SECONDS SEED OUT NAME:PORT:THREADS...: THREADS clients per
# proxy for SECONDS, each opening connections one after another until the
# time is up: keep-alive (1 to 4 requests, then the client closes) or
# ending in "Connection: close" (the proxy closes), every request one of
# GET /file/NAME (Content-Length), GET /file/NAME?chunk=N (chunked),
# GET /close/SIZE (the backend delimits the body by closing), POST with a
# Content-Length, PUT chunked (tools/backend.py answers with the sha256 and
# length of what it received); one answer in four with "close=1" (the
# backend closes after it: start_soak_backend). Every body is checked by sha256 and length
# where it arrives; a mismatch or a failed request is a failure. Summary on
# stdout, one line per failure in OUT; exits 1 if any.
soak_drive() {
	python3 - "$LIBRA_SRC/tests/guest/tools" "$SOAK_SUMS" "$WORK/www" "$@" <<'PY'
import hashlib, os, random, socket, sys, threading, time
tools, sums, www, seconds, seed, out_path = sys.argv[1:7]
targets = [t.split(":") for t in sys.argv[7:]]
sys.path.insert(0, tools)
from httpclient import read_response   # noqa: E402
from backend import body as det_body    # noqa: E402

SUM = {}
for line in open(sums):
    name, sha, length = line.split()
    SUM[name] = (sha, int(length))
NAMES = sorted(SUM, key=int)
DATA = {n: open(os.path.join(www, n), "rb").read() for n in NAMES}
DET = {}
det_lock = threading.Lock()

def det_sum(size):
    with det_lock:
        if size not in DET:
            b = det_body(size)
            DET[size] = (hashlib.sha256(b).hexdigest(), size)
        return DET[size]

deadline = time.monotonic() + float(seconds)
failures, lock = [], threading.Lock()
stats = {}

def request(method, path, close, data=None, chunk=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if close:
        lines.append("Connection: close")
    body = b""
    if data is not None:
        lines.append("Content-Type: application/octet-stream")
        if chunk:
            lines.append("Transfer-Encoding: chunked")
            body = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + chunk]), data[i:i + chunk])
                            for i in range(0, len(data), chunk)) + b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(data)}")
            body = data
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

OPS = ["get.cl"] * 6 + ["get.chunked"] * 4 + ["get.close"] * 1 + ["post.cl"] * 3 + ["put.chunked"] * 3

def one(rng, f, sock, op, close):
    name = rng.choice(NAMES)
    # one answer in four: the backend closes its connection right after it
    bye = rng.random() < 0.25
    if op == "get.cl":
        raw, want = request("GET", f"/file/{name}{'?close=1' if bye else ''}", close), SUM[name]
    elif op == "get.chunked":
        c = rng.choice([16384, 20000, 40000, 65536])
        raw, want = request("GET", f"/file/{name}?chunk={c}{'&close=1' if bye else ''}", close), SUM[name]
    elif op == "get.close":
        raw, want = request("GET", f"/close/{name}", close), det_sum(int(name))
    elif op == "post.cl":
        raw, want = request("POST", f"/upload/{name}{'?close=1' if bye else ''}", close, DATA[name]), SUM[name]
    else:
        raw, want = request("PUT", f"/upload/{name}{'?close=1' if bye else ''}", close, DATA[name],
                            rng.choice([10000, 16384, 32768, 65536])), SUM[name]
    sock.sendall(raw)
    status, sha, length, text = read_response(f)
    if status != 200:
        return f"{op} {name}: HTTP {status}", 0
    if op.startswith(("post", "put")):
        got = text.decode(errors="replace").split()
        got = (got[0], int(got[1])) if len(got) == 2 else tuple(got)
    else:
        got = (sha, length)
    if got != want:
        return f"{op} {name}: got {got}, want {want}", 0
    return None, want[1]

def client(tname, port, idx):
    rng = random.Random(int(seed) * 1000 + idx)
    st = stats.setdefault(tname, {"conns": 0, "proxy_closed": 0, "requests": 0, "bytes": 0})
    while time.monotonic() < deadline:
        n, close_last = rng.randint(1, 4), rng.random() < 0.5
        ops = [rng.choice(OPS) for _ in range(n)]
        if "get.close" in ops:
            # a body the backend delimits by closing may reach the client
            # delimited the same way: the last request of its connection
            ops, close_last = ops[:ops.index("get.close") + 1], True
            n = len(ops)
        label = f"{tname}#{idx}"
        try:
            sock = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
            f = sock.makefile("rb")
            with lock:
                st["conns"] += 1
            for i, op in enumerate(ops):
                close = close_last and i == n - 1
                err, nbytes = one(rng, f, sock, op, close)
                with lock:
                    st["requests"] += 1
                    st[op] = st.get(op, 0) + 1
                    st["bytes"] += nbytes
                if err:
                    with lock:
                        failures.append(f"{label}: {err}")
                    break
            else:
                if close_last:
                    rest = f.read()
                    if rest:
                        with lock:
                            failures.append(f"{label}: {len(rest)} bytes after a Connection: close response")
                    with lock:
                        st["proxy_closed"] += 1
            sock.close()
        except (OSError, ValueError, IndexError) as e:
            with lock:
                failures.append(f"{label}: {ops}: {type(e).__name__}: {e}")

threads = []
for tname, port, count in targets:
    for i in range(int(count)):
        threads.append(threading.Thread(target=client, args=(tname, port, len(threads))))
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(out_path, "w") as out:
    for line in failures:
        out.write(line + "\n")
for tname, st in sorted(stats.items()):
    ops = " ".join(f"{k}={v}" for k, v in sorted(st.items()) if "." in k)
    print(f"{tname}: {st['requests']} requests on {st['conns']} connections"
          f" ({st['proxy_closed']} closed by the proxy), {st['bytes']} body bytes checked; {ops}")
print(f"failures: {len(failures)}")
sys.exit(1 if failures else 0)
PY
}

# soak_curl_loop SECONDS PORT OUT: curl, one process after another for
# SECONDS, each a keep-alive sequence on one connection: a GET, a POST of
# a file (curl sends Expect: 100-continue above 1 MiB), a chunked GET.
# Bodies checked by sha256 and length; "requests N failures M" in OUT, each
# failure on a line of its own before it.
soak_curl_loop() {
	local end=$((SECONDS + $1)) port=$2 out=$3 url=http://127.0.0.1:$2 names n=0 bad=0 a b c dir
	: > "$out"
	dir=$(mktemp -d -p "$WORK" curl.XXXXXX)
	# (no process substitution: the guest's /dev has no /dev/fd)
	read -r -a names <<< "$(cut -d' ' -f1 "$SOAK_SUMS" | tr '\n' ' ')"
	while ((SECONDS < end)); do
		a=${names[RANDOM % ${#names[@]}]} b=${names[RANDOM % ${#names[@]}]} c=${names[RANDOM % ${#names[@]}]}
		rm -f "$dir"/*
		curl -sS --max-time 120 -o "$dir/a" "$url/file/$a" \
			--next -sS --max-time 120 -o "$dir/b" -X POST --data-binary "@$WORK/www/$b" \
				-H 'Content-Type: application/octet-stream' "$url/upload/curl" \
			--next -sS --max-time 120 -o "$dir/c" "$url/file/$c?chunk=65536" 2>> "$out" \
			|| { echo "curl exited $? on $a $b $c" >> "$out"; bad=$((bad + 1)); }
		n=$((n + 3))
		[[ -f $dir/a && "$(sha256sum < "$dir/a" | cut -d' ' -f1) $(stat -c %s "$dir/a")" == "$(grep "^$a " "$SOAK_SUMS" | cut -d' ' -f2-)" ]] \
			|| { echo "curl GET /file/$a differs" >> "$out"; bad=$((bad + 1)); }
		[[ -f $dir/b && "$(cat "$dir/b")" == "$(grep "^$b " "$SOAK_SUMS" | cut -d' ' -f2-)" ]] \
			|| { echo "curl POST $b: the backend got $(cat "$dir/b" 2>/dev/null)" >> "$out"; bad=$((bad + 1)); }
		[[ -f $dir/c && "$(sha256sum < "$dir/c" | cut -d' ' -f1) $(stat -c %s "$dir/c")" == "$(grep "^$c " "$SOAK_SUMS" | cut -d' ' -f2-)" ]] \
			|| { echo "curl GET /file/$c?chunk=65536 differs" >> "$out"; bad=$((bad + 1)); }
	done
	rm -rf "$dir"
	echo "requests $n failures $bad" >> "$out"
}

# --- the evidence ----------------------------------------------------------------

# stats_into NAME: every counter into the associative array NAME (declared -A by the caller).
stats_into() {
	local -n into=$1
	local c v
	while read -r c v; do into[$c]=$v; done <<< "$("$DEVCTL" stats)"
}

# soak_sampler_start FILE: every second, the tracked sockets that stepped
# aside in a direction (libra-devctl sockets), appended to FILE with the
# time and the owner's command; soak_sampler_stop ends it. A socket is
# listed only while its connection lives: the kprobe below sees the rest.
soak_sampler_start() {
	local file=$1
	: > "$file"
	(
		while :; do
			"$DEVCTL" sockets 2>/dev/null | while read -r line; do
				[[ $line == *"rx_aside=-"*"tx_aside=-"* ]] && continue
				tgid=${line#*tgid=}; tgid=${tgid%% *}
				echo "t=$SECONDS comm=$(cat "/proc/$tgid/comm" 2>/dev/null || echo gone) $line"
			done >> "$file"
			sleep 1
		done
	) &
	SAMPLER_PID=$!
}

soak_sampler_stop() {
	kill "$SAMPLER_PID" 2>/dev/null || true
	wait "$SAMPLER_PID" 2>/dev/null || true
}

# soak_sampler_report FILE: each socket that stepped aside, as last seen.
soak_sampler_report() {
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^id=/) last[$i] = $0 } END { for (k in last) print last[k] }' "$1" | sort
}

# struct_dump FILE STRUCT,... [btf]: pahole's layout of each STRUCT in FILE
# (a module's DWARF, or with btf the kernel's BTF), into $WORK/layout.<STRUCT>.
# One pahole call per file: each parses all of it, seconds under emulation.
struct_dump() {
	pahole ${3:+-F "$3"} -C "$2" "$1" > "$WORK/layout.all" 2>/dev/null || fail "pahole -C $2 $1"
	awk -v dir="$WORK" '/^struct [a-z_0-9]+ \{/ { out = dir "/layout." $2 } out { print > out } /^\}/ { out = "" }' \
		"$WORK/layout.all"
}

# Byte offset of MEMBER (a top-level member) in STRUCT, dumped before.
struct_offset() {
	local struct=$1 member=$2 off
	off=$(sed -n -E "s/^[[:space:]]+[^/]*[[:space:]*]${member}(\[[0-9]+\])?;[[:space:]]*\/\*[[:space:]]*([0-9]+).*/\2/p" \
		"$WORK/layout.$struct" 2>/dev/null | head -n 1)
	[[ -n $off ]] || fail "no offset of $struct.$member"
	echo "$off"
}

# soak_trace_start: a kprobe event on every step-aside of a direction
# (libra_dir_step_aside: the socket's entry, the direction, the reason
# counted) recording, at that moment, the socket's sequence numbers as TCP
# and as libra see them, its shutdown bits and state, its ports, and the
# kernel stack (which check stepped aside). Offsets come from the module's
# debug information and the kernel's BTF, so the same probe serves every
# kernel. Sets SOAK_TRACE (tracefs) and SOAK_RX_OFF, SOAK_TX_OFF.
soak_trace_start() {
	local T=/sys/kernel/tracing btf=/sys/kernel/btf/vmlinux
	local sk rxoff txoff next toclose pass copied rcvnxt wseq snxt sunq shut state lport dport id role texp tpos tsync
	mountpoint -q $T || mount -t tracefs nodev $T || fail "mount tracefs"
	struct_dump "$LIBRA_KO" libra_sock,libra_dir
	struct_dump $btf sock_common,sock,tcp_sock btf
	sk=$(struct_offset libra_sock sk)
	rxoff=$(struct_offset libra_sock rx)
	txoff=$(struct_offset libra_sock tx)
	id=$(struct_offset libra_sock id)
	role=$(struct_offset libra_sock role)
	texp=$(struct_offset libra_sock tx_expect_seq)
	tpos=$(struct_offset libra_sock tx_pos)
	tsync=$(struct_offset libra_sock tx_synced)
	next=$(struct_offset libra_dir next_seq)
	toclose=$(struct_offset libra_dir to_close)
	pass=$(struct_offset libra_dir passthrough)
	copied=$(struct_offset tcp_sock copied_seq)
	rcvnxt=$(struct_offset tcp_sock rcv_nxt)
	wseq=$(struct_offset tcp_sock write_seq)
	snxt=$(struct_offset tcp_sock snd_nxt)
	sunq=$(struct_offset tcp_sock snd_una)
	shut=$(struct_offset sock sk_shutdown)
	state=$(struct_offset sock_common skc_state)
	lport=$(struct_offset sock_common skc_num)
	dport=$(struct_offset sock_common skc_dport)
	SOAK_RX_OFF=$rxoff SOAK_TX_OFF=$txoff
	local S="+$sk(%di)"
	echo 0 > $T/tracing_on
	echo 8192 > $T/buffer_size_kb
	: > $T/trace
	echo "p:kprobes/libra_aside libra:libra_dir_step_aside ls=%di:x64 d=%si:x64 reason=%dx:u32" \
		"id=+$id(%di):u64 role=+$role(%di):u32 d_next=+$next(%si):u32 d_to_close=+$toclose(%si):u8 d_aside=+$pass(%si):u8" \
		"rx_next=+$((rxoff + next))(%di):u32 tx_next=+$((txoff + next))(%di):u32" \
		"tx_pos=+$tpos(%di):u32 tx_expect=+$texp(%di):u32 tx_synced=+$tsync(%di):u8" \
		"copied=+$copied($S):u32 rcv_nxt=+$rcvnxt($S):u32 write_seq=+$wseq($S):u32" \
		"snd_nxt=+$snxt($S):u32 snd_una=+$sunq($S):u32 shutdown=+$shut($S):u8 state=+$state($S):u8" \
		"lport=+$lport($S):u16 dport_be=+$dport($S):u16" >> $T/kprobe_events \
		|| fail "kprobe event on libra_dir_step_aside"
	echo stacktrace > $T/events/kprobes/libra_aside/trigger
	echo 1 > $T/events/kprobes/libra_aside/enable
	echo 1 > $T/tracing_on
	say "tracing every step-aside (kprobe on libra_dir_step_aside; libra_sock.rx at $rxoff, .tx at $txoff)"
}

soak_trace_stop() {
	local T=/sys/kernel/tracing
	echo 0 > $T/tracing_on
	echo 0 > $T/events/kprobes/libra_aside/enable
	echo '!stacktrace' > $T/events/kprobes/libra_aside/trigger
	cp $T/trace "$WORK/aside.trace"
	echo '-:kprobes/libra_aside' >> $T/kprobe_events
}

# soak_trace_report: the step-asides traced, grouped by reason, direction,
# role and what the sequence numbers said; each group's first stack.
soak_trace_report() {
	"$DEVCTL" stats | awk '{ print NR - 1, $1 }' > "$WORK/stat-names"
	python3 - "$WORK/aside.trace" "$WORK/stat-names" "$SOAK_RX_OFF" "$SOAK_TX_OFF" <<'PY'
import re, sys, collections
trace, names_path, rx_off, tx_off = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
names = dict(l.split() for l in open(names_path))
roles = {0: "unknown", 1: "client", 2: "server", 3: "pass"}
states = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
          7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}
events, cur = [], None
for line in open(trace):
    if "libra_aside:" in line:
        f = dict(re.findall(r"(\w+)=(\S+)", line.split("libra_aside:", 1)[1]))
        f["comm"] = line.split("-")[0].strip()
        cur = {"f": f, "stack": []}
        events.append(cur)
    elif line.startswith(" => ") and cur is not None:
        cur["stack"].append(line[4:].strip())
groups = collections.OrderedDict()
again = collections.Counter()
for e in events:
    f = {k: (int(v, 16) if v.startswith("0x") else int(v)) if re.fullmatch(r"0x[0-9a-f]+|\d+", v) else v
         for k, v in e["f"].items()}
    d = "rx" if f["d"] - f["ls"] == rx_off else "tx" if f["d"] - f["ls"] == tx_off else "?"
    reason = names.get(str(f["reason"]), f["reason"])
    if f["d_aside"]:
        # libra_dir_step_aside counts a direction once: a call on one already aside counts nothing
        again[(reason, d)] += 1
        continue
    dport = ((f["dport_be"] & 0xff) << 8) | (f["dport_be"] >> 8)
    u32 = lambda x: x & 0xffffffff
    # the kind of gap, not its size: each group's first event is printed whole
    if d == "rx":
        gap = u32(f['copied'] - f['d_next'])
        seq = f"copied_seq-next_seq={'1' if gap == 1 else '>1'}"
    else:
        gap = u32(f['write_seq'] - f['tx_expect'])
        seq = (f"write_seq-tx_expect={'1' if gap == 1 else '>1'} tx_synced={f['tx_synced']}"
               f" tx_pos{'=' if f['tx_pos'] == f['tx_next'] else '!='}tx_next")
    shut = "+".join(n for b, n in ((1, "RCV"), (2, "SEND")) if f["shutdown"] & b) or "none"
    stack = e["stack"]
    i = next((i for i, s in enumerate(stack) if s.startswith("libra_dir_step_aside")), -1)
    caller = stack[i + 1].split("+")[0] if 0 <= i < len(stack) - 1 else "?"
    key = (reason, d, roles.get(f["role"], f["role"]), f["comm"], caller,
           seq if reason == "fallback_desync" else "", shut, states.get(f["state"], f["state"]))
    g = groups.setdefault(key, {"n": 0, "first": e, "ports": set(), "fields": f, "gaps": []})
    g["n"] += 1
    if reason == "fallback_desync" and len(g["gaps"]) < 12:
        g["gaps"].append(gap)
    g["ports"].add(f"{f['lport']}->{dport}")
print(f"step-asides traced: {sum(g['n'] for g in groups.values())} counted"
      f" (and {sum(again.values())} calls on a direction already aside, which count nothing:"
      f" {', '.join(f'{r} {d} x{n}' for (r, d), n in again.most_common())})")
for (reason, d, role, comm, caller, seq, shut, state), g in list(groups.items())[:40]:
    ports = sorted(g["ports"])
    print(f"  {g['n']:4d} x {reason} {d} role={role} comm={comm} by {caller}: {seq}{' ' if seq else ''}shutdown={shut}"
          f" state={state} ports {' '.join(ports[:6])}{' ...' if len(ports) > 6 else ''}")
    if reason == "fallback_desync":
        f = g["fields"]
        print(f"         gaps (bytes): {' '.join(map(str, g['gaps']))}{' ...' if g['n'] > len(g['gaps']) else ''}")
        print("         first: " + " ".join(f"{k}={v}" for k, v in g["first"]["f"].items() if k not in ("ls", "d")))
        stack = g["first"]["stack"]
        i = next((i for i, s in enumerate(stack) if s.startswith("libra_dir_step_aside")), 0)
        for s in stack[i:i + 8]:
            print(f"           {s}")
PY
}
