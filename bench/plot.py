#!/usr/bin/python3
"""Prints the summary table of a benchmark run and plots it as a PNG.

Usage: bench/plot.py RESULTS.tsv OUT.png

RESULTS.tsv is what bench/run.sh collects: tab-separated lines
    kind  workload  subject  baseline  value  unit  goal  verdict
of kind "meta" (facts about the run), "measure" (an absolute figure) or
"ratio" (subject / baseline, judged against goal: see bench/harness.h).
The plot has the ratios, each with its goal, and the resident-set figures.
Runs under Debian's python3 with python3-matplotlib.
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must come first)

COLORS = {"met": "#2e7d32", "missed": "#c62828", "report": "#757575", "tiny": "#1565c0"}


def read_rows(path):
    """Returns the lines of the results file as dicts."""
    fields = ["kind", "workload", "subject", "baseline", "value", "unit", "goal", "verdict"]
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(fields):
                sys.exit(f"plot.py: {path}:{number}: expected {len(fields)} fields")
            row = dict(zip(fields, parts))
            if row["kind"] != "meta":
                row["value"] = float(row["value"])
            rows.append(row)
    return rows


def print_table(rows):
    """Prints the facts of the run, then every ratio with its goal."""
    meta = {r["subject"]: r["value"] for r in rows if r["kind"] == "meta"}
    print()
    print("memory_pages benchmarks: " + ", ".join(f"{k} {v}" for k, v in meta.items()))
    ratios = [r for r in rows if r["kind"] == "ratio"]
    width = max([len(f"{r['subject']} / {r['baseline']}") for r in ratios] + [5])
    print(f"{'#':<3} {'ratio':<{width}} {'value':>8}  {'goal':<8} verdict")
    for r in ratios:
        what = f"{r['subject']} / {r['baseline']}"
        goal = "<= " + r["goal"] if r["goal"] != "-" else "-"
        print(f"{r['workload']:<3} {what:<{width}} {r['value']:>8.4g}x  {goal:<8} {r['verdict']}")
    verdicts = [r["verdict"] for r in ratios]
    if "tiny" in verdicts:
        print("tiny run: the goals are not judged")
    else:
        print(f"goals: {verdicts.count('met')} met, {verdicts.count('missed')} missed")
    return meta


def plot(rows, meta, png):
    """Writes the ratios and the resident-set figures to png."""
    ratios = [r for r in rows if r["kind"] == "ratio"]
    peaks = [r for r in rows if r["kind"] == "measure" and r["unit"] == "MiB peak"]
    small = [r for r in rows if r["kind"] == "measure" and r["unit"].startswith("KiB")]
    fig, axes = plt.subplots(
        3, 1, figsize=(11, 4 + 0.42 * len(ratios)),
        gridspec_kw={"height_ratios": [max(len(ratios), 1), 3, 3]})
    title = "memory_pages benchmarks"
    if meta:
        title += "\n" + ", ".join(f"{k}: {meta[k]}" for k in
                                  ("date", "commit", "mode", "load before", "load after") if k in meta)
    fig.suptitle(title, fontsize=10)

    ax = axes[0]
    labels = [f"{r['workload']}: {r['subject']} / {r['baseline']}" for r in ratios]
    ys = list(range(len(ratios)))[::-1]
    values = [r["value"] for r in ratios]
    ax.barh(ys, values, color=[COLORS.get(r["verdict"], "#757575") for r in ratios])
    for y, r in zip(ys, ratios):
        # Significant digits, not decimals: the arena's ratios are near 1/400.
        ax.text(r["value"], y, f" {r['value']:.3g}x", va="center", fontsize=8)
        if r["goal"] != "-":
            ax.plot([float(r["goal"])] * 2, [y - 0.4, y + 0.4], color="black", linewidth=2)
    ax.axvline(1.0, color="#9e9e9e", linestyle=":", linewidth=1)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("ratio, log scale (of best CPU times; for 7, of peak resident sets); black bar: "
                  "goal (at most); green met, red missed, grey reported, blue tiny run", fontsize=8)

    for ax, group, unit, what in (
            (axes[1], peaks, "MiB", "workload 7: peak resident set while growing to 1 GiB"),
            (axes[2], small, "KiB", "workload 2: resident set left after, and peak during, the loop")):
        names = [f"{r['subject']} ({r['unit'].split(' ', 1)[1]})" if " " in r["unit"]
                 else r["subject"] for r in group]
        ax.barh(range(len(group))[::-1], [r["value"] for r in group], color="#546e7a")
        ax.set_yticks(range(len(group))[::-1])
        ax.set_yticklabels(names, fontsize=8)
        ax.set_xlabel(unit, fontsize=8)
        ax.set_title(what, fontsize=9)
        for y, r in zip(range(len(group))[::-1], group):
            ax.text(r["value"], y, f" {r['value']:.4g}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench/plot.py RESULTS.tsv OUT.png")
    rows = read_rows(sys.argv[1])
    if not any(r["kind"] == "ratio" for r in rows):
        sys.exit(f"plot.py: {sys.argv[1]} has no results")
    meta = print_table(rows)
    plot(rows, meta, sys.argv[2])


if __name__ == "__main__":
    main()
