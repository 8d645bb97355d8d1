#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""KTAP: `make bench`'s native part writes well-formed, complete results.

Runs tools/bench/tlsnic-bench --quick (tiny durations) into a temporary run
directory and checks the files, not the timings: every metric for every
cipher and record size (the list below, written independently of the
bench), every column, values positive and finite, min <= median <= max,
the samples behind each median, CSV and JSON saying the same, ratios where
and only where a reference is named, the text table, the `openssl speed`
cross-check and the plot.
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
}
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
    def __init__(self, out):
        self.out = out
        self.rc = None
        self.log = ""

    def path(self, name):
        return os.path.join(self.out, name)


def t_bench_runs(run):
    check(run.rc == 0, "tlsnic-bench --quick exited %s:\n%s", run.rc, run.log[-2000:])
    check("not part of this run yet" in run.log, "the run does not say the VM part did not run")


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
            # TX table, RX table, openssl speed cross-check.
            check(len(hits) == 3, "device.txt: %d rows for %s %s", len(hits), c, label)
        ctx_rows = [l for l in lines if l.startswith(c) and not l.split()[1].endswith("K")]
        check(len(ctx_rows) == 1, "device.txt: %d context rows for %s", len(ctx_rows), c)
    low = text.lower()
    check("nan" not in low and "inf" not in low.replace("info", ""),
          "device.txt holds a non-finite number")


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


TESTS = [
    ("bench_runs", t_bench_runs),
    ("summary_csv_complete", t_summary_csv_complete),
    ("samples_back_the_medians", t_samples_back_the_medians),
    ("json_matches_csv", t_json_matches_csv),
    ("text_table_complete", t_text_table_complete),
    ("openssl_speed_complete", t_openssl_speed_complete),
    ("plot_written", t_plot_written),
]


def main():
    print("TAP version 13\n1..%d" % len(TESTS), flush=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="tlsnic-bench-") as tmp:
        run = Run(os.path.join(tmp, "run"))
        p = subprocess.run([BENCH, "--quick", "--out", run.out], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        run.rc, run.log = p.returncode, p.stdout
        for i, (name, fn) in enumerate(TESTS, 1):
            try:
                fn(run)
                print("ok %d - %s" % (i, name), flush=True)
            except (Failed, OSError, KeyError, ValueError, TypeError) as e:
                failed += 1
                for line in str(e).splitlines() or [type(e).__name__]:
                    print("# %s" % line)
                print("not ok %d - %s" % (i, name), flush=True)
    print("# %d passed, %d failed" % (len(TESTS) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
