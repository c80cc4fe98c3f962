#!/usr/bin/env python3
"""Clients that do what a remote peer can do, for the abuse-* and deploy-* scenarios.
All connect to 127.0.0.1:PORT; every socket has a timeout (TIMEOUT_S).

  abuse_client.py upload PORT LABEL=PATH:FILE:K[:chunked]...
      One connection per upload: the request head and the first K bytes of
      the body (0-31: shifts the body's alignment in the proxy's buffers) in
      one segment (TCP_NODELAY, one send), a pause, then the rest. Prints
      "LABEL STATUS <response body, whitespace squeezed>" per upload.

  abuse_client.py resets PORT PATH COUNT [CONCURRENCY]
      COUNT connections, CONCURRENCY at a time: GET PATH, then a reset
      (SO_LINGER 0, close): odd ones as soon as the response head has
      arrived, even ones 1 ms after the request went out. Prints a summary
      "resets COUNT: A after the response head, B within 1 ms, E errors".

  abuse_client.py oob PORT PATH TOTAL AT queued|paced
      POST PATH with Content-Length TOTAL: AT body bytes, then one byte of
      urgent data (send MSG_OOB), then TOTAL - AT bytes more. queued: the
      urgent byte and 1000 bytes after it right behind the first AT (so that
      the proxy finds them queued together), then after 0.5 s the rest;
      paced: 0.2 s between the three sends. (The rest always comes later:
      a stock reader stops short at the urgent mark, and nginx, reading
      edge-triggered, then waits for more data to arrive before it reads on.) A stock receiver
      (no SO_OOBINLINE) skips the urgent byte, so the body it reads is the
      TOTAL in-band bytes. Prints "expect <sha256> <length>" of those and
      "answer STATUS <response body>".

  abuse_client.py flood PORT BYTES WINDOW BIG_EVERY BIG_PATH [BIG_SHA256]
      One connection, pipelined GETs of /t/<i> (answered by the proxy itself
      with "/t/<i>\\n"), BYTES of requests in all, every BIG_EVERY-th one a
      GET of BIG_PATH instead; written by a thread while responses are read,
      all at once (WINDOW 0) or never more than WINDOW bytes of requests
      unanswered.
      Every response must be a 200 in request order, each /t/<i> body
      naming its own request, each body of BIG_PATH of sha256 BIG_SHA256. Prints "flood N requests (B bytes, K big):
      in order" and "flood bodies <sha256 of every body, in order>", or
      "flood FAILED at response I: <what>".

  abuse_client.py custom PORT FILE
      1. One connection: "FOO / HTTP/1.1" (no body), then FILE POSTed chunked
      (chunk sizes 1 byte to 70000, in a fixed varying order) to
      /upload/custom?slow=1, then FILE POSTed with Content-Length to
      /upload/custom?slow=1, then "FOO /x" with a chunked body of FILE, then
      GET /file/<FILE's name>. Prints one line per request: "LABEL STATUS
      <response body or sha256 and length of a GET body>", then
      "upstream-connections N": how many of the backend's connections answered
      them (its X-Conn-Id header; 1 when the proxy reused one throughout).
      2. "FOO /" alone on a connection that then closes ("a.foo ..."), then
      three new connections, each a chunked POST of FILE ("bN.post.chunked
      ..."), and "foo-connection-reused-by-another-client yes|no": whether one
      of them went over the upstream connection that carried the FOO.
"""
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time

TIMEOUT_S = 120
MAGIC = b"\xf7LIBRA\x01\xf7"


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def squeeze(data):
    return " ".join(data.decode("latin-1").split())[:300]


class Reader:
    """Buffered response reader over a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def more(self):
        piece = self.sock.recv(1 << 20)
        if not piece:
            raise ConnectionError("connection closed by the proxy")
        self.buf += piece

    def head(self):
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self.more()
        head = bytes(self.buf[:end])
        del self.buf[:end + 4]
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        return status, fields

    def exactly(self, n):
        while len(self.buf) < n:
            self.more()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def line(self):
        while (end := self.buf.find(b"\r\n")) < 0:
            self.more()
        data = bytes(self.buf[:end])
        del self.buf[:end + 2]
        return data

    def response(self):
        """(status, body) of the next final response; its fields in self.fields."""
        while True:
            status, fields = self.head()
            if not 100 <= status < 200:
                break
        self.fields = fields
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            body = bytearray()
            while True:
                size = int(self.line().split(b";")[0], 16)
                if not size:
                    break
                body += self.exactly(size)
                if self.line():
                    raise ConnectionError("chunk not followed by CRLF")
            while self.line():
                pass
            return status, bytes(body)
        if b"content-length" in fields:
            return status, self.exactly(int(fields[b"content-length"]))
        body = bytearray(self.buf)
        self.buf.clear()
        while piece := self.sock.recv(1 << 20):
            body += piece
        return status, bytes(body)


def chunked(data, sizes):
    out, i, k = bytearray(), 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        k += 1
        out += b"%x\r\n" % min(n, len(data) - i) + data[i:i + n] + b"\r\n"
        i += n
    return bytes(out + b"0\r\n\r\n")


def cmd_upload(port, specs):
    for spec in specs:
        label, _, rest = spec.partition("=")
        path, name, k, *mode = rest.split(":")
        k = int(k)
        data = open(name, "rb").read()
        if mode and mode[0] == "chunked":
            head = f"POST {path} HTTP/1.1\r\nHost: libra\r\nTransfer-Encoding: chunked\r\n"
            body = chunked(data, [65536, 10000, 40000])
        else:
            head = f"POST {path} HTTP/1.1\r\nHost: libra\r\nContent-Length: {len(data)}\r\n"
            body = data
        head = (head + "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n").encode()
        try:
            s = connect(port)
            s.send(head + body[:k])  # one segment: the head and K body bytes
            time.sleep(0.03)
            s.sendall(body[k:])
            status, answer = Reader(s).response()
            s.close()
            print(f"{label} {status} {squeeze(answer)}", flush=True)
        except (OSError, ValueError, IndexError) as e:
            print(f"{label} ERROR {type(e).__name__}: {e}", flush=True)


def cmd_resets(port, path, count, concurrency):
    request = f"GET {path} HTTP/1.1\r\nHost: libra\r\n\r\n".encode()
    linger = struct.pack("ii", 1, 0)
    counts = {"head": 0, "1ms": 0, "error": 0}
    lock = threading.Lock()
    next_i = [0]

    def worker():
        while True:
            with lock:
                i = next_i[0]
                next_i[0] += 1
            if i >= count:
                return
            kind = "head" if i % 2 else "1ms"
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                s.sendall(request)
                if kind == "head":
                    got = b""
                    while b"\r\n\r\n" not in got:
                        piece = s.recv(65536)
                        if not piece:
                            raise ConnectionError("closed before the response head")
                        got += piece
                else:
                    time.sleep(0.001)
                s.close()  # SO_LINGER 0: a reset
            except OSError as e:
                kind = "error"
                if counts["error"] < 5:
                    print(f"resets: connection {i}: {type(e).__name__}: {e}", file=sys.stderr)
            with lock:
                counts[kind] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"resets {count}: {counts['head']} after the response head, {counts['1ms']} within 1 ms,"
          f" {counts['error']} errors")
    return 0 if counts["error"] == 0 else 1


def cmd_oob(port, path, total, at, mode):
    data = random.Random(total * 1000003 + at).randbytes(total)  # the same in every run
    head = (f"POST {path} HTTP/1.1\r\nHost: libra\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {total}\r\nConnection: close\r\n\r\n").encode()
    print(f"expect {hashlib.sha256(data).hexdigest()} {total}", flush=True)
    try:
        s = connect(port)
        s.sendall(head + data[:at])
        if mode == "queued":
            s.send(b"U", socket.MSG_OOB)
            s.sendall(data[at:at + 1000])
            time.sleep(0.5)
            s.sendall(data[at + 1000:])
        else:
            time.sleep(0.2)
            s.send(b"U", socket.MSG_OOB)
            time.sleep(0.2)
            s.sendall(data[at:])
        status, answer = Reader(s).response()
        s.close()
        print(f"answer {status} {squeeze(answer)}")
    except (OSError, ValueError, IndexError) as e:
        print(f"answer ERROR {type(e).__name__}: {e}")


def cmd_flood(port, nbytes, window, big_every, big_path, big_sha=None):
    reqs, total, big = [], 0, 0
    i = 0
    while total < nbytes:
        if big_every and i % big_every == big_every - 1:
            r = f"GET {big_path} HTTP/1.1\r\nHost:a\r\n\r\n".encode()
            big += 1
        else:
            r = f"GET /t/{i} HTTP/1.1\r\nHost:a\r\n\r\n".encode()
        reqs.append(r)
        total += len(r)
        i += 1
    s = connect(port)
    writer_error = []
    answered = [0]  # requests answered, in bytes of requests
    cond = threading.Condition()

    def write():
        try:
            if not window:
                s.sendall(b"".join(reqs))
                return
            sent, i = 0, 0
            while i < len(reqs):
                # wait for half a window of room (or the rest), then fill it
                with cond:
                    while True:
                        room = window - (sent - answered[0])
                        if room >= min(window // 2, sum(len(r) for r in reqs[i:i + 8])):
                            break
                        if not cond.wait(TIMEOUT_S):
                            raise TimeoutError("no response for a whole timeout")
                batch = bytearray()
                while i < len(reqs) and len(batch) + len(reqs[i]) <= room:
                    batch += reqs[i]
                    i += 1
                s.sendall(batch)
                sent += len(batch)
        except OSError as e:
            writer_error.append(e)

    w = threading.Thread(target=write)
    w.start()
    reader = Reader(s)
    digest = hashlib.sha256()
    bodies = 0
    try:
        for i, r in enumerate(reqs):
            status, body = reader.response()
            if status != 200:
                raise ValueError(f"status {status} for {r.split(b' ')[1].decode()}")
            if r.startswith(b"GET /t/"):
                want = r.split(b" ")[1] + b"\n"
                if body != want:
                    raise ValueError(f"body {body[:60]!r} answers {r.split(b' ')[1].decode()}")
            elif big_sha and hashlib.sha256(body).hexdigest() != big_sha:
                raise ValueError(f"the body of {big_path} ({len(body)} bytes) differs:"
                                 f" {body.count(MAGIC)} Libra token magics in it")
            digest.update(b"%d:" % len(body))
            digest.update(body)
            bodies += 1
            if window:
                with cond:
                    answered[0] += len(r)
                    cond.notify()
    except (OSError, ValueError, IndexError) as e:
        print(f"flood FAILED at response {bodies} of {len(reqs)}: {type(e).__name__}: {e}")
        s.close()
        w.join()
        return 1
    w.join()
    s.close()
    if writer_error:
        print(f"flood FAILED: the writer: {writer_error[0]}")
        return 1
    print(f"flood {len(reqs)} requests ({total} bytes, {big} of {big_path}): in order")
    print(f"flood bodies {digest.hexdigest()}")
    return 0


def cmd_custom(port, name):
    data = open(name, "rb").read()
    sizes = [1, 70000, 16384, 3, 40000, 65536, 100, 32768, 8191, 50000]
    base = os.path.basename(name)
    post_chunked = (b"POST /upload/custom?slow=1 HTTP/1.1\r\nHost: libra\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n" + chunked(data, sizes))
    steps = [
        ("foo", b"FOO / HTTP/1.1\r\nHost: libra\r\n\r\n"),
        ("post.chunked", post_chunked),
        ("post.cl", b"POST /upload/custom?slow=1 HTTP/1.1\r\nHost: libra\r\n"
         b"Content-Length: %d\r\n\r\n" % len(data) + data),
        ("foo.chunked", b"FOO /x HTTP/1.1\r\nHost: libra\r\nTransfer-Encoding: chunked\r\n\r\n"
         + chunked(data, sizes[::-1])),
        ("get", f"GET /file/{base} HTTP/1.1\r\nHost: libra\r\n\r\n".encode()),
    ]
    conns = set()

    def run(steps, prefix=""):
        """Sends each request on one new connection after the previous answer;
        returns the X-Conn-Id of each answer."""
        ids = []
        try:
            s = connect(port)
            reader = Reader(s)
        except OSError as e:
            for label, _ in steps:
                print(f"{prefix}{label} ERROR {e}", flush=True)
            return ids
        for k, (label, raw) in enumerate(steps):
            try:
                s.sendall(raw)
                status, body = reader.response()
                ids.append(reader.fields.get(b"x-conn-id", b"none").decode())
                if label == "get":
                    print(f"{prefix}{label} {status} {hashlib.sha256(body).hexdigest()} {len(body)}", flush=True)
                else:
                    print(f"{prefix}{label} {status} {squeeze(body)}", flush=True)
            except (OSError, ValueError, IndexError) as e:
                for label, _ in steps[k:]:
                    print(f"{prefix}{label} ERROR {type(e).__name__}: {e}", flush=True)
                break
        s.close()
        return ids

    # 1. all on one client connection
    ids = run(steps)
    print(f"upstream-connections {len(set(ids))}")
    # 2. FOO on a client connection that then closes, and chunked POSTs on
    # new client connections, which the proxy should send over the same idle
    # upstream connection (http-reuse always; nginx's keepalive cache)
    foo_ids = run(steps[:1], "a.")
    time.sleep(0.5)  # the proxy puts the upstream connection back in its pool
    reused = False
    for n in range(3):
        ids = run([("post.chunked", post_chunked)], f"b{n}.")
        reused = reused or bool(foo_ids and ids and ids[0] == foo_ids[0])
    print(f"foo-connection-reused-by-another-client {'yes' if reused else 'no'}")


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        sys.exit(__doc__)
    cmd, port = a[0], int(a[1])
    if cmd == "upload":
        cmd_upload(port, a[2:])
    elif cmd == "resets":
        sys.exit(cmd_resets(port, a[2], int(a[3]), int(a[4]) if len(a) > 4 else 8))
    elif cmd == "oob":
        cmd_oob(port, a[2], int(a[3]), int(a[4]), a[5])
    elif cmd == "flood":
        sys.exit(cmd_flood(port, int(a[2]), int(a[3]), int(a[4]), a[5], a[6] if len(a) > 6 else None))
    elif cmd == "custom":
        cmd_custom(port, a[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
