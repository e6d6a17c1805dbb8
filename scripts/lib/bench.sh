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
