#!/usr/bin/env python3
"""Summarises `perf script` output of a call-graph profile (perf record --call-graph dwarf).

    perf-summary.py SCRIPT_FILE [N]

Prints the N (default 15) largest shares of samples by:
  self   the function the sample was in (kernel functions included);
  owner  the innermost function of our own code (odarchive, discfs) or of the libraries that
         do the heavy lifting (SQLite, sha2, miniz_oxide, std's channels): who asked for the
         time, kernel work included;
  thread each thread, named by the outermost of our library functions on its stacks.
"""
import collections
import re
import sys

OWNER = re.compile(r"^(<?(odarchive|discfs)::|sqlite3|vdbe|sha2::|miniz_oxide|<?std::sync::mpmc)")
OURS = re.compile(r"(odarchive|discfs)::[a-z_]+::[A-Za-z_:]*[a-z_]$")
MAIN = re.compile(r"odarchive::(main|commands::)")


def frame_name(line):
    line = re.sub(r"^\s*[0-9a-f]+\s+", "", line.strip())
    line = line.rsplit(" (", 1)[0]
    return re.sub(r"\+0x[0-9a-f]+$", "", line)


def samples(path):
    with open(path, errors="replace") as f:
        for event in f.read().split("\n\n"):
            lines = [line for line in event.strip().split("\n") if line.strip()]
            if len(lines) >= 2:
                yield lines[0].split()[1], [frame_name(line) for line in lines[1:]]


def main():
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    own, owner, role = collections.Counter(), collections.Counter(), collections.Counter()
    total = 0
    for thread, frames in samples(sys.argv[1]):
        total += 1
        own[frames[0]] += 1
        owner[next((f for f in frames if OWNER.search(f)), "(no own frame)")] += 1
        ours = [f for f in frames if OURS.match(f) and not MAIN.match(f)]
        role[f"thread {thread}: {ours[-1] if ours else '?'}"] += 1
    print(f"{total} samples")
    for title, counter in (("self", own), ("owner", owner), ("thread", role)):
        print(f"-- {title}")
        for name, count in counter.most_common(top):
            print(f"{100 * count / total:5.1f}%  {name[:120]}")


if __name__ == "__main__":
    main()
