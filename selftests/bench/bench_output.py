#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""KTAP: `make bench` writes well-formed, complete results.

Runs tools/bench/tlsnic-bench --quick (tiny durations; the guest part boots
tools/tlsnic-vm once, a couple of minutes) into a temporary run directory
and checks the files, not the timings. Native part: every metric for every
cipher and record size (the list below, written independently of the
bench; the engines, contexts, and the whole data path through virtio-user
ports TX only and TX+RX next to `openssl speed`), every column, values positive and finite, min <= median <= max,
the samples behind each median, CSV and JSON saying the same, ratios where
and only where a reference is named (the whole-path ratios recomputed from
each repetition's rate and `openssl speed`), the text table, the `openssl speed`
cross-check and the plot. Guest A/B (ab.*): a sample for every mode, size
and repetition, "not offered" exactly where the device lacks the offload
(and then no number), the counters proving each mode (device sockets and
device crypto when offloaded, none in software or plain TCP), the summary
and headline ratios recomputed from the samples, the text table (stating
TCG), the plot, and the same summary when the recorded guest output is
analysed again (--vm-log). With --native, only the native part is run and
checked (no VM boot).
"""

import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile

TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
BENCH = os.path.join(TREE, "tools", "bench", "tlsnic-bench")

CIPHERS = ("aes-128-gcm", "aes-256-gcm")
RECORDS = (1024, 4096, 16384)
# metric -> (unit, reference it is a ratio to, per record size?)
METRICS = {
    "tx_engine": ("Gbit/s", "openssl_enc", True),
    "tx_pipeline": ("Gbit/s", "openssl_enc", True),
    "rx_engine": ("Gbit/s", "openssl_dec", True),
    "openssl_enc": ("Gbit/s", None, True),
    "openssl_dec": ("Gbit/s", None, True),
    "ctx_create_destroy": ("per_s", None, False),
    "ctx_bytes_rss": ("bytes", None, False),
    "ctx_bytes_heap": ("bytes", None, False),
    "rx_ctx_bytes_heap": ("bytes", None, False),
    # the whole data path through virtio-user ports (devsim-path-bench)
    "path_tx": ("Gbit/s", "openssl_speed", True),
    "path_txrx": ("Gbit/s", "openssl_speed", True),
    # the same per CPU second of devsim's polls that did work
    "path_tx_work": ("Gbit/s", "openssl_speed", True),
    "path_txrx_work": ("Gbit/s", "openssl_speed", True),
    "openssl_speed": ("Gbit/s", None, True),
}
PATH_METRICS = ("path_tx", "path_txrx", "path_tx_work", "path_txrx_work")
CSV_COLUMNS = ["metric", "cipher", "record_bytes", "unit", "median", "min", "max",
               "reps", "reference", "ratio_median", "ratio_min", "ratio_max"]
SAMPLE_COLUMNS = ["metric", "cipher", "record_bytes", "rep", "value", "unit",
                  "reference", "ratio"]
QUICK_REPS = 3


class Failed(Exception):
    pass


def check(cond, fmt, *args):
    if not cond:
        raise Failed(fmt % args)


def expected_points():
    for m, (unit, ref, per_size) in METRICS.items():
        for c in CIPHERS:
            for n in (RECORDS if per_size else (0,)):
                yield (m, c, n), unit, ref


def number(text, what):
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise Failed("%s: %r is not a number" % (what, text))
    check(math.isfinite(v) and v > 0, "%s: %r is not positive and finite", what, text)
    return v


def read_csv(path, columns):
    with open(path, newline="") as f:
        r = csv.DictReader(f)
        check(r.fieldnames == columns, "%s: columns %s, want %s",
              os.path.basename(path), r.fieldnames, columns)
        return list(r)


def key(row):
    return (row["metric"], row["cipher"], int(row["record_bytes"]))


class Run:
    def __init__(self, out, native_only=False):
        self.out = out
        self.native_only = native_only
        self.rc = None
        self.log = ""

    def path(self, name):
        return os.path.join(self.out, name)


def t_bench_runs(run):
    check(run.rc == 0, "tlsnic-bench --quick exited %s:\n%s", run.rc, run.log[-2000:])
    check(run.native_only or "vm: plot" in run.log,
          "the run does not name the guest A/B's plot")


def t_summary_csv_complete(run):
    rows = read_csv(run.path("device.csv"), CSV_COLUMNS)
    by_key = {}
    for row in rows:
        check(key(row) not in by_key, "device.csv: %s twice", key(row))
        by_key[key(row)] = row
    want = {k for k, _, _ in expected_points()}
    check(set(by_key) == want, "device.csv: missing %s, unexpected %s",
          sorted(want - set(by_key)), sorted(set(by_key) - want))
    for k, unit, ref in expected_points():
        row = by_key[k]
        what = "device.csv %s" % (k,)
        check(row["unit"] == unit, "%s: unit %r, want %r", what, row["unit"], unit)
        check(int(row["reps"]) == QUICK_REPS, "%s: %s reps", what, row["reps"])
        lo, med, hi = (number(row[c], what + " " + c) for c in ("min", "median", "max"))
        check(lo <= med <= hi, "%s: min %g median %g max %g", what, lo, med, hi)
        if ref:
            check(row["reference"] == ref, "%s: reference %r, want %r", what,
                  row["reference"], ref)
            rlo, rmed, rhi = (number(row[c], what + " " + c)
                              for c in ("ratio_min", "ratio_median", "ratio_max"))
            check(rlo <= rmed <= rhi, "%s: ratios %g %g %g", what, rlo, rmed, rhi)
        else:
            check(not any(row[c] for c in ("reference", "ratio_median", "ratio_min",
                                           "ratio_max")),
                  "%s: a ratio without a reference", what)


def t_samples_back_the_medians(run):
    summary = {key(r): r for r in read_csv(run.path("device.csv"), CSV_COLUMNS)}
    samples = {}
    for row in read_csv(run.path("device-samples.csv"), SAMPLE_COLUMNS):
        samples.setdefault(key(row), []).append(row)
    for k, unit, ref in expected_points():
        rows = samples.get(k, [])
        check(sorted(int(r["rep"]) for r in rows) == list(range(1, QUICK_REPS + 1)),
              "device-samples.csv %s: reps %s", k, [r["rep"] for r in rows])
        vals = [number(r["value"], "sample %s" % (k,)) for r in rows]
        med = float(summary[k]["median"])
        check(math.isclose(statistics.median(vals), med, rel_tol=1e-4),
              "%s: median of samples %g, summary says %g", k, statistics.median(vals), med)
        check(math.isclose(min(vals), float(summary[k]["min"]), rel_tol=1e-4) and
              math.isclose(max(vals), float(summary[k]["max"]), rel_tol=1e-4),
              "%s: samples' min/max differ from the summary", k)
        for r in rows:
            check(r["unit"] == unit and r["reference"] == (ref or ""),
                  "sample %s: unit/reference %s/%s", k, r["unit"], r["reference"])
            if ref:
                number(r["ratio"], "sample ratio %s" % (k,))
            else:
                check(r["ratio"] == "", "sample %s: ratio without reference", k)
        if ref:
            ratios = [float(r["ratio"]) for r in rows]
            check(math.isclose(statistics.median(ratios),
                               float(summary[k]["ratio_median"]), abs_tol=1e-3),
                  "%s: median of sample ratios differs from the summary", k)


def t_json_matches_csv(run):
    with open(run.path("device.json")) as f:
        doc = json.load(f)
    summary = {key(r): r for r in read_csv(run.path("device.csv"), CSV_COLUMNS)}
    check(doc.get("quick") is True, "device.json: quick is %r", doc.get("quick"))
    for field in ("cpu_model", "online_cpus", "pinned_cpu", "openssl"):
        check(field in doc.get("machine", {}), "device.json: machine.%s missing", field)
    check(doc.get("params", {}).get("contexts") == 65536, "device.json: params.contexts")
    res = {}
    for r in doc.get("results", []):
        k = (r["metric"], r["cipher"], r["record_bytes"])
        check(k not in res, "device.json: %s twice", k)
        res[k] = r
    check(set(res) == set(summary), "device.json and device.csv name different points")
    for k, unit, ref in expected_points():
        r = res[k]
        check(r["unit"] == unit and r["reference"] == ref, "device.json %s: unit/ref", k)
        check(len(r["samples"]) == QUICK_REPS, "device.json %s: %d samples", k,
              len(r["samples"]))
        for v in r["samples"] + [r["median"], r["min"], r["max"]]:
            number(v, "device.json %s" % (k,))
        check(math.isclose(r["median"], float(summary[k]["median"]), rel_tol=1e-4),
              "device.json %s: median %g, device.csv %s", k, r["median"],
              summary[k]["median"])
        if ref:
            check(math.isclose(r["ratio"]["median"], float(summary[k]["ratio_median"]),
                               abs_tol=1e-3), "device.json %s: ratio differs", k)
        else:
            check(r["ratio"] is None, "device.json %s: ratio without reference", k)


def t_text_table_complete(run):
    with open(run.path("device.txt")) as f:
        text = f.read()
    lines = text.splitlines()
    for c in CIPHERS:
        for n in RECORDS:
            label = "%dK" % (n // 1024)
            hits = [l for l in lines if l.startswith(c) and l.split()[1] == label]
            # TX table, RX table, whole path per CPU second and per second
            # of work, openssl speed cross-check.
            check(len(hits) == 5, "device.txt: %d rows for %s %s", len(hits), c, label)
        ctx_rows = [l for l in lines if l.startswith(c) and not l.split()[1].endswith("K")]
        check(len(ctx_rows) == 1, "device.txt: %d context rows for %s", len(ctx_rows), c)
    low = text.lower()
    check("nan" not in low and "inf" not in low.replace("info", ""),
          "device.txt holds a non-finite number")


def t_path_ratios_recomputed(run):
    """Each whole-path ratio is that repetition's rate over its openssl speed."""
    samples = {}
    for row in read_csv(run.path("device-samples.csv"), SAMPLE_COLUMNS):
        samples[key(row) + (int(row["rep"]),)] = row
    for m in PATH_METRICS:
        for c in CIPHERS:
            for n in RECORDS:
                for rep in range(1, QUICK_REPS + 1):
                    r = samples[(m, c, n, rep)]
                    speed = float(samples[("openssl_speed", c, n, rep)]["value"])
                    want = float(r["value"]) / speed
                    check(math.isclose(float(r["ratio"]), want, rel_tol=1e-2, abs_tol=1e-3),
                          "%s %s %d rep %d: ratio %s, rate/speed %.4f", m, c, n, rep,
                          r["ratio"], want)
    with open(run.path("device.json")) as f:
        params = json.load(f).get("params", {}).get("path", {})
    for field in ("mib", "reps", "devsim_cpu", "guest_cpu", "mss", "tso_segments"):
        check(field in params, "device.json: params.path.%s missing", field)
    check(params["reps"] == QUICK_REPS and params["mss"] == 1448,
          "device.json: params.path %s", params)
    with open(run.path("device.txt")) as f:
        check("Whole data path through virtio-user ports" in f.read(),
              "device.txt has no whole-path table")


def t_openssl_speed_complete(run):
    rows = read_csv(run.path("openssl-speed.csv"),
                    ["cipher", "record_bytes", "openssl_speed_gbit_s", "openssl_enc_gbit_s",
                     "tx_engine_gbit_s", "tx_engine_per_speed"])
    got = sorted((r["cipher"], int(r["record_bytes"])) for r in rows)
    check(got == sorted((c, n) for c in CIPHERS for n in RECORDS),
          "openssl-speed.csv: points %s", got)
    for r in rows:
        for c in ("openssl_speed_gbit_s", "openssl_enc_gbit_s", "tx_engine_gbit_s",
                  "tx_engine_per_speed"):
            number(r[c], "openssl-speed.csv %s" % c)


def t_plot_written(run):
    with open(run.path("device.png"), "rb") as f:
        head = f.read(8)
    check(head == b"\x89PNG\r\n\x1a\n", "device.png is not a PNG")
    check(os.path.getsize(run.path("device.png")) > 1000, "device.png is tiny")


# ---------------------------------------------------------------------------
# The guest A/B (ab.*): written independently of tools/bench/tlsnic-bench.

AB_MODES = ("plain", "software", "tx", "rx", "both")
AB_SIZES = ("1K", "16K", "256K", "sendfile")
CONN_MODES = ("software", "tx")
AB_QUICK_REPS = 1
AB_BULK_METRICS = {"mb_s": "MB/s", "tx_cpu_s_per_gb": "cpu_s/GB", "rx_cpu_s_per_gb": "cpu_s/GB"}
AB_CONN_METRICS = dict(AB_BULK_METRICS, conn_s="conn/s", tx_cpu_ms_per_conn="cpu_ms/conn")
AB_SUMMARY_COLUMNS = ["kind", "mode", "size", "metric", "unit", "status", "reps", "median",
                      "min", "max"]
AB_RATIO_COLUMNS = ["ratio", "kind", "size", "metric", "numerator", "denominator", "status",
                    "median", "min", "max", "target", "meets_target"]
# the headline ratios the issue asks for, with the points they divide
AB_HEADLINES = {
    "sender_cpu_tx_offload_vs_software": ("bulk", "tx_cpu_s_per_gb", "tx", "software"),
    "receiver_cpu_rx_offload_vs_software": ("bulk", "rx_cpu_s_per_gb", "rx", "software"),
    "rate_both_vs_plain": ("bulk", "mb_s", "both", "plain"),
    "conn_rate_tx_offload_vs_software": ("conn", "conn_s", "tx", "software"),
}


def ab_doc(run):
    with open(run.path("ab.json")) as f:
        return json.load(f)


def needs(mode):
    return {"tx": ("tx",), "rx": ("rx",), "both": ("tx", "rx")}.get(mode, ())


def ab_expected(doc):
    """(kind, mode, size) -> 'ok' or 'not_offered', from what the device offered."""
    offered = doc["env"]["offered"]
    want = {}
    for mode in AB_MODES:
        st = "not_offered" if any(not offered[d] for d in needs(mode)) else "ok"
        for size in AB_SIZES:
            want[("bulk", mode, size)] = st
    for mode in CONN_MODES:
        want[("conn", mode, "10KB")] = "not_offered" if any(
            not offered[d] for d in needs(mode)) else "ok"
    return want


def t_ab_env(run):
    doc = ab_doc(run)
    check(doc.get("tcg") is True, "ab.json: tcg is %r", doc.get("tcg"))
    env = doc["env"]
    check(env["cpus"] == 2, "ab.json: the guest had %s vCPUs", env["cpus"])
    check(set(env["offered"]) == {"tx", "rx"}, "ab.json: offered %s", env["offered"])
    check(env["offered"]["tx"] is True, "the device does not offer TLS TX offload")
    for dev, cpu in (("eth0", 0), ("eth1", 1)):
        irq = env["irqs"][dev]
        check(irq["cpu"] == cpu and irq["irqs"], "ab.json: %s interrupts %s", dev, irq)
    check(env["reps"] == AB_QUICK_REPS, "ab.json: %s reps", env["reps"])


def t_ab_samples_complete(run):
    doc = ab_doc(run)
    want = ab_expected(doc)
    got = {}
    for s in doc["samples"]:
        got.setdefault((s["kind"], s["mode"], s["size"]), []).append(s)
    check(set(got) == set(want), "ab.json samples: missing %s, unexpected %s",
          sorted(set(want) - set(got)), sorted(set(got) - set(want)))
    for k, st in want.items():
        reps = sorted(s["rep"] for s in got[k])
        check(reps == list(range(1, AB_QUICK_REPS + 1)), "%s: reps %s", k, reps)
        for s in got[k]:
            check(s["status"] == st, "%s rep %s: status %s, want %s (%s)", k, s["rep"],
                  s["status"], st, s.get("error") or s.get("offload_check"))
            if st != "ok":
                check("mb_s" not in s, "%s: a number for a mode that was not offered", k)
                continue
            metrics = AB_CONN_METRICS if k[0] == "conn" else AB_BULK_METRICS
            for m in metrics:
                number(s[m], "%s %s" % (k, m))
            check(math.isclose(s["mb_s"], s["bytes"] / s["secs"] / 1e6, rel_tol=1e-6),
                  "%s: MB/s is not bytes/secs/1e6", k)
            check(math.isclose(s["tx_cpu_s_per_gb"], s["cpu_tx_s"] / (s["bytes"] / 1e9),
                               rel_tol=1e-6), "%s: sender CPU/GB is not CPU s / GB", k)


def t_ab_counters_prove_the_mode(run):
    """Offloaded points show device sockets and device crypto; the others none."""
    for s in ab_doc(run)["samples"]:
        if s["status"] != "ok":
            continue
        c, mode, k = s["counters"], s["mode"], (s["kind"], s["mode"], s["size"])
        tx_dev = c.get("a.TlsTxDevice", 0) > 0 and c.get("eth0.tx_tls_encrypted_packets", 0) > 0
        if mode == "plain":
            check(not any(c.get(x, 0) for x in ("a.TlsTxSw", "a.TlsTxDevice", "b.TlsRxSw",
                                                "b.TlsRxDevice")), "%s: TLS counters moved", k)
        elif "tx" in needs(mode):
            check(tx_dev, "%s: TX offloaded but TlsTxDevice/tx_tls_encrypted_packets still", k)
        else:
            check(c.get("a.TlsTxSw", 0) > 0 and not c.get("eth0.tx_tls_encrypted_packets", 0),
                  "%s: TX software but counters say otherwise: %s", k, c)
        if s["kind"] == "bulk" and mode != "plain":
            rx_dev = c.get("b.TlsRxDevice", 0) > 0 and c.get("eth1.rx_tls_decrypted_packets", 0) > 0
            check(rx_dev == ("rx" in needs(mode)), "%s: RX device counters %s", k, c)


def t_ab_summary_matches_samples(run):
    doc = ab_doc(run)
    want = ab_expected(doc)
    rows = read_csv(run.path("ab.csv"), AB_SUMMARY_COLUMNS)
    by = {(r["kind"], r["mode"], r["size"], r["metric"]): r for r in rows}
    check(len(by) == len(rows), "ab.csv: a point twice")
    for k, st in want.items():
        metrics = AB_CONN_METRICS if k[0] == "conn" else AB_BULK_METRICS
        vals_of = [s for s in doc["samples"] if (s["kind"], s["mode"], s["size"]) == k]
        for m, unit in metrics.items():
            r = by.get(k + (m,))
            check(r is not None, "ab.csv: no row %s %s", k, m)
            check(r["unit"] == unit and r["status"] == st, "ab.csv %s %s: unit %s status %s",
                  k, m, r["unit"], r["status"])
            if st != "ok":
                check(r["median"] == "" and int(r["reps"]) == 0,
                      "ab.csv %s %s: a number for a mode that was not offered", k, m)
                continue
            vals = [s[m] for s in vals_of]
            check(int(r["reps"]) == len(vals), "ab.csv %s %s: reps", k, m)
            lo, med, hi = (number(r[c], "ab.csv %s %s" % (k, m)) for c in ("min", "median", "max"))
            check(math.isclose(med, statistics.median(vals), rel_tol=1e-4) and
                  math.isclose(lo, min(vals), rel_tol=1e-4) and
                  math.isclose(hi, max(vals), rel_tol=1e-4),
                  "ab.csv %s %s: %s/%s/%s, samples %s", k, m, lo, med, hi, vals)


def t_ab_headline_ratios(run):
    doc = ab_doc(run)
    want = ab_expected(doc)
    med = {}
    for s in doc["samples"]:
        if s["status"] == "ok":
            med.setdefault((s["kind"], s["mode"], s["size"]), []).append(s)
    rows = read_csv(run.path("ab-ratios.csv"), AB_RATIO_COLUMNS)
    by = {(r["ratio"], r["size"]): r for r in rows}
    for name, (kind, metric, num, den) in AB_HEADLINES.items():
        for size in (AB_SIZES if kind == "bulk" else ("10KB",)):
            r = by.get((name, size))
            check(r is not None, "ab-ratios.csv: no %s %s", name, size)
            a, b = (kind, num, size), (kind, den, size)
            if want[a] != "ok" or want[b] != "ok":
                check(r["status"] == "not_offered" and r["median"] == "",
                      "%s %s: status %s median %s, the device offers no such mode",
                      name, size, r["status"], r["median"])
                continue
            check(r["status"] == "ok", "%s %s: status %s", name, size, r["status"])
            expect = (statistics.median(s[metric] for s in med[a]) /
                      statistics.median(s[metric] for s in med[b]))
            check(math.isclose(number(r["median"], name), expect, rel_tol=1e-3),
                  "%s %s: ratio %s, medians give %g", name, size, r["median"], expect)
    text = open(run.path("ab.txt")).read()
    for name in AB_HEADLINES:
        check(name in text, "ab.txt: no headline %s", name)


def t_ab_text_table(run):
    doc = ab_doc(run)
    text = open(run.path("ab.txt")).read()
    check("TCG" in text, "ab.txt does not say the guest runs under TCG")
    for unit in ("MB/s", "CPU s/GB"):
        check(unit in text, "ab.txt: no %s", unit)
    lines = text.splitlines()
    labels = {"plain": "plain TCP", "software": "TLS software", "tx": "TLS TX offload",
              "rx": "TLS RX offload", "both": "TLS TX+RX offload"}
    for (kind, mode, size), st in ab_expected(doc).items():
        if kind != "bulk":
            continue
        hit = [l for l in lines if l.split()[:1] == [size] and labels[mode] in l]
        check(len(hit) == 1, "ab.txt: %d rows for %s %s", len(hit), size, mode)
        check(("not offered" in hit[0]) == (st == "not_offered"),
              "ab.txt %s %s: %r", size, mode, hit[0])
    low = text.lower()
    check(" nan" not in low and " inf" not in low, "ab.txt holds a non-finite number")


def t_ab_plot(run):
    with open(run.path("ab.png"), "rb") as f:
        head = f.read(8)
    check(head == b"\x89PNG\r\n\x1a\n", "ab.png is not a PNG")
    check(os.path.getsize(run.path("ab.png")) > 1000, "ab.png is tiny")


def t_ab_reanalysis(run):
    """--vm-log re-analyses the recorded guest output to the same summary."""
    out = run.path("re")
    p = subprocess.run([BENCH, "--part", "vm", "--vm-log", run.path("vm.log"), "--out", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    check(p.returncode == 0, "--vm-log exited %s: %s", p.returncode, p.stdout[-1000:])
    a = read_csv(run.path("ab.csv"), AB_SUMMARY_COLUMNS)
    b = read_csv(os.path.join(out, "ab.csv"), AB_SUMMARY_COLUMNS)
    check(a == b, "ab.csv differs after re-analysis")


TESTS = [
    ("bench_runs", t_bench_runs),
    ("summary_csv_complete", t_summary_csv_complete),
    ("samples_back_the_medians", t_samples_back_the_medians),
    ("json_matches_csv", t_json_matches_csv),
    ("text_table_complete", t_text_table_complete),
    ("path_ratios_recomputed", t_path_ratios_recomputed),
    ("openssl_speed_complete", t_openssl_speed_complete),
    ("plot_written", t_plot_written),
    ("ab_env", t_ab_env),
    ("ab_samples_complete", t_ab_samples_complete),
    ("ab_counters_prove_the_mode", t_ab_counters_prove_the_mode),
    ("ab_summary_matches_samples", t_ab_summary_matches_samples),
    ("ab_headline_ratios", t_ab_headline_ratios),
    ("ab_text_table", t_ab_text_table),
    ("ab_plot", t_ab_plot),
    ("ab_reanalysis", t_ab_reanalysis),
]


def main():
    # --native: the native part alone (no VM boot), its checks alone.
    native = sys.argv[1:] == ["--native"]
    if sys.argv[1:] and not native:
        sys.exit("usage: bench_output.py [--native]")
    tests = [t for t in TESTS if not (native and t[0].startswith("ab_"))]
    print("TAP version 13\n1..%d" % len(tests), flush=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tlsnic-bench-") as tmp:
        run = Run(os.path.join(tmp, "run"), native)
        cmd = [BENCH, "--quick", "--out", run.out] + (["--part", "native"] if native else [])
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        run.rc, run.log = p.returncode, p.stdout
        for i, (name, fn) in enumerate(tests, 1):
            try:
                fn(run)
                print("ok %d - %s" % (i, name), flush=True)
            except (Failed, OSError, KeyError, ValueError, TypeError, IndexError) as e:
                failed += 1
                for line in str(e).splitlines() or [type(e).__name__]:
                    print("# %s" % line)
                print("not ok %d - %s" % (i, name), flush=True)
    print("# %d passed, %d failed" % (len(tests) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
