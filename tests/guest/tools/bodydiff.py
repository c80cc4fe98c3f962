#!/usr/bin/env python3
"""Where a received body differs from its original, for a precise report.

  bodydiff.py RECEIVED ORIGINAL [CHUNK]

Prints both lengths, how many bytes differ, and the differing ranges (gaps
under 64 bytes merged; the first 20), each with its offset inside the
upstream's chunks of CHUNK bytes when given, and whether a Libra token
(magic, id, region length) stands in the received bytes at or just before it.
"""
import struct
import sys

MAGIC = b"\xf7LIBRA\x01\xf7"


def main():
    got = open(sys.argv[1], "rb").read()
    want = open(sys.argv[2], "rb").read()
    chunk = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    n = min(len(got), len(want))
    print(f"bodydiff: received {len(got)} bytes, original {len(want)}")
    ranges = []
    differing = 0
    step = 4096
    for i in range(0, n, step):  # a page at a time, byte by byte where it differs
        if got[i:i + step] == want[i:i + step]:
            continue
        for j in range(i, min(i + step, n)):
            if got[j] != want[j]:
                differing += 1
                if ranges and j - ranges[-1][1] < 64:
                    ranges[-1][1] = j + 1
                else:
                    ranges.append([j, j + 1])
    if len(got) != len(want):
        ranges.append([n, max(len(got), len(want))])
    print(f"bodydiff: {differing} bytes differ in {len(ranges)} ranges;"
          f" the received body holds {got.count(MAGIC)} token magics")
    for start, end in ranges[:20]:
        where = f" (offset {start % chunk} in chunk {start // chunk} of {chunk} bytes)" if chunk else ""
        print(f"bodydiff:   [{start}, {end}) {end - start} bytes{where};"
              f" {got.count(MAGIC, start, end)} token magics in it")
        # what stands there instead: zeros (a region's fill went out), or
        # bytes of the original from elsewhere (pages sent at the wrong place)
        seg = got[start:end]
        probe = seg[:32]
        elsewhere = want.find(probe) if len(probe) == 32 and probe.count(0) < 32 else -1
        print(f"bodydiff:     received there: {seg.count(0)} zero bytes; first bytes {seg[:16].hex()}"
              f" (original {want[start:start + 16].hex()}); "
              + (f"its first 32 bytes stand in the original at {elsewhere} ({elsewhere - start:+})"
                 if elsewhere >= 0 else "its first 32 bytes are nowhere in the original"))
        # the tokens that chain from the range's start, each where the
        # region before it ends: the regions the proxy received there
        k, chain = got.find(MAGIC, max(0, start - 32), end), []
        while 0 <= k < end and k + 32 <= len(got) and got[k:k + 8] == MAGIC and len(chain) < 40:
            _, tid, tlen = struct.unpack_from("<8sQI", got, k)
            chain.append(f"{k - start}:{tid:#x}/{tlen}")
            if not 32 <= tlen <= 1 << 20:
                break
            k += tlen
        if chain:
            print(f"bodydiff:     tokens from its start (offset in range:id/region length): {' '.join(chain)};"
                  f" the chain ends at {k - start}")
    if len(ranges) > 20:
        print(f"bodydiff:   ... {len(ranges) - 20} more ranges")


if __name__ == "__main__":
    main()
