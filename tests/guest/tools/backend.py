#!/usr/bin/env python3
"""A backend with the framings and failures a plain static server never shows.

  GET /chunked/<size>[?chunk=N]   body of <size> bytes, Transfer-Encoding: chunked
  GET /close/<size>               HTTP/1.0-style body delimited by closing the connection
  GET /early-close/<size>         promises <size> bytes, sends half, closes
  GET /slow/<size>                body sent in 8 KiB pieces with pauses
  GET|HEAD /cl/<size>             plain Content-Length body (HEAD: headers only)
  GET /interim/<size>             a 103 Early Hints, then the response

Bodies are deterministic: byte i of a <size> body is (i * 131 + size) % 251,
so a client checks them with `backend.py --body SIZE [PREFIX]`, without a file.
"""
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
    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, target, _ = line.decode("latin-1").split(" ", 2)
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            url = urllib.parse.urlparse(target)
            kind, size = url.path.strip("/").split("/")
            size = int(size)
            if not getattr(self, "serve_" + kind.replace("-", "_"))(method, size, url):
                return

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


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--body":
        size = int(sys.argv[2])
        prefix = int(sys.argv[3]) if len(sys.argv) > 3 else size
        sys.stdout.buffer.write(body(size)[:prefix])
        sys.exit(0)
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
