#!/usr/bin/env python3
"""A FastCGI responder that checks every record it receives, for deploy-fastcgi.

  fcgi_responder.py [--tcp HOST:PORT] [--unix PATH] [--log FILE]

Serves FastCGI (the responder role) on a TCP address, a unix socket, or both.
Each request is answered with "<sha256 hex> <length>\\n" of its body (status
200), where the body is FCGI_STDIN, or, when the request carries the
parameter REQUEST_BODY_FILE (nginx's $request_body_file), that file's content
(and STDIN, if not empty, must then equal the file).

Every record header is checked as it arrives, strictly, against what the
specification allows and nginx sends (ngx_http_fastcgi_module.c):
  - version 1, reserved byte 0, a known type, the request id of the
    connection's FCGI_BEGIN_REQUEST (not 0);
  - FCGI_BEGIN_REQUEST first, content length 8, role RESPONDER, no flag but
    FCGI_KEEP_CONN, reserved bytes 0;
  - then FCGI_PARAMS records up to an empty one; the name-value pairs must
    consume the stream exactly (no pair cut, no bytes left), names printable
    ASCII without spaces; CONTENT_LENGTH, when set, must be the body's length;
  - then FCGI_STDIN records up to an empty one (a non-empty record for each
    piece of the body);
  - padding: at most 7 bytes, the record (content + padding) a multiple of 8,
    padding bytes all zero (nginx pads with zeros to 8-byte alignment);
  - nothing after the empty FCGI_STDIN: before answering, no further byte may
    be waiting; without FCGI_KEEP_CONN, after the answer the connection must
    end (EOF) with no byte more; with it, the next record must be a new
    FCGI_BEGIN_REQUEST.
Any violation fails the request loudly: status 500 with the reason as the
body (when the connection still takes it), a line in the log, and the
connection is closed (the stream cannot be trusted after it).

The log gets one line per request: "ok <transport> <sha> <length>" or
"ERROR <transport> <reason>"; a body that holds Libra token magics
(\\xf7LIBRA\\x01\\xf7) says how many and where the first stands.
"""
import argparse
import hashlib
import os
import select
import socket
import struct
import sys
import threading

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR, DATA = range(1, 9)
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
TYPE_NAMES = {1: "BEGIN_REQUEST", 2: "ABORT_REQUEST", 3: "END_REQUEST", 4: "PARAMS", 5: "STDIN",
              6: "STDOUT", 7: "STDERR", 8: "DATA", 9: "GET_VALUES", 10: "GET_VALUES_RESULT",
              11: "UNKNOWN_TYPE"}
RESPONDER = 1
KEEP_CONN = 1
MAGIC = b"\xf7LIBRA\x01\xf7"
TIMEOUT_S = 60

log_lock = threading.Lock()
log_file = None


def log(line):
    with log_lock:
        print(f"fcgi_responder: {line}", file=sys.stderr, flush=True)
        if log_file:
            log_file.write(line + "\n")
            log_file.flush()


class FramingError(Exception):
    pass


class Conn:
    """Reads records off one connection, checking each header."""

    def __init__(self, sock, transport):
        self.sock = sock
        self.transport = transport
        self.buf = bytearray()
        self.offset = 0  # stream offset of buf[0], for the reports
        self.records = 0

    def fill(self, n, what):
        while len(self.buf) < n:
            try:
                piece = self.sock.recv(1 << 20)
            except socket.timeout:
                raise FramingError(f"timed out after {TIMEOUT_S} s waiting for {what}"
                                   f" at stream offset {self.offset + len(self.buf)}")
            if not piece:
                return False
            self.buf += piece
        return True

    def take(self, n):
        data = bytes(self.buf[:n])
        del self.buf[:n]
        self.offset += n
        return data

    def record(self, request_id, at_start=False):
        """Returns (type, content) of the next record; None at a clean EOF
        between requests (at_start)."""
        where = self.offset
        if not self.fill(8, "a record header"):
            if at_start and not self.buf:
                return None
            raise FramingError(f"connection ended inside a record header at stream offset"
                               f" {self.offset + len(self.buf)} (record {self.records + 1})")
        version, rtype, rid, clen, plen, reserved = struct.unpack(">BBHHBB", self.buf[:8])
        head = bytes(self.buf[:8]).hex()
        ctx = f"record {self.records + 1} at stream offset {where} (header {head})"
        if version != 1:
            raise FramingError(f"{ctx}: version {version}, not 1")
        if rtype not in (BEGIN_REQUEST, ABORT_REQUEST, PARAMS, STDIN, DATA, GET_VALUES):
            raise FramingError(f"{ctx}: type {rtype} ({TYPE_NAMES.get(rtype, 'unknown')})"
                               " is not one a web server sends")
        if reserved != 0:
            raise FramingError(f"{ctx}: reserved byte {reserved}, not 0")
        if rtype == GET_VALUES:
            raise FramingError(f"{ctx}: FCGI_GET_VALUES (nginx never sends it)")
        if rtype == DATA:
            raise FramingError(f"{ctx}: FCGI_DATA (the filter role's; this is a responder)")
        if request_id is not None and rid != request_id:
            raise FramingError(f"{ctx}: request id {rid}, the request's is {request_id}")
        if rid == 0:
            raise FramingError(f"{ctx}: request id 0 on an application record")
        if plen > 7 or (clen + plen) % 8:
            raise FramingError(f"{ctx}: content {clen} + padding {plen}: not nginx's 8-byte alignment")
        if not self.fill(8 + clen + plen, f"the content of {ctx}"):
            raise FramingError(f"{ctx}: connection ended inside its {clen} content + {plen} padding"
                               f" bytes ({len(self.buf) - 8} came)")
        self.take(8)
        content = self.take(clen)
        padding = self.take(plen)
        if padding.strip(b"\0"):
            raise FramingError(f"{ctx}: padding bytes {padding.hex()} are not zeros")
        self.records += 1
        return rtype, rid, content, ctx

    def pending(self, wait_s):
        """True when a byte is waiting (in our buffer or the socket) within wait_s."""
        if self.buf:
            return True
        ready, _, _ = select.select([self.sock], [], [], wait_s)
        if not ready:
            return False
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except OSError:
            return False


def parse_params(data, ctx):
    params, i = {}, 0

    def length():
        nonlocal i
        if i >= len(data):
            raise FramingError(f"{ctx}: a name-value pair is cut off at byte {i} of {len(data)}")
        if data[i] < 0x80:
            i += 1
            return data[i - 1]
        if i + 4 > len(data):
            raise FramingError(f"{ctx}: a 4-byte length is cut off at byte {i} of {len(data)}")
        n = struct.unpack(">I", data[i:i + 4])[0] & 0x7fffffff
        i += 4
        return n

    while i < len(data):
        nlen = length()
        vlen = length()
        if i + nlen + vlen > len(data):
            raise FramingError(f"{ctx}: pair at byte {i} claims {nlen} + {vlen} bytes,"
                               f" {len(data) - i} are left")
        name = data[i:i + nlen]
        value = data[i + nlen:i + nlen + vlen]
        i += nlen + vlen
        if not name or any(c <= 0x20 or c >= 0x7f for c in name):
            raise FramingError(f"{ctx}: parameter name {name[:40]!r} is not printable ASCII")
        params[name.decode()] = value.decode("latin-1")
    return params


def describe_tokens(body):
    count = body.count(MAGIC)
    if not count:
        return ""
    return f"; the body holds {count} Libra token magics, the first at offset {body.find(MAGIC)}"


def send_records(sock, request_id, status, text):
    out = f"Status: {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(text)}\r\n\r\n{text}"
    data = out.encode("latin-1", "replace")
    records = b""
    for i in range(0, len(data), 65528):
        piece = data[i:i + 65528]
        pad = -len(piece) % 8
        records += struct.pack(">BBHHBB", 1, STDOUT, request_id, len(piece), pad, 0) + piece + b"\0" * pad
    records += struct.pack(">BBHHBB", 1, STDOUT, request_id, 0, 0, 0)
    records += struct.pack(">BBHHBB", 1, END_REQUEST, request_id, 8, 0, 0) + struct.pack(">IB3x", 0, 0)
    sock.sendall(records)


def serve_connection(sock, transport):
    sock.settimeout(TIMEOUT_S)
    conn = Conn(sock, transport)
    request_id = None
    try:
        while True:
            request_id = None
            rec = conn.record(None, at_start=True)
            if rec is None:
                return  # nginx closed a kept connection
            rtype, rid, content, ctx = rec
            if rtype != BEGIN_REQUEST:
                raise FramingError(f"{ctx}: {TYPE_NAMES[rtype]} where FCGI_BEGIN_REQUEST must come")
            request_id = rid
            if len(content) != 8:
                raise FramingError(f"{ctx}: FCGI_BEGIN_REQUEST with {len(content)} content bytes, not 8")
            role, flags = struct.unpack(">HB", content[:3])
            if role != RESPONDER or flags & ~KEEP_CONN or content[3:].strip(b"\0"):
                raise FramingError(f"{ctx}: FCGI_BEGIN_REQUEST body {content.hex()}: role {role},"
                                   f" flags {flags}")
            keep = bool(flags & KEEP_CONN)

            stream = bytearray()
            while True:
                rtype, _, content, ctx = conn.record(request_id)
                if rtype != PARAMS:
                    raise FramingError(f"{ctx}: {TYPE_NAMES[rtype]} inside the FCGI_PARAMS stream")
                if not content:
                    break
                stream += content
            params = parse_params(bytes(stream), f"the FCGI_PARAMS stream ending before {ctx}")

            digest, length, stdin = hashlib.sha256(), 0, bytearray()
            keep_stdin = "REQUEST_BODY_FILE" in params
            magics, first_magic = 0, -1
            while True:
                rtype, _, content, ctx = conn.record(request_id)
                if rtype != STDIN:
                    raise FramingError(f"{ctx}: {TYPE_NAMES[rtype]} inside the FCGI_STDIN stream"
                                       f" (after {length} body bytes)")
                if not content:
                    break
                digest.update(content)
                if MAGIC in content:
                    if first_magic < 0:
                        first_magic = length + content.find(MAGIC)
                    magics += content.count(MAGIC)
                length += len(content)
                if keep_stdin:
                    stdin += content
            if conn.pending(0.05):
                extra = bytes(conn.buf[:32]) or conn.sock.recv(32, socket.MSG_PEEK)
                raise FramingError(f"bytes after the empty FCGI_STDIN, before the answer"
                                   f" (stream offset {conn.offset}): {extra.hex()}")

            note = ""
            if keep_stdin:
                path = params["REQUEST_BODY_FILE"]
                try:
                    with open(path, "rb") as f:
                        body = f.read()
                except OSError as e:
                    raise FramingError(f"REQUEST_BODY_FILE {path!r}: {e}")
                if stdin and bytes(stdin) != body:
                    raise FramingError(f"STDIN ({len(stdin)} bytes) differs from REQUEST_BODY_FILE"
                                       f" ({len(body)} bytes)")
                sha, length = hashlib.sha256(body).hexdigest(), len(body)
                note = describe_tokens(body)
            else:
                sha = digest.hexdigest()
                if magics:
                    note = f"; the body holds {magics} Libra token magics, the first at offset {first_magic}"
            want = params.get("CONTENT_LENGTH", "")
            if want and int(want) != length:
                raise FramingError(f"the body has {length} bytes, CONTENT_LENGTH says {want}" + note)
            answer = f"{sha} {length}\n"
            send_records(sock, request_id, "200 OK", answer)
            log(f"ok {transport} {sha} {length} {params.get('REQUEST_URI', '?')}"
                f"{' file' if keep_stdin else ''}{note}")
            if not keep:
                sock.shutdown(socket.SHUT_WR)
                extra = b""
                while True:
                    try:
                        piece = sock.recv(65536)
                    except (socket.timeout, OSError) as e:
                        log(f"ERROR {transport} waiting for the end of the connection: {e}")
                        return
                    if not piece:
                        break
                    extra += piece
                if extra:
                    log(f"ERROR {transport} {len(extra)} bytes after the request, before the"
                        f" connection ended: {extra[:32].hex()}{describe_tokens(extra)}")
                return
    except FramingError as e:
        log(f"ERROR {transport} {e}")
        if request_id:
            try:
                send_records(sock, request_id, "500 Framing Error", f"FRAMING ERROR: {e}\n")
            except OSError:
                pass
    except OSError as e:
        log(f"ERROR {transport} connection failed: {e}")
    finally:
        sock.close()


def accept_loop(listener, transport):
    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(sock, transport), daemon=True).start()


def main():
    global log_file
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tcp", help="HOST:PORT")
    ap.add_argument("--unix", help="socket path")
    ap.add_argument("--log", help="one line per request")
    args = ap.parse_args()
    if not args.tcp and not args.unix:
        ap.error("--tcp or --unix")
    if args.log:
        log_file = open(args.log, "a")
    threads = []
    if args.tcp:
        host, port = args.tcp.rsplit(":", 1)
        listener = socket.create_server((host, int(port)), backlog=128)
        threads.append(threading.Thread(target=accept_loop, args=(listener, "tcp"), daemon=True))
    if args.unix:
        if os.path.exists(args.unix):
            os.unlink(args.unix)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(args.unix)
        os.chmod(args.unix, 0o666)
        listener.listen(128)
        threads.append(threading.Thread(target=accept_loop, args=(listener, "unix"), daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
