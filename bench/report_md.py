"""results.md for bench/report.py: platform, headline tables, targets, counters."""
import datetime
import os


def headline(info, cells, copies, sizes, methods, conns_list, helpers):
    """The short table for README: GET throughput ratios and bytes copied, per size."""
    h = helpers
    L = []
    w = L.append
    if "GET" not in methods:
        return ""
    cols = []
    for conns in conns_list:
        cols += [(conns, "nginx-libra", "nginx-stock"), (conns, "haproxy-libra", "haproxy-stock"),
                 (conns, "haproxy-splice", "haproxy-stock"), (conns, "nginx-libra", "direct")]
    names = {("nginx-libra", "nginx-stock"): "nginx+Libra / nginx",
             ("haproxy-libra", "haproxy-stock"): "HAProxy+Libra / HAProxy",
             ("haproxy-splice", "haproxy-stock"): "HAProxy splice / HAProxy",
             ("nginx-libra", "direct"): "nginx+Libra / direct"}
    w("| GET body | " + " | ".join(f"{names[(a, b)]}, c{c}" for c, a, b in cols)
      + " | bytes copied/req: nginx / nginx+Libra / floor |")
    w("|---:|" + "---:|" * len(cols) + "---:|")
    for s in sizes:
        row = [h.fmt_ratio(h.ratio_spread(cells, ("GET", s, c, a), ("GET", s, c, b))) for c, a, b in cols]
        st, lb = copies.get(("GET", s, "nginx-stock"), {}), copies.get(("GET", s, "nginx-libra"), {})
        row.append(f"{h.human_bytes(st.get('copied_per_req'))} / {h.human_bytes(lb.get('copied_per_req'))} / "
                   f"{h.human_bytes(lb.get('meta_per_req'))}")
        w(f"| {h.human_size(s)} | " + " | ".join(row) + " |")
    return "\n".join(L) + "\n"


HTTPS = ("nginx-tls", "nginx-ktls-stock", "nginx-ktls-libra")


def https_headline(cells, copies, sizes, methods, conns_list, helpers):
    """The HTTPS cells (bench/run --https): kernel TLS + Libra against kernel TLS and user-space TLS."""
    h = helpers
    if "GET" not in methods:
        return ""
    L = []
    w = L.append
    pairs = [("nginx-ktls-libra", "nginx-ktls-stock", "kTLS+Libra / kTLS"),
             ("nginx-ktls-stock", "nginx-tls", "kTLS / TLS"),
             ("nginx-ktls-libra", "nginx-tls", "kTLS+Libra / TLS")]
    cols = [(c, a, b, n) for c in conns_list for a, b, n in pairs]
    w("| GET body | " + " | ".join(f"{n}, c{c}" for c, a, b, n in cols)
      + " | P99 kTLS+Libra / kTLS, c" + ", c".join(str(c) for c in conns_list)
      + " | bytes copied/req: TLS / kTLS / kTLS+Libra |")
    w("|---:|" + "---:|" * (len(cols) + 2))
    for s in sizes:
        row = [h.fmt_ratio(h.ratio_spread(cells, ("GET", s, c, a), ("GET", s, c, b))) for c, a, b, _ in cols]
        row.append(" / ".join(h.fmt_ratio(h.ratio_spread(cells, ("GET", s, c, "nginx-ktls-libra"),
                                                         ("GET", s, c, "nginx-ktls-stock"), "p99"))
                              for c in conns_list))
        row.append(" / ".join(h.human_bytes(copies.get(("GET", s, c), {}).get("copied_per_req")) for c in HTTPS))
        w(f"| {h.human_size(s)} | " + " | ".join(row) + " |")
    return "\n".join(L) + "\n"


def mod_tables(w, h, cells, sizes, methods, conns_list, configs):
    """Where a Libra proxy's CPU time per request goes: the module's timing counters."""
    libra = [c for c in ("nginx-libra", "nginx-libra-timed", "haproxy-libra", "haproxy-libra-timed",
                         "nginx-ktls-libra") if c in configs]
    if not libra:
        return
    w("## Where Libra's time goes (module timing per request)")
    w("")
    w("From the module's timing counters (`time_*_ns`, local_clock() around each span, summed over "
      "all CPUs), read with `libra-devctl stats` before and after every timed run of a Libra "
      "configuration (only that configuration has traffic then) and divided by its requests; medians "
      "over repetitions, µs per request. Next to them the proxy's CPU time per request, stock and with "
      "Libra (utime+stime, as above). The spans nest: *rx handler* (all of libra's recv path, stock "
      "copies of the metadata included) contains *anchor build*, *zero fill* (the zeros behind each "
      "token) and the receive side's share of *parse*; *tx handler* (libra's send path, the stock send "
      "of metadata included) contains *token scan*, *page send* and the send side's *parse*; "
      "*materialize* is writing anchored bytes back into the proxy's memory where they leave by a path "
      "libra sends no anchors on. A module without a span shows —. They are wall time inside the span: "
      "preemption or a lock wait inside one counts too. *calls* are libra's handled recv and send calls "
      "per request. They count only while libra.ko's `time_stats` parameter is on (`bench/run --time-stats`, "
      "or a `NAME-timed` configuration's runs): rows of runs without it are left out.")
    w("")
    for m in methods:
        for conns in conns_list:
            w(f"### {m}, {conns} connection{'s' if conns != 1 else ''}: module time per request, µs")
            w("")
            w("| body | config | proxy CPU stock | proxy CPU Libra | "
              + " | ".join(label for _, label in h.MOD_TIMES)
              + " | module share of Libra CPU | recv calls | send calls |")
            w("|---:|---|---:|---:|" + "---:|" * len(h.MOD_TIMES) + "---:|---:|---:|")
            for s in sizes:
                for cfg in libra:
                    c = cells.get((m, s, conns, cfg))
                    if not c:
                        continue
                    st = cells.get((m, s, conns, h.STOCK_OF[cfg]))
                    mod = c["mod"]
                    if not any(mod[k] for k, _ in h.MOD_TIMES):
                        continue	# time_stats off in its runs
                    handlers = [mod[k] for k in ("time_rx_handler_ns", "time_tx_handler_ns") if mod[k] is not None]
                    share = (f"{sum(handlers) / c['pcpu_med'] * 100:.0f}%"
                             if handlers and c["pcpu_med"] else "—")
                    w(f"| {h.human_size(s)} | {h.CONFIG_LABELS[cfg]} | {h.fnum(st and st['pcpu_med'], 0)} | "
                      f"{h.fnum(c['pcpu_med'], 0)} | "
                      + " | ".join(h.fnum(mod[k], 1) for k, _ in h.MOD_TIMES)
                      + f" | {share} | " + " | ".join(h.fnum(c["calls"][k], 1) for k, _ in h.MOD_CALLS) + " |")
            w("")


def idle_headline(cells, sizes, methods, conns_list, helpers):
    """bench/run --idle-cost: a direct pair with libra.ko loaded (another process opted in) against not loaded."""
    h = helpers
    if "GET" not in methods:
        return ""
    L = []
    w = L.append
    w("| GET body | connections | requests/s, loaded / not loaded | guest CPU per request, loaded / not loaded "
      "| P99, loaded / not loaded | within 2% (requests/s and CPU) |")
    w("|---:|---:|---:|---:|---:|---|")
    for s in sizes:
        for c in conns_list:
            a, b = ("GET", s, c, "direct"), ("GET", s, c, "direct-unloaded")
            rps = h.ratio_spread(cells, a, b)
            cpu = None
            if cells.get(a) and cells.get(b) and cells[b]["scpu_med"]:
                cpu = cells[a]["scpu_med"] / cells[b]["scpu_med"]
            p99 = h.ratio_spread(cells, a, b, "p99")
            ok = rps is not None and cpu is not None and rps[0] >= 0.98 and cpu <= 1.02
            verdict = "met" if ok else "missed" if rps is not None and cpu is not None else "—"
            w(f"| {h.human_size(s)} | {c} | {h.fmt_ratio(rps)} | {'—' if cpu is None else f'{cpu:.2f}x'} "
              f"| {h.fmt_ratio(p99)} | {verdict} |")
    return "\n".join(L) + "\n"


def render(info, cells, copies, confs, selftest, libra_total, sizes, methods, conns_list, configs,
           pngs, host_cpu, qemu, elapsed, helpers, commit="", host_load=""):
    h = helpers
    L = []
    w = L.append
    mode = info.get("mode", "?")
    w(f"# Libra benchmark results ({'fast mode' if mode == 'quick' else 'full sweep'})")
    w("")
    w(f"Generated {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')} by `bench/run{' --quick' if mode == 'quick' else ''}`"
      + (f" in {elapsed // 60} min {elapsed % 60} s." if elapsed else "."))
    w("")
    w("**Platform: software-emulated guest.** QEMU TCG (no KVM), `-cpu max,-erms,-fsrm`, "
      f"{info.get('vcpus', '?')} vCPUs, 2 GiB; guest CPU model \"{info.get('cpu', '?')}\" "
      f"(ERMS in guest: {info.get('erms', '?')}); host CPU {host_cpu}; {qemu}. "
      f"Guest kernel {info.get('kernel', '?')} (Debian). nginx {info.get('nginx', '?')}, "
      f"HAProxy {info.get('haproxy', '?')}, wrk {info.get('wrk', '?')}, curl {info.get('curl', '?')}; "
      f"libra.ko {info.get('libra', '?')}{' built from commit ' + commit if commit else ''}. "
      "Client, backend and proxies share the guest's vCPUs over loopback.")
    w("")
    if host_load:
        w(f"Host load average (1, 5, 15 min) during the run: {host_load} on the host's "
          f"{os.cpu_count()} cores, which other work shares with this guest: expect run-to-run noise, "
          "visible as the min–max spread of the ratios.")
        w("")
    w("Emulation distorts absolute costs: without ERMS the kernel's copy loop runs about 7x slower than "
      "on the host while other work runs 12x or more slower, so copies weigh *less* here than on real "
      "hardware and copy savings are understated. Compare ratios, not absolute numbers.")
    w("")
    w(f"Sweep: body sizes {', '.join(h.human_size(s) for s in sizes)}; {', '.join(methods)}; "
      f"{' and '.join(str(c) for c in conns_list)} connection(s) (wrk -t1); {info.get('reps', '?')} repetitions of "
      f"{info.get('duration_s', '?')} s per cell, interleaved (every configuration once per repetition, in turn: "
      "A/B/A/B). Medians shown; (min–max) is the spread of the per-repetition ratios. Sizes run one "
      "after another, so absolute levels across sizes also follow the host's load over time: compare "
      "configurations within a size.")
    w("")

    https = all(c in configs for c in HTTPS)
    idle = "direct-unloaded" in configs
    # requests/s tables: a configuration's median, or a ratio of two (A, B)
    if idle:
        rps_title, rps_cols = ", direct client-backend pair", [
            ("libra.ko not loaded", "direct-unloaded"), ("loaded, another process opted in", "direct"),
            ("loaded / not loaded", ("direct", "direct-unloaded"))]
    elif https and "nginx-stock" not in configs:
        rps_title, rps_cols = " over HTTPS", [
            ("nginx TLS (user space)", "nginx-tls"), ("nginx kernel TLS", "nginx-ktls-stock"),
            ("nginx kernel TLS + Libra", "nginx-ktls-libra"),
            ("kTLS+Libra / kTLS", ("nginx-ktls-libra", "nginx-ktls-stock")),
            ("kTLS / TLS", ("nginx-ktls-stock", "nginx-tls"))]
    else:
        rps_title, rps_cols = "", [
            ("direct", "direct"), ("nginx", "nginx-stock"), ("nginx+Libra", "nginx-libra"),
            ("Libra/stock", ("nginx-libra", "nginx-stock")), ("HAProxy", "haproxy-stock"),
            ("HAProxy+Libra", "haproxy-libra"), ("Libra/stock", ("haproxy-libra", "haproxy-stock")),
            ("HAProxy splice", "haproxy-splice"), ("splice/stock", ("haproxy-splice", "haproxy-stock"))]

    # the same Libra instance with time_stats on (bench/guest-bench.sh's NAME-timed)
    for c in configs:
        if c.endswith("-libra-timed"):
            rps_cols.append((f"{h.CONFIG_LABELS[c]} / off", (c, c[:-len("-timed")])))

    def rps_table(m, conns):
        w(f"### {m}, {conns} connection{'s' if conns != 1 else ''}: requests/s{rps_title}")
        w("")
        w("| body | " + " | ".join(label for label, _ in rps_cols) + " |")
        w("|---:|" + "---:|" * len(rps_cols))
        for s in sizes:
            row = []
            for _, col in rps_cols:
                if isinstance(col, tuple):
                    row.append(h.fmt_ratio(h.ratio_spread(cells, (m, s, conns, col[0]), (m, s, conns, col[1]))))
                else:
                    c = cells.get((m, s, conns, col))
                    row.append(h.fnum(c and c["rps_med"], 1))
            w(f"| {h.human_size(s)} | " + " | ".join(row) + " |")
        w("")

    def config_table(m, conns, what, cell_text):
        w(f"### {m}, {conns} connection{'s' if conns != 1 else ''}: {what}")
        w("")
        w("| body | " + " | ".join(h.CONFIG_LABELS[c] for c in configs) + " |")
        w("|---:|" + "---:|" * len(configs))
        for s in sizes:
            row = []
            for cfg in configs:
                c = cells.get((m, s, conns, cfg))
                row.append("—" if not c else cell_text(cfg, c))
            w(f"| {h.human_size(s)} | " + " | ".join(row) + " |")
        w("")

    def lat_table(m, conns):
        config_table(m, conns, "P50 / P99 latency, ms",
                     lambda cfg, c: f"{c['p50_med'] / 1000:.2f} / {c['p99_med'] / 1000:.2f}")

    def cpu_table(m, conns):
        config_table(m, conns, "CPU time per request, µs (proxy processes / whole guest)",
                     lambda cfg, c: f"{h.fnum(c['pcpu_med'], 0) if not cfg.startswith('direct') else '–'} / {h.fnum(c['scpu_med'], 0)}")

    def copy_table(m):
        w(f"### {m}: bytes copied across the user/kernel boundary per request (copycount), next to the metadata floor")
        w("")
        w("| body | metadata (floor) | " + " | ".join(h.CONFIG_LABELS[c] for c in h.PROXIES if c in configs)
          + " | nginx+Libra / floor | HAProxy+Libra / floor |")
        w("|---:|---:|" + "---:|" * (len([c for c in h.PROXIES if c in configs]) + 2))
        for s in sizes:
            floor = next((copies[(m, s, c)].get("meta_per_req") for c in configs if (m, s, c) in copies), None)
            row = [h.human_bytes(copies.get((m, s, c), {}).get("copied_per_req")) for c in h.PROXIES if c in configs]

            def over(cfg):
                r = copies.get((m, s, cfg))
                return "—" if not r or r["copied_over_meta"] is None else f"{r['copied_over_meta']:.2f}x"
            w(f"| {h.human_size(s)} | {h.human_bytes(floor)} | " + " | ".join(row)
              + f" | {over('nginx-libra')} | {over('haproxy-libra')} |")
        w("")

    w("## Headline (GET; throughput ratios, median and min–max over repetition pairs)")
    w("")
    if "nginx-stock" in configs:
        w(headline(info, cells, copies, sizes, methods, conns_list, helpers))
    if https:
        w("HTTPS (TLS 1.3, AES-GCM-128 in all three):")
        w("")
        w(https_headline(cells, copies, sizes, methods, conns_list, helpers))
    if idle:
        w("What libra.ko costs traffic that is not opted in (issue 16's target: within 2% in requests/s and "
          "CPU): wrk straight to the backend, with the module not loaded, and loaded with the parser attached "
          "and another process (an idle `sleep`) opted in, so that every TCP send and receive in the guest "
          "passes libra's ftrace callbacks and its opt-in match. The module is unloaded and loaded again "
          "between runs. CPU is the whole guest's busy time per request (wrk and the backend).")
        w("")
        w(idle_headline(cells, sizes, methods, conns_list, helpers))
    def plotted_section(title, plot_kind, table):
        w(f"## {title}")
        w("")
        for p in pngs:
            if plot_kind in p:
                w(f"![{p}]({p})")
                w("")
        for m in methods:
            for conns in conns_list:
                table(m, conns)

    plotted_section("Throughput", "throughput", rps_table)
    plotted_section("Latency", "p99", lat_table)
    w("## CPU time per request")
    w("")
    w("From the guest's own accounting: utime+stime of the proxy's processes (/proc/PID/stat, all "
      "nginx workers and master, the HAProxy process with its threads), and busy time of the whole guest "
      "(/proc/stat, includes wrk and the backend), divided by the requests completed. Clock ticks are "
      "10 ms, so short runs at low request rates are coarse.")
    w("")
    for m in methods:
        for conns in conns_list:
            cpu_table(m, conns)

    mod_tables(w, h, cells, sizes, methods, conns_list, configs)

    w("## Bytes copied across the user/kernel boundary")
    w("")
    w("Measured by `copycount` (bench/copycount.bpf.c), a BPF program in the guest that is independent of "
      "libra.ko: it sums the bytes the kernel copies between kernel memory and the proxy processes' own "
      "memory, per process (tgid), over an accounting pass of exactly K requests per configuration on one "
      "connection each (curl; K = 8 MiB worth of bodies, at least 3 and at most 16 requests, 3 in the fast "
      "mode; the configurations without Libra share one curl, one after the other, and each Libra "
      "configuration has a pass of its own, so that Libra's global counters belong to it). The last body of "
      "each GET pass is compared with the original (md5). The metadata floor is the request and "
      "response headers of those requests on both sides of the proxy, measured outside the proxy: "
      "curl's own byte counts on the client side, the backend's access log ($request_length, "
      "$bytes_sent - $body_bytes_sent) on the upstream side.")
    w("")
    w("Validation against known transfers, in the same guest before the sweep:")
    w("")
    w("```")
    for line in selftest:
        w(line)
    w("```")
    w("")
    for m in methods:
        copy_table(m)

    # ---- targets ----
    w("## Targets (issue 7)")
    w("")
    w("| target | measured | verdict |")
    w("|---|---|---|")
    big = [s for s in sizes if s >= 256 * 1024]
    mib = 1 << 20
    for conns in conns_list:
        if mib in sizes and "GET" in methods:
            r = h.ratio_spread(cells, ("GET", mib, conns, "nginx-libra"), ("GET", mib, conns, "direct"))
            if r:
                verdict = "met" if r[0] >= 0.8 else f"missed by {(0.8 - r[0]) / 0.8 * 100:.0f}% ({r[0] / 0.8:.2f} of target)"
                w(f"| nginx+Libra at 1 MiB >= 0.8x direct (GET, c{conns}) | {h.fmt_ratio(r)} | {verdict} |")
            r = h.ratio_spread(cells, ("GET", mib, conns, "nginx-libra"), ("GET", mib, conns, "nginx-stock"))
            if r:
                w(f"| nginx+Libra at 1 MiB, about 2.9x stock (GET, c{conns}) | {h.fmt_ratio(r)} | "
                  f"{'met' if r[0] >= 2.9 else f'missed: {r[0]:.2f}x of 2.9x'} |")
        if "GET" in methods:
            worst = None
            for s in sizes:
                r = h.ratio_spread(cells, ("GET", s, conns, "haproxy-libra"), ("GET", s, conns, "haproxy-splice"))
                if r and (worst is None or r[0] < worst[1][0]):
                    worst = (s, r)
            if worst:
                below = [h.human_size(s) for s in sizes
                         if (rr := h.ratio_spread(cells, ("GET", s, conns, "haproxy-libra"), ("GET", s, conns, "haproxy-splice"))) and rr[0] < 1]
                w(f"| HAProxy+Libra >= HAProxy splice (GET, c{conns}) | worst {h.fmt_ratio(worst[1])} at "
                  f"{h.human_size(worst[0])} | {'met at every size' if not below else 'missed at ' + ', '.join(below)} |")
            for proxy in ("nginx", "haproxy"):
                parts, ok = [], True
                for s in big:
                    r = h.ratio_spread(cells, ("GET", s, conns, f"{proxy}-libra"), ("GET", s, conns, f"{proxy}-stock"), "p99")
                    if r:
                        parts.append(f"{h.human_size(s)}: {(r[0] - 1) * 100:+.0f}%")
                        ok = ok and r[0] <= 0.1
                if parts:
                    w(f"| {proxy} P99 at least 90% lower at >= 256 KiB (GET, c{conns}) | P99 change vs stock: {'; '.join(parts)} | "
                      f"{'met' if ok else 'missed'} |")
        for m in methods:
            if 1024 in sizes:
                for proxy in ("nginx", "haproxy"):
                    r = h.ratio_spread(cells, (m, 1024, conns, f"{proxy}-libra"), (m, 1024, conns, f"{proxy}-stock"))
                    if r:
                        verdict = "met" if r[0] >= 0.97 else f"missed: {(1 - r[0]) * 100:.1f}% slower"
                        w(f"| {proxy}+Libra no more than 3% slower than stock at 1 KiB ({m}, c{conns}) | {h.fmt_ratio(r)} | {verdict} |")
    for m in methods:
        for proxy in ("nginx", "haproxy"):
            parts, missed, anchored = [], [], False
            for s in sizes:
                r = copies.get((m, s, f"{proxy}-libra"))
                if r and r["copied_over_meta"] is not None:
                    parts.append(f"{h.human_size(s)}: {r['copied_over_meta']:.2f}x")
                    if r["copied_over_meta"] > 1.1:
                        lb = r["libra"]
                        why = []
                        if not lb.get("bytes_anchored"):
                            why.append("nothing anchored")
                        else:
                            anchored = True
                        if lb.get("bytes_fallback_copied"):
                            why.append(f"{lb['bytes_fallback_copied']:.0f} B/req fallback-copied")
                        excess = r["copied_per_req"] - r["meta_per_req"]
                        missed.append(f"{h.human_size(s)} (+{h.human_bytes(excess)}/req{': ' + ', '.join(why) if why else ''})")
            if parts:
                note = ""
                if m == "POST" and missed and not anchored:
                    note = " (nothing anchored: request bodies took the stock path; is anchor_request_bodies off?)"
                elif m == "POST" and missed and proxy == "nginx":
                    note = (" (nginx writes a request body past client_body_buffer_size to a temp file before"
                            " sending it: that write(2) copies the body from user space once, with Libra or not)")
                elif missed:
                    note = " (Libra copies bodies below its size threshold by design; see its counters below)"
                w(f"| {proxy}+Libra bytes copied per request <= 1.1x metadata ({m}) | {'; '.join(parts)} | "
                  f"{'met at every size' if not missed else 'missed at ' + ', '.join(missed) + note} |")
    w("")

    # ---- Libra's counters ----
    w("## Libra's own counters in the accounting passes (per request)")
    w("")
    w("From `libra-devctl stats`, deltas over each accounting pass divided by its requests; they explain "
      "where bytes went (anchored and sent by reference, or copied on a fallback path).")
    w("")
    keys = ["bytes_metadata_copied", "bytes_anchored", "bytes_zero_copy_sent", "bytes_fallback_copied",
            "messages_parsed", "fallback_small_body", "fallback_budget", "fallback_desync", "fallback_not_adopted",
            "fallback_unknown_method", "fallback_page_copied", "tokens_rejected"]
    present = [k for k in keys if any(r["libra"].get(k) for r in copies.values())]
    w("| config | method | body | " + " | ".join(present) + " |")
    w("|---|---|---:|" + "---:|" * len(present))
    for m in methods:
        for cfg in ("nginx-libra", "haproxy-libra"):
            for s in sizes:
                r = copies.get((m, s, cfg))
                if r:
                    w(f"| {cfg} | {m} | {h.human_size(s)} | " + " | ".join(h.fnum(r["libra"].get(k, 0), 1) for k in present) + " |")
    w("")
    if libra_total:
        w("Module totals at the end of the run: " + ", ".join(f"{k} {v}" for k, v in sorted(libra_total.items())
                                                                if v != "0") + ".")
        w("")

    # ---- configurations ----
    w("## Configurations")
    w("")
    w("Stock and Libra instances are separate processes on different ports, started by the same functions "
      "the kernel tests use (`start_nginx_proxy`, `start_haproxy_proxy` in tests/guest/lib.sh), so their "
      "files are the same (shown with $DIR/$PORT for the instance's own directory and port); the Libra "
      "instances are opted in (`libra-devctl enable PID desc`) before any traffic. The splice reference "
      "differs from stock HAProxy only by `option splice-request` and `option splice-response` (splice "
      "whenever possible). Backend: nginx, 1 worker, files from tmpfs, sendfile off; POST goes to "
      "`/upload`, answered `200 ok` by the backend after reading the body.")
    w("")
    for name in ["backend", "nginx-stock", "nginx-libra", "haproxy-stock", "haproxy-libra", "haproxy-splice"]:
        if name in confs:
            w(f"<details><summary>{name}</summary>\n\n```\n" + "\n".join(confs[name]) + "\n```\n</details>\n")
    same = confs.get("nginx-stock") == confs.get("nginx-libra") and confs.get("haproxy-stock") == confs.get("haproxy-libra")
    w(f"Stock and Libra configuration files identical (after $DIR/$PORT): {'yes' if same else 'NO'}.")
    w("")
    return "\n".join(L) + "\n"
