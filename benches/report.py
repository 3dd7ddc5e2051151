#!/usr/bin/env python3
"""Markdown tables from criterion's results of `cargo bench --bench engine` and
`cargo bench --bench streaming`.

Usage: python3 benches/report.py [CRITERION_DIR]

CRITERION_DIR defaults to $CRITERION_HOME, else $CARGO_TARGET_DIR/criterion, else
target/criterion. Reads every `<group>/<function>/new/estimates.json` (the median) with the
`benchmark.json` beside it (group, function, bytes per iteration).

Prints, per group: the median time and GB/s (10^9 bytes/s) of stickykey's headline
function (`stickykey/sub2api/full`), and its speedup over each alternative:
time(alternative) / time(stickykey), so > 1 means stickykey is faster. The last row is the
geometric mean of each speedup over the corpus groups (`corpus/...`). A second table gives
GB/s for every function of every group.

From `cargo bench --bench streaming` (groups `streaming/...`), one table per profile: per
body, GB/s of the one-shot call and of streaming in 16 KiB and 64 KiB chunks, and the ratio
stream / one-shot of throughputs (= time(one-shot) / time(stream): 1 means as fast, 0.85 is
the issue #4 target of "within 15%"; a ratio below it is marked with a `!`).

From `streaming-paired.jsonl` beside the criterion results (written by the `paired`
functions of `cargo bench --bench streaming`), the table "Streaming, paired rounds": per body
and profile, the median over rounds of time(one-shot) / time(stream) measured back to back
in the same round, which shared-machine drift does not move as it moves the ratio of two
medians measured seconds apart; `!` below 0.85 as above. Printed only when the file exists.

Either bench's tables are printed when its results are present. Python 3 standard library
only.
"""

import json
import math
import os
import sys
from pathlib import Path

HEADLINE = "stickykey/sub2api/full"
ALTERNATIVES = [
    ("reference", "reference/sub2api"),
    ("sonic-rs", "sonic-rs/sub2api"),
    ("simd-json", "simd-json/sub2api"),
]
FUNCTIONS = [
    "stickykey/sub2api/full",
    "stickykey/sub2api/extracted",
    "stickykey/native/full",
    "stickykey/native/extracted",
    "stickykey/sub2api/warm",
    "stickykey/sub2api/cold",
    "stickykey/sub2api/cold-xxh64-only",
    "reference/sub2api",
    "sonic-rs/sub2api",
    "simd-json/sub2api",
    "floor/memchr",
]


def criterion_dir():
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return Path("target") / "criterion"


def load(root):
    """{group: {"bytes": n, "fn": {function: median_ns}}}"""
    groups = {}
    for est in sorted(root.glob("**/new/estimates.json")):
        meta_path = est.parent / "benchmark.json"
        if not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text())
        median = json.loads(est.read_text())["median"]["point_estimate"]
        g = groups.setdefault(meta["group_id"], {"bytes": None, "fn": {}})
        tp = meta.get("throughput") or {}
        if "Bytes" in tp:
            g["bytes"] = tp["Bytes"]
        g["fn"][meta["function_id"]] = median
    return groups


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_bytes(n):
    if n is None:
        return "?"
    if n >= 1 << 20:
        return f"{n / (1 << 20):.2f} MiB"
    if n >= 1 << 10:
        return f"{n / (1 << 10):.1f} KiB"
    return f"{n} B"


def gbps(bytes_, ns):
    return bytes_ / ns if bytes_ and ns else None  # bytes per ns = GB/s


def fmt_gbps(x):
    return "-" if x is None else f"{x:.3g}"


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}×"


def group_order(name):
    # corpus groups by API then size, then examples, then synthetic.
    kind = 0 if name.startswith("corpus/") else 1 if name == "examples" else 2
    parts = name.split("/")
    api = parts[1] if kind == 0 and len(parts) > 2 else ""
    size = parts[-1]
    num = "".join(c for c in size if c.isdigit() or c == ".")
    try:
        value = float(num) * (1 << 20 if size.endswith("MB") else 1 << 10)
    except ValueError:
        value = 0
    api_rank = {"chat": 0, "responses": 1, "anthropic": 2}.get(api, 3)
    return (kind, api_rank, value, name)


def main():
    root = criterion_dir()
    groups = load(root)
    if not groups:
        sys.exit(f"no criterion results under {root} (run `cargo bench --bench engine` first)")
    names = sorted((g for g in groups if HEADLINE in groups[g]["fn"]), key=group_order)
    streams = sorted(
        (g for g in groups if g.startswith(STREAM_PREFIX)),
        key=lambda g: group_order(g[len(STREAM_PREFIX):]),
    )
    if not names and not streams:
        sys.exit(f"no group under {root} has {HEADLINE} or starts with {STREAM_PREFIX} "
                 "(run `cargo bench --bench engine` or `--bench streaming` first)")
    if names:
        for headline in [HEADLINE, "stickykey/sub2api/cold", "stickykey/sub2api/cold-xxh64-only"]:
            if any(headline in groups[n]["fn"] for n in names):
                speedups(groups, names, headline)
        every_function(groups, names)
    if streams:
        streaming(groups, streams)
    streaming_paired(root)


# `cargo bench --bench streaming`: groups `streaming/<body>`, functions `<profile>/<variant>`.
STREAM_PREFIX = "streaming/"
STREAM_PROFILES = ["sub2api", "native", "native-extracted"]
STREAM_VARIANTS = ["stream-16K", "stream-64K"]
STREAM_TARGET = 0.85  # issue #4: streaming within 15% of one-shot


def streaming(groups, names):
    for profile in STREAM_PROFILES:
        if not any(f"{profile}/one-shot" in groups[n]["fn"] for n in names):
            continue
        print(f"\nStreaming, profile `{profile}`: GB/s (median) of one-shot `session_key` and of "
              "`stream` + `push` of every 16 KiB / 64 KiB slice + `finish`; ratio = "
              "throughput(stream) / throughput(one-shot), `!` below "
              f"{STREAM_TARGET}.\n")
        head = ["body", "size", "one-shot GB/s", "16K GB/s", "64K GB/s",
                "16K / one-shot", "64K / one-shot"]
        print("| " + " | ".join(head) + " |")
        print("|---|" + "---:|" * (len(head) - 1))
        for name in names:
            g = groups[name]
            t = g["fn"].get(f"{profile}/one-shot")
            if t is None:
                continue
            row = [name[len(STREAM_PREFIX):], fmt_bytes(g["bytes"]), fmt_gbps(gbps(g["bytes"], t))]
            times = [g["fn"].get(f"{profile}/{v}") for v in STREAM_VARIANTS]
            row += [fmt_gbps(gbps(g["bytes"], ts)) for ts in times]
            for ts in times:
                r = t / ts if ts else None
                cell = "-" if r is None else f"{r:.2f}"
                if r is not None and r < STREAM_TARGET:
                    cell += " !"
                row.append(cell)
            print("| " + " | ".join(row) + " |")


STREAM_PAIRED_FILE = "streaming-paired.jsonl"


def streaming_paired(root):
    """The "Streaming, paired rounds" table from `<root>/streaming-paired.jsonl`, if any."""
    path = root / STREAM_PAIRED_FILE
    if not path.is_file():
        return
    rows = {}  # group -> {"bytes": n, profile: record}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        group = rec.get("group")
        if not group or not group.startswith(STREAM_PREFIX):
            continue
        row = rows.setdefault(group, {"bytes": rec.get("bytes")})
        row[rec.get("profile")] = rec
    if not rows:
        return
    names = sorted(rows, key=lambda g: group_order(g[len(STREAM_PREFIX):]))
    profiles = [p for p in STREAM_PROFILES if any(p in rows[n] for n in names)]
    print(f"\nStreaming, paired rounds (`{STREAM_PAIRED_FILE}`): per round, one-shot, stream-16K "
          "and stream-64K timed back to back on the same body; ratio = median over rounds of "
          "time(one-shot) / time(stream) (= throughput(stream) / throughput(one-shot)), `!` "
          f"below {STREAM_TARGET}.\n")
    head = ["body", "size"]
    for p in profiles:
        head += [f"`{p}` 16K", f"`{p}` 64K"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    counts = []
    for name in names:
        row = [name[len(STREAM_PREFIX):], fmt_bytes(rows[name]["bytes"])]
        for p in profiles:
            rec = rows[name].get(p)
            if rec is not None and rec.get("rounds") is not None:
                counts.append(rec["rounds"])
            for key in ("ratio_16k", "ratio_64k"):
                r = None if rec is None else rec.get(key)
                cell = "-" if r is None else f"{r:.2f}"
                if r is not None and r < STREAM_TARGET:
                    cell += " !"
                row.append(cell)
        print("| " + " | ".join(row) + " |")
    if counts:
        lo, hi = min(counts), max(counts)
        n = f"{lo}" if lo == hi else f"{lo} to {hi}"
        print(f"\nRounds per body and profile: {n}.")


def speedups(groups, names, HEADLINE):
    print(f"\nstickykey `{HEADLINE}`: median time and throughput; speedup = time(other) / "
          "time(stickykey), > 1 means stickykey is faster.\n")
    head = ["group", "body", "stickykey", "GB/s"] + [f"vs {a}" for a, _ in ALTERNATIVES]
    head.append("floor GB/s")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    logs = {a: [] for a, _ in ALTERNATIVES}
    for name in names:
        g = groups[name]
        t = g["fn"].get(HEADLINE)
        if t is None:
            continue
        row = [name, fmt_bytes(g["bytes"]), fmt_time(t), fmt_gbps(gbps(g["bytes"], t))]
        for alt, fid in ALTERNATIVES:
            other = g["fn"].get(fid)
            r = other / t if other else None
            row.append(fmt_ratio(r))
            if r and name.startswith("corpus/"):
                logs[alt].append(math.log(r))
        row.append(fmt_gbps(gbps(g["bytes"], g["fn"].get("floor/memchr"))))
        print("| " + " | ".join(row) + " |")
    n = max((len(v) for v in logs.values()), default=0)
    if n:
        row = [f"**geomean, {n} corpus groups**", "", "", ""]
        for alt, _ in ALTERNATIVES:
            v = logs[alt]
            row.append(f"**{fmt_ratio(math.exp(sum(v) / len(v)))}**" if v else "-")
        row.append("")
        print("| " + " | ".join(row) + " |")



def every_function(groups, names):
    print("\nThroughput of every function, GB/s (median):\n")
    fns = FUNCTIONS + sorted({f for g in groups.values() for f in g["fn"]} - set(FUNCTIONS))
    fns = [f for f in fns if any(f in groups[n]["fn"] for n in names)]
    print("| group | " + " | ".join(f"`{f}`" for f in fns) + " |")
    print("|---|" + "---:|" * len(fns))
    for name in names:
        g = groups[name]
        cells = [fmt_gbps(gbps(g["bytes"], g["fn"].get(f))) for f in fns]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
