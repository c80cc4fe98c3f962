#!/usr/bin/env python3
"""A small HTTP/1.1 client for the matrix scenarios: keep-alive, pipelining,
concurrent connections, and a record of every body it got.

  httpclient.py [--pipeline] [--hold] [--tls CAFILE] PORT CONN...

Each CONN is one connection to 127.0.0.1:PORT and lists its requests, comma
separated, each LABEL=METHOD:PATH[:FILE]; they go out in order on that
connection, each after the previous response was read, or with --pipeline all
in one write before any response is read. METHOD is GET, or POST/PUT with the
body FILE sent with a Content-Length, or POST+chunked/PUT+chunked sending FILE
chunked. Every connection is opened before any sends, and all start together.

Prints one line per request, in argument order:
  LABEL <sha256 of the response body> <its length>   GET
  LABEL <the response body, stripped>                 POST/PUT (backend.py's "sha length")
  LABEL HTTP <status>                                 a status other than 200
  LABEL ERROR <what>                                  no complete response

With --tls, each connection is TLS, the server's certificate checked against
CAFILE. A pipeline then goes out in one write before any response is read
(an SSL socket is not used by two threads at once): keep it small enough to
fit in the socket buffers.

With --hold, the connections stay open after their last response: it then
prints "HOLD <local port of each connection, in argument order>" and closes
them when its standard input ends (a scenario looks at them meanwhile).

A request still unanswered after STALL_S seconds is reported on stderr once,
with every TCP socket's queues (ss -tinpm): whether its bytes sit unread in a
receive queue or unsent in a send queue tells a stalled reader from a stalled
sender.
"""
import hashlib
import socket
import ssl
import subprocess
import sys
import threading
import time

UPLOAD_CHUNK = 10000
STALL_S = 20

# label -> when its request went out, while it waits for its response
waiting = {}
waiting_lock = threading.Lock()


def watch_for_stalls(stop):
    reported = set()
    while not stop.wait(1):
        now = time.monotonic()
        with waiting_lock:
            stalled = [l for l, t in waiting.items() if now - t > STALL_S and l not in reported]
        if stalled:
            reported.update(stalled)
            ss = subprocess.run(["ss", "-tinpm"], capture_output=True, text=True).stdout
            print(f"httpclient: no response for {STALL_S} s to {', '.join(stalled)}; TCP sockets now:\n{ss}",
                  file=sys.stderr, flush=True)


def request_bytes(spec):
    label, _, rest = spec.partition("=")
    method, path, *file = rest.split(":")
    lines = [f"{method.split('+')[0]} {path} HTTP/1.1", "Host: 127.0.0.1"]
    body = b""
    if method != "GET":
        with open(file[0], "rb") as f:
            data = f.read()
        lines.append("Content-Type: application/octet-stream")
        if method.endswith("+chunked"):
            lines.append("Transfer-Encoding: chunked")
            pieces = [data[i:i + UPLOAD_CHUNK] for i in range(0, len(data), UPLOAD_CHUNK)]
            body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        else:
            lines.append(f"Content-Length: {len(data)}")
            body = data
    return label, method != "GET", ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def read_exactly(f, n, digest):
    length = 0
    while n:
        piece = f.read(min(n, 1 << 20))
        if not piece:
            raise ConnectionError("body cut short")
        digest.update(piece)
        length += len(piece)
        n -= len(piece)
    return length


def read_response(f):
    """Returns (status, sha256 hex, length, body if short) of the next final response."""
    while True:
        status_line = f.readline()
        if not status_line:
            raise ConnectionError("connection closed before the response")
        status = int(status_line.split()[1])
        fields = {}
        while (line := f.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        if not 100 <= status < 200:
            break
    digest = hashlib.sha256()
    collected = []

    class Tee:
        def update(self, piece):
            digest.update(piece)
            if len(collected) < 4:
                collected.append(piece)

    tee = Tee()
    if "chunked" in fields.get("transfer-encoding", "").lower():
        length = 0
        while True:
            size_line = f.readline()
            if not size_line:
                raise ConnectionError("chunked body cut short")
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                break
            length += read_exactly(f, size, tee)
            if f.readline().strip():
                raise ConnectionError("chunk not followed by CRLF")
        while f.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
    elif "content-length" in fields:
        length = read_exactly(f, int(fields["content-length"]), tee)
    else:  # delimited by the close
        length = 0
        while piece := f.read(1 << 20):
            tee.update(piece)
            length += len(piece)
    return status, digest.hexdigest(), length, b"".join(collected)


def run_connection(port, specs, pipeline, barrier, out, held, tls):
    requests = [request_bytes(s) for s in specs]
    done = 0
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        if tls:
            sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
        f = sock.makefile("rb")
        barrier.wait()
        if pipeline and tls:
            with waiting_lock:
                waiting.update((r[0], time.monotonic()) for r in requests)
            sock.sendall(b"".join(r[2] for r in requests))
        elif pipeline:
            with waiting_lock:
                waiting.update((r[0], time.monotonic()) for r in requests)
            # one write; from a thread of its own, so that responses are read
            # while a long pipeline is still going out
            writer = threading.Thread(target=sock.sendall, args=(b"".join(r[2] for r in requests),))
            writer.start()
        for label, upload, raw in requests:
            if not pipeline:
                with waiting_lock:
                    waiting[label] = time.monotonic()
                sock.sendall(raw)
            status, sha, length, text = read_response(f)
            with waiting_lock:
                waiting.pop(label, None)
            if status != 200:
                out.append(f"{label} HTTP {status}")
            elif upload:
                out.append(f"{label} {text.decode(errors='replace').strip()}")
            else:
                out.append(f"{label} {sha} {length}")
            done += 1
        if pipeline and not tls:
            writer.join()
        if held is None:
            sock.close()
        else:
            held.append(sock)
    except (OSError, ValueError, IndexError, threading.BrokenBarrierError) as e:
        barrier.abort()
        for label, _, _ in requests[done:]:
            out.append(f"{label} ERROR {type(e).__name__}: {e}")


def main():
    args = sys.argv[1:]
    tls = None
    if "--tls" in args[:-1]:
        i = args.index("--tls")
        tls = ssl.create_default_context(cafile=args[i + 1])
        del args[i:i + 2]
    pipeline = "--pipeline" in args[:2]
    hold = "--hold" in args[:2]
    args = [a for a in args[:2] if a not in ("--pipeline", "--hold")] + args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    port, conns = int(args[0]), [c.split(",") for c in args[1:]]
    barrier = threading.Barrier(len(conns))
    outs = [[] for _ in conns]
    helds = [[] if hold else None for _ in conns]
    threads = [threading.Thread(target=run_connection, args=(port, specs, pipeline, barrier, out, held, tls))
               for specs, out, held in zip(conns, outs, helds)]
    stop = threading.Event()
    watcher = threading.Thread(target=watch_for_stalls, args=(stop,), daemon=True)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for out in outs:
        for line in out:
            print(line)
    if hold:
        # a connection that failed holds nothing: port 0
        print("HOLD", *(held[0].getsockname()[1] if held else 0 for held in helds), flush=True)
        sys.stdin.read()
        for held in helds:
            for sock in held:
                sock.close()


if __name__ == "__main__":
    main()
