#!/usr/bin/env python3
"""A backend with the framings and failures a plain static server never shows.

  GET /chunked/<size>[?chunk=N]   body of <size> bytes, Transfer-Encoding: chunked
  GET /close/<size>               HTTP/1.0-style body delimited by closing the connection
  GET /early-close/<size>         promises <size> bytes, sends half, closes
  GET /slow/<size>                body sent in 8 KiB pieces with pauses
  GET|HEAD /cl/<size>             plain Content-Length body (HEAD: headers only)
  GET /interim/<size>             a 103 Early Hints, then the response
  GET /file/<name>[?chunk=N]      the file ROOT/<name>: Content-Length, headers and
                                  body in one write; with chunk=N chunked, N bytes a chunk
  POST|PUT /upload/<any>          reads the request body (Content-Length or chunked;
                                  answers Expect: 100-continue) and answers with
                                  "<sha256 hex> <length>\n" of the body it received

Bodies are deterministic: byte i of a <size> body is (i * 131 + size) % 251,
so a client checks them with `backend.py --body SIZE [PREFIX]`, without a file.
Files (random content, distinct per file) come from ROOT: `backend.py PORT [ROOT]`.
"""
import hashlib
import os
import socketserver
import sys
import time
import urllib.parse


def body(size):
    """(i * 131 + size) % 251 for every i < size; it repeats every 251 bytes."""
    pattern = bytes((i * 131 + size) % 251 for i in range(251))
    whole, rest = divmod(size, 251)
    return pattern * whole + pattern[:rest]


class Handler(socketserver.StreamRequestHandler):
    NAMED = ("file", "upload")  # endpoints whose argument is a name, not a size

    def handle(self):
        while True:
            try:
                line = self.rfile.readline()
            except ConnectionResetError:  # HAProxy resets idle server connections
                return
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            self.fields = {}
            while (field := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                name, _, value = field.decode("latin-1").partition(":")
                self.fields[name.strip().lower()] = value.strip()
            url = urllib.parse.urlparse(target)
            kind, arg = url.path.strip("/").split("/", 1)
            if kind not in self.NAMED:
                arg = int(arg)
                self.request_body(None)  # a body sent where none is expected is read and dropped
            if not getattr(self, "serve_" + kind.replace("-", "_"))(method, arg, url):
                return

    def request_body(self, sink):
        """Reads the request body (Content-Length or chunked) into sink(bytes);
        returns its length. Answers Expect: 100-continue first."""
        chunked = "chunked" in self.fields.get("transfer-encoding", "").lower()
        length = int(self.fields.get("content-length", "0"))
        if not chunked and not length:
            return 0
        if self.fields.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        total = 0

        def read_exactly(n):
            nonlocal total
            while n:
                piece = self.rfile.read(min(n, 1 << 20))
                if not piece:
                    raise ConnectionError("request body cut short")
                if sink:
                    sink(piece)
                total += len(piece)
                n -= len(piece)

        if not chunked:
            read_exactly(length)
            return total
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                break
            read_exactly(size)
            if self.rfile.readline().strip():
                raise ConnectionError("chunk not followed by CRLF")
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return total

    def head(self, status, fields):
        lines = [f"HTTP/1.1 {status}"] + [f"{k}: {v}" for k, v in fields] + ["", ""]
        self.wfile.write("\r\n".join(lines).encode())

    def serve_cl(self, method, size, url):
        self.head("200 OK", [("Content-Length", size)])
        if method != "HEAD":
            self.wfile.write(body(size))
        return True

    def serve_chunked(self, method, size, url):
        chunk = int(urllib.parse.parse_qs(url.query).get("chunk", ["40000"])[0])
        self.head("200 OK", [("Transfer-Encoding", "chunked")])
        data = body(size)
        for i in range(0, size, chunk):
            piece = data[i:i + chunk]
            self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\nX-Trailer: done\r\n\r\n")
        return True

    def serve_close(self, method, size, url):
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
        self.wfile.write(body(size))
        return False

    def serve_early_close(self, method, size, url):
        self.head("200 OK", [("Content-Length", size)])
        self.wfile.write(body(size)[: size // 2])
        self.wfile.flush()
        return False

    def serve_slow(self, method, size, url):
        self.head("200 OK", [("Content-Length", size)])
        data = body(size)
        for i in range(0, size, 8192):
            self.wfile.write(data[i:i + 8192])
            self.wfile.flush()
            time.sleep(0.01)
        return True

    def serve_interim(self, method, size, url):
        self.wfile.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        return self.serve_cl(method, size, url)

    def serve_file(self, method, name, url):
        with open(os.path.join(self.server.root, os.path.basename(name)), "rb") as f:
            data = f.read()
        query = urllib.parse.parse_qs(url.query)
        if "chunk" not in query:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
            return True
        chunk = int(query["chunk"][0])
        self.head("200 OK", [("Transfer-Encoding", "chunked")])
        for i in range(0, len(data), chunk):
            piece = data[i:i + chunk]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
        return True

    def serve_upload(self, method, name, url):
        if method not in ("POST", "PUT"):
            self.head("405 Method Not Allowed", [("Content-Length", 0)])
            return True
        digest = hashlib.sha256()
        length = self.request_body(digest.update)
        answer = b"%s %d\n" % (digest.hexdigest().encode(), length)
        self.head("200 OK", [("Content-Length", len(answer))])
        self.wfile.write(answer)
        return True


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--body":
        size = int(sys.argv[2])
        prefix = int(sys.argv[3]) if len(sys.argv) > 3 else size
        sys.stdout.buffer.write(body(size)[:prefix])
        sys.exit(0)
    server = Server(("127.0.0.1", int(sys.argv[1])), Handler)
    server.root = sys.argv[2] if len(sys.argv) > 2 else "."
    server.serve_forever()
