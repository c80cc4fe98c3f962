#!/usr/bin/env python3
"""Turns the guest's LIBRA-BENCH lines into CSV, Markdown and PNG plots.

    report.py --raw raw.txt --out DIR [--check] [--no-plots] [--host-cpu S] [--qemu S] [--elapsed SEC]

Writes DIR/runs.csv (one row per timed run), DIR/cells.csv (per cell:
medians, min/max over repetitions, ratios), DIR/copies.csv (bytes copied
across the user/kernel boundary per request next to the metadata floor, and
Libra's counters), DIR/results.md, DIR/configs/*, and PNGs when gnuplot is
installed (unless --no-plots). --check (the fast mode's test) fails unless
every expected cell is present with sane numbers, the stock and Libra
configurations are identical, and the byte counter shows Libra (splice)
copying less than a quarter (three quarters) of what stock copies per GET of
64 KiB or more; it never judges timings.
"""
import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

CONFIG_LABELS = {
    "direct": "direct to backend",
    "direct-unloaded": "direct, libra.ko not loaded",
    "nginx-libra-timed": "nginx + Libra, time_stats on",
    "haproxy-libra-timed": "HAProxy + Libra, time_stats on",
    "nginx-stock": "nginx (stock)",
    "nginx-libra": "nginx + Libra",
    "haproxy-stock": "HAProxy (stock)",
    "haproxy-libra": "HAProxy + Libra",
    "haproxy-splice": "HAProxy splice",
    "nginx-tls": "nginx TLS (user space)",
    "nginx-ktls-stock": "nginx kernel TLS",
    "nginx-ktls-libra": "nginx kernel TLS + Libra",
}
STOCK_OF = {"nginx-libra": "nginx-stock", "haproxy-libra": "haproxy-stock", "nginx-ktls-libra": "nginx-ktls-stock",
            "nginx-libra-timed": "nginx-stock", "haproxy-libra-timed": "haproxy-stock"}
# plot styles: stock light, Libra dark of the same hue; splice green; direct black
STYLE = {
    "direct": "lc rgb '#000000' pt 1",
    "direct-unloaded": "lc rgb '#808080' pt 2",
    "nginx-libra-timed": "lc rgb '#4a7fcc' pt 3",
    "haproxy-libra-timed": "lc rgb '#d0583a' pt 3",
    "nginx-stock": "lc rgb '#8fb8e8' pt 6",
    "nginx-libra": "lc rgb '#1a4f9c' pt 7",
    "haproxy-stock": "lc rgb '#f0a08c' pt 4",
    "haproxy-libra": "lc rgb '#b0281a' pt 5",
    "haproxy-splice": "lc rgb '#2e9e44' pt 9",
    "nginx-tls": "lc rgb '#c9a0dc' pt 12",
    "nginx-ktls-stock": "lc rgb '#a070c0' pt 10",
    "nginx-ktls-libra": "lc rgb '#5a1f7a' pt 11",
}
PROXIES = ["nginx-stock", "nginx-libra", "haproxy-stock", "haproxy-libra", "haproxy-splice",
           "nginx-tls", "nginx-ktls-stock", "nginx-ktls-libra"]
# The module's timing counters (nanoseconds), read around every Libra timed
# run: (counter, label). The handlers contain the other spans.
MOD_TIMES = [
    ("time_rx_handler_ns", "rx handler"),
    ("time_anchor_build_ns", "anchor build"),
    ("time_parse_ns", "parse"),
    ("time_zero_fill_ns", "zero fill"),
    ("time_tx_handler_ns", "tx handler"),
    ("time_token_scan_ns", "token scan"),
    ("time_page_send_ns", "page send"),
    ("time_materialize_ns", "materialize"),
]
MOD_CALLS = [("recvmsg_engaged", "recv calls"), ("sendmsg_engaged", "send calls")]


def human_size(n):
    n = int(n)
    for unit, div in (("M", 1 << 20), ("K", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def human_bytes(b):
    if b is None:
        return "—"
    if b >= 1 << 20:
        return f"{b / (1 << 20):.2f} MiB"
    if b >= 1 << 10:
        return f"{b / (1 << 10):.1f} KiB"
    return f"{b:.0f} B"


def fnum(v, nd=1):
    return "—" if v is None else f"{v:.{nd}f}"


def parse_kv(text):
    out = {}
    for word in text.split():
        if "=" in word:
            k, v = word.split("=", 1)
            out[k] = v
    return out


def to_num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def load(raw):
    info, runs, copies, confs, selftest, libra_total = {}, [], [], defaultdict(list), [], {}
    plan = {}
    with open(raw, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("LIBRA-BENCH-CONF: "):
                name, _, rest = line[len("LIBRA-BENCH-CONF: "):].partition("| ")
                confs[name].append(rest)
                continue
            if not line.startswith("LIBRA-BENCH: "):
                continue
            kv = parse_kv(line[len("LIBRA-BENCH: "):])
            kind = kv.get("kind")
            if kind == "info":
                info[kv["key"]] = kv.get("value", "").replace("_", " ") if kv["key"] == "cpu" else kv.get("value", "")
            elif kind == "run":
                runs.append(kv)
            elif kind == "copy":
                copies.append(kv)
            elif kind == "selftest":
                selftest.append(kv.get("line", "").replace("_", " ").strip())
            elif kind == "libra-total":
                libra_total[kv["name"]] = kv["value"]
            elif kind == "plan":
                plan = kv
    return info, runs, copies, confs, selftest, libra_total, plan


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def mod_per_req(run, name, scale):
    """A Libra counter's change over a timed run, per request, times scale; None if absent."""
    v, n = to_num(run.get("libra_" + name)), to_num(run.get("requests"))
    return None if v is None or not n else v / n * scale


def build_cells(runs):
    cells = defaultdict(list)
    for r in runs:
        key = (r["method"], int(r["size"]), int(r["conns"]), r["config"])
        cells[key].append(r)
    out = {}
    for key, rs in cells.items():
        rs.sort(key=lambda r: int(r["rep"]))
        rps = [to_num(r["rps"]) for r in rs]
        p50 = [to_num(r["p50_us"]) for r in rs]
        p99 = [to_num(r["p99_us"]) for r in rs]
        out[key] = {
            "n": len(rs),
            "rps": rps, "rps_med": median(rps), "rps_min": min(rps), "rps_max": max(rps),
            "p50": p50, "p50_med": median(p50),
            "p99": p99, "p99_med": median(p99), "p99_min": min(p99), "p99_max": max(p99),
            "pcpu_med": median([to_num(r["proxy_cpu_us_per_req"]) for r in rs]),
            "scpu_med": median([to_num(r["sys_cpu_us_per_req"]) for r in rs]),
            "reps": {int(r["rep"]): r for r in rs},
            # module time per request, µs (median over repetitions), and calls per request
            "mod": {k: median([mod_per_req(r, k, 1e-3) for r in rs]) for k, _ in MOD_TIMES},
            "calls": {k: median([mod_per_req(r, k, 1.0) for r in rs]) for k, _ in MOD_CALLS},
        }
    return out


def ratio_spread(cells, key_a, key_b, field="rps"):
    """median(A)/median(B) and min/max of the per-repetition ratios A_i/B_i."""
    a, b = cells.get(key_a), cells.get(key_b)
    if not a or not b:
        return None
    fa = {k: to_num(v[field + "_us" if field != "rps" else "rps"]) for k, v in a["reps"].items()}
    fb = {k: to_num(v[field + "_us" if field != "rps" else "rps"]) for k, v in b["reps"].items()}
    per = [fa[k] / fb[k] for k in fa if k in fb and fb[k]]
    ma, mb = a[field + "_med"], b[field + "_med"]
    if not per or not mb:
        return None
    return (ma / mb, min(per), max(per))


def fmt_ratio(r, nd=2):
    if r is None:
        return "—"
    med, lo, hi = r
    if abs(hi - lo) < 10 ** -nd:
        return f"{med:.{nd}f}x"
    return f"{med:.{nd}f}x ({lo:.{nd}f}–{hi:.{nd}f})"


def build_copies(copies):
    out = {}
    for c in copies:
        reqs = int(c["reqs"])
        size = int(c["size"])
        meta = sum(int(c[k]) for k in ("meta_client_req", "meta_client_resp", "meta_upstream_req", "meta_upstream_resp"))
        to_u, from_u = to_num(c.get("to_user_bytes")), to_num(c.get("from_user_bytes"))
        row = {
            "config": c["config"], "method": c["method"], "size": size, "reqs": reqs,
            "upstream_reqs": int(c.get("upstream_reqs", 0)),
            "meta_per_req": meta / reqs,
            "meta_client_req": int(c["meta_client_req"]) / reqs,
            "meta_client_resp": int(c["meta_client_resp"]) / reqs,
            "meta_upstream_req": int(c["meta_upstream_req"]) / reqs,
            "meta_upstream_resp": int(c["meta_upstream_resp"]) / reqs,
            "to_user_per_req": None if to_u is None else to_u / reqs,
            "from_user_per_req": None if from_u is None else from_u / reqs,
            "verified": c.get("verified", "NA"),
            "libra": {k[len("libra_"):]: int(v) / reqs for k, v in c.items() if k.startswith("libra_")},
        }
        row["copied_per_req"] = None if to_u is None else (to_u + from_u) / reqs
        row["copied_over_meta"] = None if row["copied_per_req"] is None else row["copied_per_req"] / row["meta_per_req"]
        out[(c["method"], size, c["config"])] = row
    return out


def write_csvs(outdir, runs, cells, copies):
    with open(os.path.join(outdir, "runs.csv"), "w", newline="") as f:
        w = csv.writer(f)
        cols = ["config", "method", "size", "conns", "rep", "requests", "rps", "p50_us", "p99_us",
                "proxy_cpu_us_per_req", "sys_cpu_us_per_req", "errors"]
        mod = [k for k, _ in MOD_TIMES]
        w.writerow(cols + [k[:-3] + "_us_per_req" for k in mod] + [k + "_per_req" for k, _ in MOD_CALLS])
        for r in runs:
            w.writerow([r.get(c, "") for c in cols] + [fnum(mod_per_req(r, k, 1e-3), 1) if mod_per_req(r, k, 1) is not None else ""
                                                       for k in mod]
                       + [fnum(mod_per_req(r, k, 1.0), 1) if mod_per_req(r, k, 1) is not None else "" for k, _ in MOD_CALLS])
    with open(os.path.join(outdir, "cells.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "size", "conns", "config", "reps", "rps_median", "rps_min", "rps_max",
                    "p50_us_median", "p99_us_median", "p99_us_min", "p99_us_max",
                    "proxy_cpu_us_per_req", "sys_cpu_us_per_req",
                    "rps_vs_stock", "rps_vs_stock_min", "rps_vs_stock_max",
                    "p99_vs_stock", "rps_vs_direct", "copied_bytes_per_req", "metadata_bytes_per_req"]
                   + ["module_" + k[len("time_"):-3] + "_us_per_req" for k, _ in MOD_TIMES]
                   + [k + "_per_req" for k, _ in MOD_CALLS])
        for key in sorted(cells, key=lambda k: (k[0], k[1], k[2], list(CONFIG_LABELS).index(k[3]))):
            m, size, conns, cfg = key
            c = cells[key]
            base = STOCK_OF.get(cfg) or ("haproxy-stock" if cfg == "haproxy-splice" else None)
            vs = ratio_spread(cells, key, (m, size, conns, base)) if base else None
            p99vs = ratio_spread(cells, key, (m, size, conns, base), "p99") if base else None
            vd = ratio_spread(cells, key, (m, size, conns, "direct")) if cfg != "direct" else None
            cp = copies.get((m, size, cfg), {})
            w.writerow([m, size, conns, cfg, c["n"], fnum(c["rps_med"], 2), fnum(c["rps_min"], 2), fnum(c["rps_max"], 2),
                        fnum(c["p50_med"], 0), fnum(c["p99_med"], 0), fnum(c["p99_min"], 0), fnum(c["p99_max"], 0),
                        fnum(c["pcpu_med"]), fnum(c["scpu_med"]),
                        fnum(vs and vs[0], 3), fnum(vs and vs[1], 3), fnum(vs and vs[2], 3),
                        fnum(p99vs and p99vs[0], 3), fnum(vd and vd[0], 3),
                        fnum(cp.get("copied_per_req"), 0), fnum(cp.get("meta_per_req"), 0)]
                       + [fnum(c["mod"][k], 1) if c["mod"][k] is not None else "" for k, _ in MOD_TIMES]
                       + [fnum(c["calls"][k], 1) if c["calls"][k] is not None else "" for k, _ in MOD_CALLS])
    with open(os.path.join(outdir, "copies.csv"), "w", newline="") as f:
        w = csv.writer(f)
        libra_keys = sorted({k for r in copies.values() for k in r["libra"]})
        w.writerow(["method", "size", "config", "requests", "copied_to_user_per_req", "copied_from_user_per_req",
                    "copied_per_req", "metadata_per_req", "copied_over_metadata",
                    "meta_client_req", "meta_client_resp", "meta_upstream_req", "meta_upstream_resp", "verified"]
                   + ["libra_" + k + "_per_req" for k in libra_keys])
        for key in sorted(copies, key=lambda k: (k[0], k[1], list(CONFIG_LABELS).index(k[2]))):
            r = copies[key]
            w.writerow([r["method"], r["size"], r["config"], r["reqs"], fnum(r["to_user_per_req"], 0),
                        fnum(r["from_user_per_req"], 0), fnum(r["copied_per_req"], 0), fnum(r["meta_per_req"], 0),
                        fnum(r["copied_over_meta"], 2), fnum(r["meta_client_req"], 0), fnum(r["meta_client_resp"], 0),
                        fnum(r["meta_upstream_req"], 0), fnum(r["meta_upstream_resp"], 0), r["verified"]]
                       + [fnum(r["libra"].get(k, 0), 1) for k in libra_keys])


def plots(outdir, cells, sizes, conns_list, methods, configs):
    gp = shutil.which("gnuplot")
    if not gp:
        print("report: gnuplot not installed (apt-get install gnuplot-nox): no plots", file=sys.stderr)
        return []
    made = []
    datadir = os.path.join(outdir, ".plotdata")
    os.makedirs(datadir, exist_ok=True)
    for m in methods:
        for metric, field, ylabel, scale in (("throughput", "rps_med", "requests/s (log)", 1.0),
                                             ("p99", "p99_med", "P99 latency, ms (log)", 1e-3)):
            panels = []
            for conns in conns_list:
                files = []
                for cfg in configs:
                    path = os.path.join(datadir, f"{m}-{metric}-c{conns}-{cfg}.dat")
                    with open(path, "w") as f:
                        for s in sizes:
                            c = cells.get((m, s, conns, cfg))
                            if c and c[field]:
                                f.write(f"{s / 1024:g} {c[field] * scale:g}\n")
                    files.append((path, CONFIG_LABELS[cfg], STYLE.get(cfg, "")))
                plot = ", ".join(f"'{p}' using 1:2 with linespoints lw 2 {st} ps 0.8 title '{t}'" for p, t, st in files)
                panels.append(f"set title '{m}, {conns} connection{'s' if conns != 1 else ''}'\nplot {plot}\n")
            png = f"{m.lower()}-{metric}.png"
            width = 460 * len(panels) + 40
            script = f"""set terminal png size {width},360 font ',9'
set output '{os.path.join(outdir, png)}'
set logscale xy
set xlabel 'body size, KiB (log)'
set ylabel '{ylabel}'
set key {'top right' if metric == 'throughput' else 'top left'} font ',8'
set grid
set multiplot layout 1,{len(panels)}
{''.join(panels)}unset multiplot
"""
            subprocess.run([gp], input=script, text=True, check=True)
            made.append(png)
    shutil.rmtree(datadir, ignore_errors=True)
    return made


def check(info, runs, cells, copies, plan, confs):
    problems = []
    sizes = [int(s) for s in info.get("sizes", "").split(",") if s]
    methods = [m for m in info.get("methods", "").split(",") if m]
    conns_list = [int(c) for c in info.get("conns", "").split(",") if c]
    configs = [c for c in info.get("configs", "").split(",") if c]
    for libra, stock in STOCK_OF.items():
        if libra.endswith("-timed") or (libra not in configs and stock not in configs):
            continue	# a -timed configuration is its instance, measured with time_stats on
        if not confs.get(stock) or confs.get(stock) != confs.get(libra):
            problems.append(f"the configurations of {stock} and {libra} are missing or differ")
    reps = int(info.get("reps", "0") or 0)
    if not (sizes and methods and conns_list and configs and reps):
        problems.append("the run did not describe its sweep (info lines missing)")
    if plan and int(plan.get("runs", -1)) != len(runs):
        problems.append(f"planned {plan.get('runs')} runs, got {len(runs)}")
    for m in methods:
        for s in sizes:
            for cfg in configs:
                if cfg.endswith("-timed") or cfg == "direct-unloaded":
                    continue	# no accounting pass of its own
                cp = copies.get((m, s, cfg))
                if not cp:
                    problems.append(f"no accounting pass for {cfg} {m} {s}")
                else:
                    if cp["meta_per_req"] <= 0 or cp["upstream_reqs"] != cp["reqs"]:
                        problems.append(f"{cfg} {m} {s}: metadata not measured ({cp['upstream_reqs']} of {cp['reqs']} at the backend)")
                    if cfg != "direct":
                        if cp["copied_per_req"] is None:
                            problems.append(f"{cfg} {m} {s}: no byte count")
                        elif cp["copied_per_req"] < cp["meta_per_req"] * 0.5:
                            problems.append(f"{cfg} {m} {s}: {cp['copied_per_req']:.0f} bytes copied per request, below half the metadata")
                        if cfg.endswith("-stock") and cp["copied_per_req"] is not None and cp["copied_per_req"] < 2 * s:
                            problems.append(f"{cfg} {m} {s}: a stock proxy copied {cp['copied_per_req']:.0f} < 2 x body per request")
                    if m == "GET" and cp["verified"] not in ("md5", "cmp", "sha256"):
                        problems.append(f"{cfg} GET {s}: body not verified")
                for conns in conns_list:
                    c = cells.get((m, s, conns, cfg))
                    if not c:
                        problems.append(f"missing cell {cfg} {m} {s} c{conns}")
                        continue
                    if c["n"] != reps:
                        problems.append(f"{cfg} {m} {s} c{conns}: {c['n']} of {reps} repetitions")
                    for r in c["reps"].values():
                        rps, p50, p99 = to_num(r["rps"]), to_num(r["p50_us"]), to_num(r["p99_us"])
                        if not (int(r["requests"]) > 0 and rps and rps > 0 and p50 and p50 > 0 and p99 and p99 >= p50):
                            problems.append(f"{cfg} {m} {s} c{conns} rep {r['rep']}: implausible {r}")
                        if r["errors"] != "0":
                            problems.append(f"{cfg} {m} {s} c{conns}: errors")
                        if cfg != "direct" and to_num(r["proxy_cpu_us_per_req"]) is None:
                            problems.append(f"{cfg} {m} {s} c{conns}: no CPU time")
                        if cfg.endswith("-libra") and not mod_per_req(r, "time_rx_handler_ns", 1):
                            problems.append(f"{cfg} {m} {s} c{conns}: no module timing (time_rx_handler_ns)")
                        if (cfg.endswith("-libra") and m == "GET" and s >= 65536
                                and not (mod_per_req(r, "time_page_send_ns", 1) and mod_per_req(r, "time_anchor_build_ns", 1))):
                            problems.append(f"{cfg} {m} {s} c{conns}: no anchor build or page send time")
    # The point of it all, on the independent counter: for bodies of 64 KiB
    # and more, where stock copies every body twice, Libra must copy less than
    # a quarter of that (less than half a body per request: in practice it
    # copies about a kilobyte), and the splice reference less than three
    # quarters (it copies what HAProxy reads before it starts splicing: about
    # half at 64 KiB, 3% at 1 MiB).
    compared = 0
    for s in sizes:
        if s < 65536 or "GET" not in methods:
            continue
        for cfg, stock, bound in (("nginx-libra", "nginx-stock", 0.25), ("haproxy-libra", "haproxy-stock", 0.25),
                                  ("haproxy-splice", "haproxy-stock", 0.75),
                                  ("nginx-ktls-libra", "nginx-ktls-stock", 0.25)):
            if cfg not in configs or stock not in configs:
                continue
            a = copies.get(("GET", s, cfg), {}).get("copied_per_req")
            b = copies.get(("GET", s, stock), {}).get("copied_per_req")
            if a is None or b is None:
                continue  # reported above
            compared += 1
            if not a < bound * b:
                problems.append(f"{cfg} GET {s}: {a:.0f} bytes copied per request, not below {bound:g} of "
                                f"{stock}'s {b:.0f}")
    if not compared:
        problems.append("no GET of 64 KiB or more with a Libra and a stock configuration: copies not compared")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--no-plots", action="store_true")
    ap.add_argument("--host-cpu", default="unknown")
    ap.add_argument("--qemu", default="")
    ap.add_argument("--elapsed", type=int, default=0)
    ap.add_argument("--commit", default="")
    ap.add_argument("--host-load", default="")
    a = ap.parse_args()

    info, runs, copies_raw, confs, selftest, libra_total, plan = load(a.raw)
    cells = build_cells(runs)
    copies = build_copies(copies_raw)
    os.makedirs(a.out, exist_ok=True)
    write_csvs(a.out, runs, cells, copies)
    cdir = os.path.join(a.out, "configs")
    os.makedirs(cdir, exist_ok=True)
    for name, lines in confs.items():
        with open(os.path.join(cdir, name + (".cfg" if "haproxy" in name else ".conf")), "w") as f:
            f.write("\n".join(lines) + "\n")

    sizes = [int(s) for s in info.get("sizes", "").split(",") if s]
    methods = [m for m in info.get("methods", "").split(",") if m]
    conns_list = [int(c) for c in info.get("conns", "").split(",") if c]
    configs = [c for c in info.get("configs", "").split(",") if c]
    pngs = [] if a.no_plots else plots(a.out, cells, sizes, conns_list, methods, configs)

    import report_md  # noqa: E402  (beside this file)
    md = report_md.render(info=info, cells=cells, copies=copies, confs=confs, selftest=selftest,
                          libra_total=libra_total, sizes=sizes, methods=methods, conns_list=conns_list,
                          configs=configs, pngs=pngs, host_cpu=a.host_cpu, qemu=a.qemu, elapsed=a.elapsed, commit=a.commit, host_load=a.host_load,
                          helpers=sys.modules[__name__])
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.out, "headline.md"), "w") as f:
        if "nginx-stock" in configs:
            f.write(report_md.headline(info, cells, copies, sizes, methods, conns_list, sys.modules[__name__]))
        if all(c in configs for c in report_md.HTTPS):
            f.write(report_md.https_headline(cells, copies, sizes, methods, conns_list, sys.modules[__name__]))
        if "direct-unloaded" in configs:
            f.write(report_md.idle_headline(cells, sizes, methods, conns_list, sys.modules[__name__]))

    if a.check:
        problems = check(info, runs, cells, copies, plan, confs)
        if problems:
            print("report: CHECK FAILED:", file=sys.stderr)
            for p in problems:
                print("  " + p, file=sys.stderr)
            return 1
        print(f"report: check passed: {len(runs)} runs, {len(copies)} accounting passes, every cell present and sane")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
