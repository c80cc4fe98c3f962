#!/usr/bin/env python3
"""A small HTTP/2 cleartext (h2c, prior knowledge) client: many streams at
once on one connection, for the deploy-h2 scenario. (Debian 12's curl 7.88.1
cannot reuse an h2c prior-knowledge connection: its second transfer fails
with "Error in the HTTP2 framing layer", with or without Libra.)

  h2client.py [--sequential [--max-stalls N]] PORT LABEL=METHOD:PATH[:FILE]...

Every request is opened at once on one connection to 127.0.0.1:PORT, so
the server interleaves their DATA frames; with --sequential, one after the
other on that connection, each when the previous one has ended. METHOD is GET, POST (FILE sent
with a content-length) or POST+stream (FILE sent with no content-length).
Uploads' DATA frames go out interleaved too, within the flow-control
windows the server grants. The client's own receive window is the
protocol's default 65,535 bytes, replenished (WINDOW_UPDATE) as DATA
arrives, so the server's flow control is exercised as well.

Prints one line per request, in argument order, in the deploy-* record form:
  LABEL exit=0 http=STATUS v=2 SHA256 LENGTH    GET: of the body received
  LABEL exit=0 http=STATUS v=2 ANSWER           POST: the body received, stripped
  LABEL exit=REASON http=STATUS v=2 SHA256 LENGTH   the stream did not end well:
        REASON is stall (nothing arrived for STALL_S seconds), timeout (the
        connection ran past MAX_S), reset (RST_STREAM with its code), goaway,
        closed (the connection ended), connectERRNO or error; with
        --sequential a failed connection fails only the stream under way,
        and the next one goes on a new connection; after N stalls (--max-stalls)
        the streams not yet run are "skipped"
Exit status 0 when every stream ended well, 1 otherwise.
"""
import hashlib
import socket
import struct
import sys
import time

STALL_S = 10
MAX_S = 300
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, PADDED, PRIORITY = 0x1, 0x4, 0x8, 0x20
DEFAULT_WINDOW = 65535
MAX_FRAME = 16384
# HPACK static table entries for :status (RFC 7541 appendix A)
STATUS_INDEX = {8: "200", 9: "204", 10: "206", 11: "304", 12: "400", 13: "404", 14: "500"}


def hpack_int(value, prefix_bits, first):
    """RFC 7541 5.1: VALUE with an N-bit prefix, FIRST holding the other bits."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def literal(index, value):
    """Literal header field without indexing, name from the static table."""
    value = value.encode()
    return hpack_int(index, 4, 0x00) + hpack_int(len(value), 7, 0x00) + value


def status_of(block):
    """:status from a response header block as nginx encodes it: indexed
    (0x88 is 200) or literal with the indexed name 8 and raw digits."""
    if not block:
        return "none"
    b = block[0]
    if b & 0x80:
        return STATUS_INDEX.get(b & 0x7f, "other")
    if b & 0xc0 == 0x40 and b & 0x3f in STATUS_INDEX and len(block) >= 5 and not block[1] & 0x80:
        return block[2:2 + block[1]].decode(errors="replace")
    return "other"


class Stream:
    def __init__(self, label, method, path, file):
        self.sid, self.label, self.method, self.path = 0, label, method, path
        self.body = open(file, "rb").read() if file else b""
        self.sent = 0
        self.send_window = DEFAULT_WINDOW
        self.block = b""
        self.status = "none"
        self.digest = hashlib.sha256()
        self.length = 0
        self.answer = b""
        self.ended = False
        self.failure = None
        self.opened = False


def frame(kind, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", sid) + payload


def run_connection(port, streams, sequential):
    """One connection: opens STREAMS (all at once, or one after the other)
    and runs until each has ended or the connection fails. Returns the
    streams it never opened (--sequential, after a connection failure)."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=STALL_S)
    except OSError as e:
        for s in streams:
            s.failure = f"connect{e.errno}"
        return []
    out = bytearray(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(SETTINGS, 0, 0, struct.pack(">HI", 2, 0)))
    by_id = {}
    next_sid = 1
    conn_window = DEFAULT_WINDOW
    peer_initial = DEFAULT_WINDOW
    peer_max_frame = MAX_FRAME
    goaway = False

    def open_stream(s, out):
        nonlocal next_sid
        s.sid, s.send_window = next_sid, peer_initial
        next_sid += 2
        by_id[s.sid] = s
        upload = s.method != "GET"
        block = (b"\x83" if upload else b"\x82") + b"\x86" + literal(4, s.path) + literal(1, f"127.0.0.1:{port}")
        if s.method == "POST":
            block += literal(31, "application/octet-stream") + literal(28, str(len(s.body)))
        elif upload:
            block += literal(31, "application/octet-stream")
        out += frame(HEADERS, END_HEADERS | (0 if upload else END_STREAM), s.sid, block)
        s.opened = True

    for s in streams[:1] if sequential else streams:
        open_stream(s, out)
    sock.sendall(out)

    inbuf = bytearray()
    start = last_progress = time.monotonic()
    connection_failure = None

    def pending():
        return [s for s in streams if not s.ended and not s.failure]

    while pending() and not connection_failure:
        out = bytearray()
        # --sequential: the next request when none is under way (after a
        # GOAWAY, on a new connection)
        if sequential and not [s for s in pending() if s.opened]:
            if goaway:
                break
            open_stream(pending()[0], out)
        # uploads: DATA in turn on every stream, as far as the windows allow
        progressed = True
        while progressed:
            progressed = False
            for s in streams:
                if s.method == "GET" or not s.opened or s.failure or s.sent > len(s.body) or s.ended:
                    continue
                if s.sent == len(s.body):
                    out += frame(DATA, END_STREAM, s.sid)
                    s.sent += 1  # past the end: END_STREAM sent
                    continue
                n = min(peer_max_frame, conn_window, s.send_window, len(s.body) - s.sent, 16384)
                if n <= 0:
                    continue
                last = s.sent + n == len(s.body)
                out += frame(DATA, END_STREAM if last else 0, s.sid, s.body[s.sent:s.sent + n])
                s.sent += n + (1 if last else 0)
                conn_window -= n
                s.send_window -= n
                progressed = True
        if out:
            sock.sendall(out)
        now = time.monotonic()
        if now - start > MAX_S:
            connection_failure = "timeout"
            break
        try:
            sock.settimeout(max(0.1, STALL_S - (now - last_progress)))
            piece = sock.recv(1 << 20)
        except socket.timeout:
            connection_failure = "stall"
            break
        except OSError:
            connection_failure = "closed"
            break
        if not piece:
            connection_failure = "closed"
            break
        last_progress = time.monotonic()
        inbuf += piece
        reply = bytearray()
        pos = 0
        while len(inbuf) - pos >= 9:
            length = int.from_bytes(inbuf[pos:pos + 3], "big")
            if len(inbuf) - pos < 9 + length:
                break
            kind, flags = inbuf[pos + 3], inbuf[pos + 4]
            sid = struct.unpack(">I", inbuf[pos + 5:pos + 9])[0] & 0x7fffffff
            payload = bytes(inbuf[pos + 9:pos + 9 + length])
            pos += 9 + length
            s = by_id.get(sid)
            if kind == SETTINGS and not flags & 1:
                for i in range(0, len(payload), 6):
                    key, value = struct.unpack(">HI", payload[i:i + 6])
                    if key == 4:  # INITIAL_WINDOW_SIZE
                        for t in streams:
                            if t.opened:
                                t.send_window += value - peer_initial
                        peer_initial = value
                    elif key == 5:
                        peer_max_frame = value
                reply += frame(SETTINGS, 1, 0)
            elif kind == PING and not flags & 1:
                reply += frame(PING, 1, 0, payload)
            elif kind == WINDOW_UPDATE:
                inc = struct.unpack(">I", payload)[0] & 0x7fffffff
                if sid == 0:
                    conn_window += inc
                elif s:
                    s.send_window += inc
            elif kind == GOAWAY:
                last_sid = struct.unpack(">I", payload[:4])[0] & 0x7fffffff
                code = struct.unpack(">I", payload[4:8])[0]
                goaway = True
                for t in pending():
                    if t.opened and (t.sid > last_sid or code):
                        t.failure = f"goaway{code}"
            elif kind == RST_STREAM and s:
                s.failure = f"reset{struct.unpack('>I', payload)[0]}"
            elif kind in (HEADERS, CONTINUATION) and s:
                p = payload
                if kind == HEADERS:
                    pad = p[0] if flags & PADDED else 0
                    p = p[1 if flags & PADDED else 0:len(p) - pad]
                    if flags & PRIORITY:
                        p = p[5:]
                if s.status == "none":
                    s.block += p
                    if flags & END_HEADERS:
                        status = status_of(s.block)
                        if status.startswith("1"):  # interim: the final one follows
                            s.block = b""
                        else:
                            s.status = status
                if flags & END_STREAM:
                    s.ended = True
            elif kind == DATA and s:
                pad = payload[0] if flags & PADDED else 0
                data = payload[1 if flags & PADDED else 0:len(payload) - pad]
                s.digest.update(data)
                s.length += len(data)
                if s.method != "GET" and len(s.answer) < 200:
                    s.answer += data
                if length:
                    reply += frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", length))
                    if not flags & END_STREAM:
                        reply += frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", length))
                if flags & END_STREAM:
                    s.ended = True
        del inbuf[:pos]
        if reply:
            sock.sendall(reply)
    for s in pending():
        if s.opened:
            s.failure = connection_failure or "error"
    sock.close()
    return [s for s in streams if not s.opened]


def main():
    args = sys.argv[1:]
    sequential = args[:1] == ["--sequential"]
    max_stalls = 1 << 30
    if sequential:
        args = args[1:]
        if args[:1] == ["--max-stalls"]:
            max_stalls, args = int(args[1]), args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    port = int(args[0])
    streams = []
    for spec in args[1:]:
        label, _, rest = spec.partition("=")
        method, path, *file = rest.split(":")
        streams.append(Stream(label, method, path, file[0] if file else None))
    left = streams
    while left:  # --sequential: after a failed connection, the rest on a new one
        if sum(s.failure == "stall" for s in streams) >= max_stalls:
            for s in left:
                s.failure = "skipped"
            break
        left = run_connection(port, left, sequential)

    ok = True
    for s in streams:
        reason = s.failure or "0"
        ok &= reason == "0"
        if s.method != "GET" and reason == "0":
            answer = s.answer.decode(errors="replace").strip() or "EMPTY"
            print(f"{s.label} exit={reason} http={s.status} v=2 {answer}")
        else:
            print(f"{s.label} exit={reason} http={s.status} v=2 {s.digest.hexdigest()} {s.length}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
