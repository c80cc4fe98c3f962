#!/usr/bin/env python3
"""tools/backend.py, and what the abuse-* and deploy-* scenarios need beyond it.

  abuse_backend.py [--unix PATH | PORT] [ROOT] [--keep DIR]

Everything backend.py serves (its endpoints and bodies, the files under ROOT
at /file/NAME, /upload answering "<sha256> <length>\\n"), plus:

  --unix PATH                   listen on a unix socket instead of a TCP port
  any other method (FOO /x)     reads the request body if there is one (Content-Length
                                or chunked) and answers 200 with
                                "<METHOD> <sha256> <length>\\n"
  POST|PUT /upload/NAME?slow=1  reads the body 4 KiB at a time with pauses, so that
                                the proxy meets back-pressure (short sends)
  GET /oob/<size>[?at=N&paced=1] the body of backend.py's /cl/<size>, with one byte of
                                TCP urgent data (MSG_OOB) sent after its first N bytes
                                (default size / 2): the urgent byte and 1000 bytes
                                right behind them, the rest 0.5 s later; paced=1: 0.2 s
                                between the three sends. A peer that reads it the stock
                                way (no SO_OOBINLINE) sees exactly the body
  every response                carries "X-Conn-Id: N", N numbering the backend's
                                connections, so a client can tell which upstream
                                connection answered it
  --keep DIR                    an uploaded body that holds a Libra token magic
                                (\\xf7LIBRA\\x01\\xf7) is saved as DIR/<n>.<name> (the
                                first 20), so a scenario can show where it stands

Connection errors (a proxy resetting its upstream connection) end the
connection quietly.
"""
import hashlib
import os
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backend  # noqa: E402

MAGIC = b"\xf7LIBRA\x01\xf7"
STANDARD = ("GET", "HEAD", "POST", "PUT")
kept = [0]
kept_lock = threading.Lock()
connections = [0]


class SlowReader:
    """rfile for a slow reader: 4 KiB per read, 2 ms apart."""

    def __init__(self, rfile):
        self.rfile = rfile

    def read(self, n):
        time.sleep(0.002)
        return self.rfile.read(min(n, 4096))

    def readline(self):
        return self.rfile.readline()


class Handler(backend.Handler):
    def setup(self):
        super().setup()
        with kept_lock:
            connections[0] += 1
            self.conn_id = connections[0]

    def head(self, status, fields):
        super().head(status, list(fields) + [("X-Conn-Id", self.conn_id)])

    def handle(self):
        try:
            while self.one_request():
                pass
        except (ConnectionError, OSError, ValueError) as e:
            if not isinstance(e, (ConnectionResetError, BrokenPipeError)):
                print(f"abuse_backend: connection ended: {type(e).__name__}: {e}", file=sys.stderr)

    def one_request(self):
        line = self.rfile.readline()
        if not line:
            return False
        method, target, _ = line.decode("latin-1").split(" ", 2)
        self.fields = {}
        while (field := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = field.decode("latin-1").partition(":")
            self.fields[name.strip().lower()] = value.strip()
        url = urllib.parse.urlparse(target)
        if method not in STANDARD:
            return self.serve_custom(method, url)
        kind, arg = url.path.strip("/").split("/", 1)
        if kind not in self.NAMED:
            arg = int(arg)
            self.request_body(None)
        return getattr(self, "serve_" + kind.replace("-", "_"))(method, arg, url)

    def serve_file(self, method, name, url):
        query = urllib.parse.parse_qs(url.query)
        if "chunk" in query:
            return super().serve_file(method, name, url)  # its head() names the connection
        with open(os.path.join(self.server.root, os.path.basename(name)), "rb") as f:
            data = f.read()
        self.head("200 OK", [("Content-Length", len(data))])
        self.wfile.write(data)
        return True

    def serve_custom(self, method, url):
        digest = hashlib.sha256()
        length = self.request_body(digest.update)
        answer = b"%s %s %d\n" % (method.encode(), digest.hexdigest().encode(), length)
        self.head("200 OK", [("Content-Length", len(answer))])
        self.wfile.write(answer)
        return True

    def serve_upload(self, method, name, url):
        if method not in ("POST", "PUT"):
            self.head("405 Method Not Allowed", [("Content-Length", 0)])
            return True
        query = urllib.parse.parse_qs(url.query)
        digest, data = hashlib.sha256(), bytearray()
        keep = self.server.keep

        def sink(piece):
            digest.update(piece)
            if keep:
                data.extend(piece)

        rfile = self.rfile
        if query.get("slow"):
            self.rfile = SlowReader(rfile)
        try:
            length = self.request_body(sink)
        finally:
            self.rfile = rfile
        if keep and MAGIC in data:
            with kept_lock:
                kept[0] += 1
                n = kept[0]
            if n <= 20:
                path = os.path.join(keep, f"{n}.{os.path.basename(name)}")
                with open(path, "wb") as f:
                    f.write(data)
                print(f"abuse_backend: upload {name}: {data.count(MAGIC)} Libra token magics,"
                      f" the first at offset {data.find(MAGIC)} of {length}: kept as {path}",
                      file=sys.stderr, flush=True)
        answer = b"%s %d\n" % (digest.hexdigest().encode(), length)
        self.head("200 OK", [("Content-Length", len(answer))])
        self.wfile.write(answer)
        return True

    def serve_oob(self, method, size, url):
        query = urllib.parse.parse_qs(url.query)
        at = int(query.get("at", [size // 2])[0])
        paced = query.get("paced", [""])[0] == "1"
        data = backend.body(size)
        self.head("200 OK", [("Content-Length", size)])
        self.wfile.write(data[:at])
        if paced:
            time.sleep(0.2)
            self.request.send(b"!", socket.MSG_OOB)
            time.sleep(0.2)
            self.wfile.write(data[at:])
        else:
            self.request.send(b"!", socket.MSG_OOB)
            self.wfile.write(data[at:at + 1000])
            time.sleep(0.5)
            self.wfile.write(data[at + 1000:])
        self.wfile.flush()
        return True


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):
        print(f"abuse_backend: {sys.exc_info()[1]!r}", file=sys.stderr)


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        print(f"abuse_backend: {sys.exc_info()[1]!r}", file=sys.stderr)


def main():
    args = sys.argv[1:]
    keep = None
    if "--keep" in args:
        i = args.index("--keep")
        keep = args[i + 1]
        del args[i:i + 2]
        os.makedirs(keep, exist_ok=True)
    if args and args[0] == "--unix":
        path = args[1]
        if os.path.exists(path):
            os.unlink(path)
        server = UnixServer(path, Handler)
        os.chmod(path, 0o666)
        args = args[2:]
    else:
        server = TCPServer(("127.0.0.1", int(args[0])), Handler)
        args = args[1:]
    server.root = args[0] if args else "."
    server.keep = keep
    server.serve_forever()


if __name__ == "__main__":
    main()
