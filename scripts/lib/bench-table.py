#!/usr/bin/env python3
"""Prints the Markdown table of a benchmark run from the rows scripts/lib/bench.sh's `row` wrote.

    bench-table.py ROWS_FILE

Each row: section, tree, reference command, its median seconds, CPU seconds and peak RSS (KiB),
odarchive's command, its three medians, the target (the highest ratio of odarchive's time over
the reference's that meets it, or "-") and "rss" when odarchive's peak RSS must not exceed the
reference's. The ratio is always odarchive's time over the reference's: below 1 is faster.
"""
import sys


def seconds(s, cpu):
    return f"{float(s):.2f} s (CPU {float(cpu):.2f} s)"


def mib(kib):
    return f"{int(kib) / 1024:.1f} MiB"


def target_text(section, target, rss):
    if target == "-":
        return "—"
    text = f"≤ {float(target):.2f}"
    if section == "restore":
        text += f" (throughput ≥ {1 / float(target):.1f} ×)"
    if rss == "rss":
        text += ", RSS ≤"
    return text


def verdict(ratio, target, rss, ref_rss, our_rss):
    if target == "-":
        return ""
    missed = []
    if ratio > float(target):
        missed.append(f"time {ratio / float(target):.2f} × the target")
    if rss == "rss" and int(our_rss) > int(ref_rss):
        missed.append(f"RSS {int(our_rss) / int(ref_rss):.2f} × the reference's")
    return "met" if not missed else "**missed**: " + ", ".join(missed)


def code(command):
    """A command as a code span in a table cell (a `|` would end the cell)."""
    return "`" + command.replace("|", "\\|") + "`"


def main():
    rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
    print("| what | reference (command) | reference | odarchive (command) | odarchive "
          "| ratio | target | peak RSS reference / odarchive |")
    print("|---|---|---|---|---|---|---|---|")
    for (section, tree, ref_cmd, ref_s, ref_cpu, ref_rss, our_cmd, our_s, our_cpu, our_rss,
         target, rss) in rows:
        ratio = float(our_s) / float(ref_s) if float(ref_s) > 0 else float("inf")
        met = verdict(ratio, target, rss, ref_rss, our_rss)
        print(f"| {section}, {tree} | {code(ref_cmd)} | {seconds(ref_s, ref_cpu)} | {code(our_cmd)} "
              f"| {seconds(our_s, our_cpu)} | {ratio:.2f} "
              f"| {target_text(section, target, rss)}{' ' + met if met else ''} "
              f"| {mib(ref_rss)} / {mib(our_rss)} |")


if __name__ == "__main__":
    main()
