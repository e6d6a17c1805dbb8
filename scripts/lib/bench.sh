# Shared by the bench scripts: deterministic test trees and timing helpers. Source it.

# gen DEST FILES TOTAL_BYTES: a deterministic tree of FILES files of varied sizes adding up to
# about TOTAL_BYTES, 40 files per directory, 1 in 20 a duplicate of an earlier one. Kept
# between runs (a `.complete` marker says it is whole).
gen() {
    local dest=$1 files=$2 total=$3
    [[ -e $dest/.complete ]] && return
    rm -rf "$dest"
    echo "generating $dest ($files files, $total bytes)" >&2
    python3 - "$dest" "$files" "$total" <<'PY'
import os, random, sys
dest, files, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(1)
weights = [rng.expovariate(1.0) for _ in range(files)]
scale = total / sum(weights)
block = os.urandom(1 << 20)
previous = []
for i in range(files):
    d = os.path.join(dest, f"d{i // 1600:03}", f"s{i // 40:05}")
    if i % 40 == 0:
        os.makedirs(d, exist_ok=True)
    path = os.path.join(d, f"file-{i:07}.bin")
    if previous and rng.random() < 0.05:
        data = rng.choice(previous)
    else:
        size = int(weights[i] * scale)
        start = rng.randrange(0, len(block))
        data = (block[start:] + block)[:size] if size <= len(block) else os.urandom(size)
        data = i.to_bytes(8, "little") + data[8:]
        if len(previous) < 64:
            previous.append(data)
    with open(path, "wb") as f:
        f.write(data)
open(os.path.join(dest, ".complete"), "w").close()
PY
}

# gen_big DEST COUNT GIB: COUNT files of GIB GiB of random bytes.
gen_big() {
    local dest=$1 count=$2 gib=$3
    mkdir -p "$dest"
    for ((i = 1; i <= count; i++)); do
        [[ -s $dest/f$i ]] || head -c $((gib << 30)) /dev/urandom >"$dest/f$i"
    done
}

# timed CMD...: runs CMD, prints "seconds peak_rss_kib".
timed() {
    local log
    log=$(mktemp)
    /usr/bin/time -f '%e %M' -o "$log" "$@" >/dev/null 2>&1
    tail -1 "$log"
    rm -f "$log"
}

# median_of N CMD...: runs CMD N times, prints the median "seconds peak_rss_kib".
median_of() {
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do timed "$@"; done | sort -n | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}'
}

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
cat_all() { find "$1" -type f -print0 | xargs -0 cat; }
export -f cat_all

# ---------------------------------------------------------------------------------------------
# The user's commands beside the reference tools (scripts/bench and its sections bench-scan,
# bench-write, bench-restore, bench-archive). Every measured command is one shell snippet: the
# same text is run (by `bash -c`, with TREE, LIST, IMG, OUT, DEST and CAT in its environment and
# the release build of `odarchive` first on PATH) and shown in the table, so each row says
# exactly what it timed.

# Sizes and repetitions, set by the environment (a smoke run sets them tiny).
BENCH_DIR=${BENCH_DIR:-/tmp/odarchive-bench}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_TREES=${BENCH_TREES:-many big}
BENCH_MANY_FILES=${BENCH_MANY_FILES:-100000}
BENCH_MANY_BYTES=${BENCH_MANY_BYTES:-$((1 << 30))}
BENCH_BIG_FILES=${BENCH_BIG_FILES:-3}
BENCH_BIG_BYTES=${BENCH_BIG_BYTES:-1000000000}
BENCH_MEDIA=${BENCH_MEDIA:-bd}
BENCH_FRESH_FS=${BENCH_FRESH_FS:-0}

# need_tools COMMAND...: fails naming every missing command and the Debian package holding it.
need_tools() {
    local tool missing=()
    declare -A package=([genisoimage]=genisoimage [xorriso]=xorriso [osirrox]=xorriso
        [7z]="p7zip-full or 7zip" [b3sum]=b3sum [/usr/bin/time]=time [python3]=python3
        [sha256sum]=coreutils [perf]=linux-perf [strace]=strace)
    for tool in "$@"; do
        if [[ $tool == 7z ]]; then
            command -v 7zz >/dev/null || command -v 7z >/dev/null || missing+=("7z or 7zz (${package[7z]})")
        elif ! command -v "$tool" >/dev/null; then
            missing+=("$tool (${package[$tool]:-?})")
        fi
    done
    if ((${#missing[@]})); then
        printf 'missing: %s\n' "${missing[@]}" >&2
        echo "install the Debian packages named (see the comment at the top of scripts/bench)" >&2
        exit 1
    fi
}

# seven: 7-Zip's command (7zz of the 7zip package, else 7z of p7zip-full).
seven() { if command -v 7zz >/dev/null; then echo 7zz; else echo 7z; fi; }

# build_odarchive: the release binary, first on PATH for the measured snippets.
build_odarchive() {
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
    cargo build --release --locked -q -p odarchive-cli
    export PATH=$CARGO_TARGET_DIR/release:$PATH
    [[ $(command -v odarchive) == "$CARGO_TARGET_DIR/release/odarchive" ]] ||
        { echo "odarchive on PATH is not the release build" >&2; exit 1; }
}

# say TEXT...: progress, on stderr (stdout is for the table).
say() { printf '%s\n' "$*" >&2; }

# bench_tree NAME: makes (or reuses) the tree NAME (many: BENCH_MANY_FILES files of about
# BENCH_MANY_BYTES in all; big: BENCH_BIG_FILES files of BENCH_BIG_BYTES random bytes) and sets
# TREE, LIST (its files, NUL-separated, in the order scan reads them: sorted by name bytes, a
# folder's files before the next folder's, as `find | sort` gives for these trees) and
# TREE_TITLE.
bench_tree() {
    case $1 in
    many)
        TREE=$BENCH_DIR/many-$BENCH_MANY_FILES-$BENCH_MANY_BYTES
        gen "$TREE" "$BENCH_MANY_FILES" "$BENCH_MANY_BYTES"
        TREE_TITLE="$(thousands "$BENCH_MANY_FILES") files / $(human_bytes "$BENCH_MANY_BYTES")"
        ;;
    big)
        TREE=$BENCH_DIR/big-$BENCH_BIG_FILES-$BENCH_BIG_BYTES
        gen_big_bytes "$TREE" "$BENCH_BIG_FILES" "$BENCH_BIG_BYTES"
        TREE_TITLE="$BENCH_BIG_FILES × $(human_bytes "$BENCH_BIG_BYTES")"
        ;;
    *)
        echo "unknown tree $1 (many, big)" >&2
        exit 2
        ;;
    esac
    LIST=$BENCH_DIR/$(basename "$TREE").list
    find "$TREE" -type f -print0 | LC_ALL=C sort -z >"$LIST"
    export TREE LIST
}

# gen_big_bytes DEST COUNT BYTES: COUNT files of BYTES random bytes each, kept between runs (a
# marker DEST.complete beside the tree says it is whole).
gen_big_bytes() {
    local dest=$1 count=$2 bytes=$3 i
    [[ -e $dest.complete ]] && return
    rm -rf "$dest"
    mkdir -p "$dest"
    echo "generating $dest ($count files of $bytes bytes)" >&2
    for ((i = 1; i <= count; i++)); do head -c "$bytes" /dev/urandom >"$dest/f$i"; done
    : >"$dest.complete"
}

thousands() { python3 -c "print(f'{$1:,}')"; }
human_bytes() {
    python3 -c "
n = $1
units = (('GiB', 1 << 30), ('GB', 10**9), ('MiB', 1 << 20), ('MB', 10**6), ('KiB', 1024))
exact = [f'{n // size} {unit}' for unit, size in units if n >= size and n % size == 0]
near = [f'{n / size:.3g} {unit}' for unit, size in units if n >= size]
print((exact + near + [f'{n} B'])[0])"
}

# warm FILES_LIST: reads every file of the NUL-separated list once, so every measured run starts
# with its input in the page cache; flushes what earlier runs left dirty first.
warm() {
    sync
    xargs -0 cat <"$1" >/dev/null
}

# measure PREP SNIPPET: runs PREP (a shell command, not timed) then SNIPPET (timed) BENCH_RUNS
# times; prints the medians "seconds cpu_seconds peak_rss_kib". A failing run stops the
# benchmark with its output: a timing of a failure means nothing.
measure() {
    local prep=$1 snippet=$2 i log out runs
    log=$(mktemp) out=$(mktemp) runs=$(mktemp)
    for ((i = 0; i < BENCH_RUNS; i++)); do
        eval "$prep" || { echo "failed to prepare: $prep" >&2; return 1; }
        if ! /usr/bin/time -f '%e %U %S %M' -o "$log" bash -c "set -eo pipefail; $snippet" >"$out" 2>&1; then
            echo "failed: $snippet" >&2
            cat "$log" "$out" >&2
            rm -f "$log" "$out" "$runs"
            return 1
        fi
        tail -1 "$log" >>"$runs"
    done
    python3 -c '
import statistics, sys
runs = [[float(x) for x in line.split()] for line in open(sys.argv[1])]
print(f"{statistics.median(r[0] for r in runs):.2f}",
      f"{statistics.median(r[1] + r[2] for r in runs):.2f}",
      int(statistics.median(r[3] for r in runs)))' "$runs"
    rm -f "$log" "$out" "$runs"
}

# measure_pair PREP_A SNIPPET_A PREP_B SNIPPET_B: like `measure`, for two commands run in turn
# (A, B, A, B, ...: a change in the machine's load falls on both); prints A's medians
# "seconds cpu_seconds peak_rss_kib" on one line and B's on the next.
measure_pair() {
    local a b i
    a=$(mktemp) b=$(mktemp)
    for ((i = 0; i < BENCH_RUNS; i++)); do
        BENCH_RUNS=1 measure "$1" "$2" >>"$a" || { rm -f "$a" "$b"; return 1; }
        BENCH_RUNS=1 measure "$3" "$4" >>"$b" || { rm -f "$a" "$b"; return 1; }
    done
    python3 -c '
import statistics, sys
def medians(path):
    runs = [[float(x) for x in line.split()] for line in open(path)]
    return (f"{statistics.median(r[0] for r in runs):.2f}", f"{statistics.median(r[1] for r in runs):.2f}",
            str(int(statistics.median(r[2] for r in runs))))
print(" ".join(medians(sys.argv[1])))
print(" ".join(medians(sys.argv[2])))' "$a" "$b"
    rm -f "$a" "$b"
}

# shown SNIPPET: the snippet as the table shows it (variables by name: TREE, IMG, ...).
shown() { printf '%s' "$1" | sed -e 's/"\$\([A-Z]*\)"/\1/g' -e 's/\$\([A-Z]*\)/\1/g'; }

# report_one LABEL "seconds cpu rss": a progress line.
report_one() {
    local label=$1 s cpu rss
    read -r s cpu rss <<<"$2"
    say "$(printf '  %-44s %8s s  CPU %8s s  %8s MiB' "$label" "$s" "$cpu" "$(mib "$rss")")"
}
mib() { python3 -c "print(f'{$1 / 1024:.1f}')"; }

# row SECTION TREE_TITLE REF_SNIPPET REF_MEASURE OUR_SNIPPET OUR_MEASURE TARGET RSS_TARGET:
# one line of the table, appended to $BENCH_ROWS. TARGET is the highest ratio (odarchive's time
# over the reference's) that meets the issue's target, or "-" for a reference shown for
# comparison only; RSS_TARGET "rss" when odarchive's peak RSS must not exceed the reference's.
row() {
    local ref_s ref_cpu ref_rss our_s our_cpu our_rss
    read -r ref_s ref_cpu ref_rss <<<"$4"
    read -r our_s our_cpu our_rss <<<"$6"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(shown "$3")" \
        "$ref_s" "$ref_cpu" "$ref_rss" "$(shown "$5")" "$our_s" "$our_cpu" "$our_rss" "$7" "$8" >>"$BENCH_ROWS"
}

# bench_section_start: a section run on its own keeps its rows in a file of its own and prints
# their table when it ends; run from scripts/bench, it adds to the run's rows.
bench_section_start() {
    shopt -s inherit_errexit
    [[ $BENCH_DIR != *[[:space:]]* ]] || { echo "BENCH_DIR must not hold spaces: $BENCH_DIR" >&2; exit 2; }
    mkdir -p "$BENCH_DIR"
    if [[ -z ${BENCH_ROWS:-} ]]; then
        BENCH_ROWS=$(mktemp)
        export BENCH_ROWS
        on_exit 'rm -f "$BENCH_ROWS"'
        on_success 'python3 scripts/lib/bench-table.py "$BENCH_ROWS"'
    fi
    need_tools /usr/bin/time python3
    build_odarchive
}

# on_exit CMD: runs CMD when the script ends, however it ends (in the order they were added);
# on_success CMD: only when it ends with status 0. Cleanups of work folders go here.
BENCH_ON_EXIT=()
BENCH_ON_SUCCESS=()
on_exit() { BENCH_ON_EXIT+=("$1"); }
on_success() { BENCH_ON_SUCCESS+=("$1"); }
bench_exit() {
    local status=$? cmd
    if ((status == 0)); then
        for cmd in "${BENCH_ON_SUCCESS[@]}"; do eval "$cmd"; done
    fi
    for cmd in "${BENCH_ON_EXIT[@]}"; do eval "$cmd"; done
    exit "$status"
}
trap bench_exit EXIT
