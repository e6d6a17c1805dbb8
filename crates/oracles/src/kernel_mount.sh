#!/usr/bin/env bash
# kernel_mount.sh IMAGE OUTDIR
#
# (Copied into the oracles crate from the project's development aids so the crate is
# self-contained; run by `oracles::kernel::kernel_mount`. Change: never installs packages.)
#
# Independent "Linux kernel reader" oracle for ISO 9660 / UDF images.
# Boots a Debian kernel (linux-image-amd64: 6.1 on bookworm) under qemu (TCG
# software emulation) with a tiny busybox initramfs, attaches IMAGE read-only
# as virtio disks (/dev/vdb, /dev/vdc, ...: one per view, since two filesystem
# types cannot hold one block device at once), loads the virtio/cdrom/udf/
# isofs modules, mounts the image once per "view" and records every entry:
# type, size, mtime seconds, sha256 of regular files, symlink target, exact
# name bytes.  The records come back on a writable virtio disk (/dev/vda, a
# tar stream), not through the serial console, so kernel messages cannot
# interleave with them and names may hold any byte (newline included); the
# console (ttyS0 -> OUTDIR/console.log) carries status lines ("KO: ..."
# between "KO: BEGIN" and "KO: END") and the udf/isofs dmesg lines.
#
# Views (KO_VIEWS, comma list, default "udf,iso9660"; "all" = all four):
#   udf      mount -t udf     -o ro,loud,utf8
#   iso9660  mount -t iso9660 -o ro,loud        (Rock Ridge if present, else Joliet, else primary)
#   joliet   mount -t iso9660 -o ro,loud,norock,utf8 (Joliet if present)
#   plain    mount -t iso9660 -o ro,loud,norock,nojoliet (primary volume names)
#   ("loud" = busybox mount without MS_SILENT, so the drivers log why a mount fails)
#
# Output in OUTDIR:
#   <view>.tsv     "# type sha256 size mtime path [link_target]"; type f/d/l/o, r = root dir;
#                  path relative; '\\' TAB LF CR and non-UTF-8 bytes escaped as \\ \t \n \r \xNN;
#                  sha256 '-' for non-files and for files the kernel could not read
#   <view>.status  mount command, rc, stderr, counts, read errors, dmesg lines, guest seconds
#   status.txt     one-line summary per view;  dmesg.txt  full guest dmesg
#   console.log    serial console;  qemu.stderr;  raw/  the guest's files as written
# Exit: 0 every view mounted and listed without read errors; 2 some view failed
#       to mount or had read errors (see OUTDIR/<view>.status); 1 no result
#       (timeout, boot failure, result disk too small).
# Compare with the source tree: kernel_compare.py SRC_DIR OUTDIR
#
# Env: KO_VIEWS=udf,iso9660 | all
#      KO_TIMEOUT=seconds   qemu wall-clock limit (default 180 + 1 s per 8 MiB of image per view)
#      KO_PARALLEL=1        views run concurrently on 2 vCPUs (0: one after the other, 1 vCPU)
#      KO_MEM=1024 (MiB)    KO_SMP (default 2 if parallel)   KO_OUTDISK_MB=1024 (sparse result disk)
#      KO_ACCEL=tcg         qemu -accel list, ':'-separated (e.g. kvm:tcg).  Default tcg: on this
#                           workplace /dev/kvm opens but nested guests fail (MSR 0x10a assert
#                           with -cpu max/host, hang in the real-mode setup, KVM internal error)
#      KO_CACHE=/tmp/kernel-oracle-cache  kernel (vmlinuz + the 11 modules, ~11 MB) + initramfs
#      KO_KERNEL_PKG=linux-image-6.1.0-NN-amd64 (default: what linux-image-amd64 depends on)
#      KO_KERNEL_ROOT=DIR   use DIR/boot/vmlinuz-V + DIR/lib/modules/V instead (e.g. /)
#      KO_UDF_OPTS / KO_ISO_OPTS: extra mount options (comma list, e.g. KO_UDF_OPTS=bs=2048)
# Needs: qemu-system-x86 busybox-static (Debian packages; not installed by this copy);
#   the kernel package is fetched with apt-get download and unpacked into KO_CACHE, not installed.
set -uo pipefail

IMG=${1:?usage: kernel_mount.sh IMAGE OUTDIR}
OUT=${2:?usage: kernel_mount.sh IMAGE OUTDIR}
IMG=$(realpath "$IMG")
[ -f "$IMG" ] || [ -b "$IMG" ] || { echo "kernel_mount: no image $IMG" >&2; exit 1; }
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
CACHE=${KO_CACHE:-/tmp/kernel-oracle-cache}
VIEWS=${KO_VIEWS:-udf,iso9660}
[ "$VIEWS" = all ] && VIEWS=udf,iso9660,joliet,plain
MEM=${KO_MEM:-1024}
ACCEL=${KO_ACCEL:-tcg}
PAR=${KO_PARALLEL:-1}
SMP=${KO_SMP:-$([ "$PAR" = 1 ] && echo 2 || echo 1)}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
mkdir -p "$CACHE"
log() { echo "kernel_mount: $*" >&2; }

# ---------------------------------------------------------------- tools
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
BB=""
for b in /bin/busybox /usr/bin/busybox; do
  if [ -x $b ] && file -L $b 2>/dev/null | grep -q 'statically linked'; then BB=$b; break; fi
  if [ -x $b ] && ! ldd $b >/dev/null 2>&1; then BB=$b; break; fi
done
[ -n "$BB" ] || need_pkgs+=(busybox-static)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  # (the oracles crate checks these before running; it never installs packages)
  log "missing: ${need_pkgs[*]} (apt-get install -y ${need_pkgs[*]})"; exit 1
fi

# ---------------------------------------------------------------- kernel
exec 9>"$CACHE/.lock"; flock 9      # one cache builder at a time (released below)
# Modules in load order (dependencies first).  Debian 6.1 ships them as plain
# .ko; .ko.xz/.ko.zst/.ko.gz are decompressed here because busybox insmod
# takes plain ELF only.
MODS="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
drivers/cdrom/cdrom lib/crc-itu-t fs/nls/nls_utf8 fs/udf/udf fs/isofs/isofs"

KROOT=""   # dir holding boot/vmlinuz-V and lib/modules/V/kernel/...
kernel_ok() {   # vmlinuz + every module of MODS (any compression) or built in
  local v k m e found
  v=$(ls "$1"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -1); [ -n "$v" ] || return 1
  k=${v##*/vmlinuz-}
  for m in $MODS; do
    found=""
    for e in .ko .ko.xz .ko.zst .ko.gz; do [ -f "$1/lib/modules/$k/kernel/$m$e" ] && found=1 && break; done
    [ -n "$found" ] || grep -q "/$m.ko" "$1/lib/modules/$k/modules.builtin" 2>/dev/null || return 1
  done
}
if [ -n "${KO_KERNEL_ROOT:-}" ]; then KROOT=$KO_KERNEL_ROOT
elif kernel_ok "$CACHE/kernel"; then KROOT=$CACHE/kernel
else
  PKG=${KO_KERNEL_PKG:-}
  if [ -z "$PKG" ]; then
    PKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    if [ -z "$PKG" ]; then apt-get update -q >/dev/null 2>&1
      PKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); fi
  fi
  [ -n "$PKG" ] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; exit 1; }
  log "downloading $PKG into $CACHE"
  T=$(mktemp -d "$CACHE/dl.XXXXXX")
  (cd "$T" && apt-get download "$PKG" >/dev/null 2>&1) || { log "apt-get download $PKG failed"; rm -rf "$T"; exit 1; }
  mkdir -p "$T/x" && dpkg-deb -x "$T"/*.deb "$T/x" || { log "extracting $PKG failed"; rm -rf "$T"; exit 1; }
  # keep only what the initramfs needs (~15 MB instead of ~400 MB)
  kv=$(ls "$T/x/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)
  mkdir -p "$T/k/boot" "$T/k/lib/modules/$kv/kernel"
  cp -a "$T/x/boot/vmlinuz-$kv" "$T/x/boot/config-$kv" "$T/k/boot/" 2>/dev/null
  cp -a "$T/x/lib/modules/$kv"/modules.builtin* "$T/k/lib/modules/$kv/" 2>/dev/null
  for m in $MODS; do
    for e in .ko .ko.xz .ko.zst .ko.gz; do
      f=$T/x/lib/modules/$kv/kernel/$m$e
      [ -f "$f" ] && mkdir -p "$(dirname "$T/k/lib/modules/$kv/kernel/$m")" && cp -a "$f" "$T/k/lib/modules/$kv/kernel/$m$e"
    done
  done
  (cd "$T" && ls *.deb) > "$T/k/SOURCE"
  rm -rf "$CACHE/kernel" && mv "$T/k" "$CACHE/kernel" && rm -rf "$T"
  kernel_ok "$CACHE/kernel" || { log "$PKG lacks some of the modules: $MODS"; exit 1; }
  KROOT=$CACHE/kernel
fi
VMLINUZ=$(ls "$KROOT"/boot/vmlinuz-* | sort -V | tail -1)
KVER=${VMLINUZ##*/vmlinuz-}
MODDIR=$KROOT/lib/modules/$KVER/kernel
[ -d "$MODDIR" ] || { log "no modules for $KVER under $KROOT"; exit 1; }

# ---------------------------------------------------------------- initramfs
read -r -d '' INIT <<'INIT_EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo 1 > /proc/sys/kernel/printk          # keep the console for our own lines
say() { echo "KO: $*"; }
up() { cut -d' ' -f1 /proc/uptime; }
say "BEGIN kernel=$(uname -r) uptime=$(up)"
mkdir -p /out /mnt
while read m; do
  [ -z "$m" ] && continue
  insmod /lib/ko/$m.ko 2>/tmp/insmod.err || say "insmod $m FAILED: $(cat /tmp/insmod.err)"
done < /lib/ko/order
views=$(echo "${ko_views:-udf,iso9660}" | tr ',' ' ')
# disks: vda = result disk (writable); vdb, vdc, ... = the image, one per view
# (two filesystem types cannot hold one block device at once, and views may
# run in parallel).
set -- $views
nv=$#
letters="b c d e f g h i"
need="/dev/vda"; k=0
for l in $letters; do k=$((k+1)); [ $k -gt $nv ] && break; need="$need /dev/vd$l"; done
i=0
while :; do
  miss=""; for n in $need; do [ -b $n ] || miss="$miss $n"; done
  [ -z "$miss" ] && break
  i=$((i+1)); [ $i -gt 200 ] && { say "ERROR missing disks:$miss"; break; }
  usleep 50000
done
say "disk vdb bytes=$(blockdev --getsize64 /dev/vdb 2>/dev/null) ssz=$(blockdev --getss /dev/vdb 2>/dev/null)"
dmesg -c > /out/dmesg.boot

run_view() {
  v=$1; dev=$2; d=/out/$v; mkdir -p $d /mnt/$v; : > $d/errors
  case $v in
    udf)     t=udf;     o=ro,loud,utf8${ko_udf_opts:+,$ko_udf_opts} ;;
    iso9660) t=iso9660; o=ro,loud${ko_iso_opts:+,$ko_iso_opts} ;;
    joliet)  t=iso9660; o=ro,loud,norock,utf8${ko_iso_opts:+,$ko_iso_opts} ;;
    plain)   t=iso9660; o=ro,loud,norock,nojoliet${ko_iso_opts:+,$ko_iso_opts} ;;
    *) say "view $v: unknown view"; return ;;
  esac
  echo "mount -t $t -o $o $dev" > $d/mount.cmd
  up > $d/t0
  mount -t $t -o $o $dev /mnt/$v 2> $d/mount.err
  rc=$?
  echo $rc > $d/mount.rc
  say "view $v: mount -t $t -o $o rc=$rc $(cat $d/mount.err)"
  if [ $rc = 0 ]; then
    cd /mnt/$v
    stat -c '%f %s %Y %i %h' . > $d/rootmeta 2>> $d/errors
    # (busybox 1.35 xargs -0 garbles long names: use find -exec {} + only)
    find . -mindepth 1 -print0 > $d/names0 2>> $d/errors
    find . -mindepth 1 -exec stat -c '%f %s %Y %i %h %n' {} + > $d/meta 2>> $d/errors
    find . -type f -print0 > $d/files0 2>> $d/errors
    find . -type f -exec sha256sum {} + > $d/sums 2>> $d/errors
    find . -type l -exec sh -c 'for p; do printf "%s\0%s\0" "$p" "$(readlink "$p")"; done' sh {} + > $d/links0 2>> $d/errors
    cd /
    umount /mnt/$v 2>> $d/errors
    say "view $v: entries=$(tr -cd '\000' < $d/names0 | wc -c) errors=$(wc -l < $d/errors) seconds=$(awk -v a=$(cat $d/t0) -v b=$(up) 'BEGIN{print b-a}')"
    head -5 $d/errors | sed 's/^/KO: view '$v' error: /'
  fi
  up > $d/t1
}

k=0
for v in $views; do
  k=$((k+1)); set -- $letters; eval l=\${$k}
  if [ "${ko_parallel:-0}" = 1 ]; then
    run_view $v /dev/vd$l &
  else
    run_view $v /dev/vd$l
    dmesg -c > /out/$v/dmesg
    grep -iE 'udf|isofs|iso ?9660|joliet|rock|vd[a-z]|i/o error|blk_update' /out/$v/dmesg | head -20 | sed 's/^/KO: dmesg: /'
  fi
done
wait
dmesg -c > /out/dmesg.end
[ "${ko_parallel:-0}" = 1 ] && grep -iE 'udf|isofs|iso ?9660|joliet|rock|vd[a-z]|i/o error|blk_update' /out/dmesg.end | head -20 | sed 's/^/KO: dmesg: /'
up > /out/uptime.end
echo ok > /out/DONE
# stream the results straight onto the result disk (no second copy in RAM)
tsz=$(du -sk /out | cut -f1)
if tar -cf - -C /out . 2>/tmp/tar.err | dd of=/dev/vda bs=1048576 conv=fsync 2>/tmp/dd.err; then
  sync
  say "result kbytes=$tsz"
else
  say "ERROR writing results ($tsz KiB; result disk $(blockdev --getsize64 /dev/vda) bytes; raise KO_OUTDISK_MB?): $(cat /tmp/tar.err /tmp/dd.err | tail -3)"
fi
say "END uptime=$(up)"
poweroff -f
INIT_EOF

KEY=$( { echo "$KVER"; sha256sum "$VMLINUZ" "$BB" | cut -c1-64; echo "$MODS"; echo "$INIT"; } | sha256sum | cut -c1-16)
INITRD=$CACHE/initrd-$KVER-$KEY.cpio.gz
if [ ! -s "$INITRD" ]; then
  log "building $INITRD"
  R=$(mktemp -d /tmp/ko-initrd.XXXXXX)
  mkdir -p "$R"/{bin,dev,proc,sys,tmp,mnt,out,lib/ko}
  cp "$BB" "$R/bin/busybox"
  for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$R/bin/$a"; done
  : > "$R/lib/ko/order"
  for m in $MODS; do
    n=${m##*/}; src=""
    for ext in .ko .ko.xz .ko.zst .ko.gz; do [ -f "$MODDIR/$m$ext" ] && src=$MODDIR/$m$ext && break; done
    if [ -z "$src" ]; then
      # built in? then nothing to load
      if grep -q "/${m}.ko" "$KROOT/lib/modules/$KVER/modules.builtin" 2>/dev/null; then continue; fi
      log "module $m not found under $MODDIR"; rm -rf "$R"; exit 1
    fi
    case $src in
      *.xz)  xz -dc "$src" > "$R/lib/ko/$n.ko" ;;
      *.zst) zstd -qdc "$src" > "$R/lib/ko/$n.ko" ;;
      *.gz)  gzip -dc "$src" > "$R/lib/ko/$n.ko" ;;
      *)     cp "$src" "$R/lib/ko/$n.ko" ;;
    esac || { log "cannot unpack $src"; rm -rf "$R"; exit 1; }
    echo "$n" >> "$R/lib/ko/order"
  done
  printf '%s\n' "$INIT" > "$R/init"; chmod 755 "$R/init"
  mknod -m 600 "$R/dev/console" c 5 1 2>/dev/null || true
  (cd "$R" && find . | "$BB" cpio -o -H newc 2>/dev/null | gzip -6 > "$INITRD.tmp") &&
    mv "$INITRD.tmp" "$INITRD" || { log "cpio failed"; rm -rf "$R"; exit 1; }
  rm -rf "$R"
fi
flock -u 9; exec 9>&-

# ---------------------------------------------------------------- run
IMGBYTES=$(stat -L -c %s "$IMG" 2>/dev/null || echo 0)
[ -b "$IMG" ] && IMGBYTES=$(blockdev --getsize64 "$IMG")
NV=$(echo "$VIEWS" | tr ',' '\n' | grep -c .)
TIMEOUT=${KO_TIMEOUT:-$(( 180 + NV * IMGBYTES / (8 * 1048576) ))}
rm -rf "$OUT/raw" "$OUT"/*.tsv "$OUT"/*.status "$OUT/dmesg.txt" "$OUT/console.log" "$OUT/status.txt"
RES=$(mktemp /tmp/ko-result.XXXXXX)
trap 'rm -f "$RES"' EXIT
truncate -s "${KO_OUTDISK_MB:-1024}M" "$RES"
CONSOLE=$OUT/console.log
ACCELS=()
IFS=: read -r -a accs <<< "$ACCEL"
for a in "${accs[@]}"; do
  if [ "$a" = kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then continue; fi
  ACCELS+=(-accel "$a")
done
[ ${#ACCELS[@]} -gt 0 ] || ACCELS=(-accel tcg)
log "kernel $KVER, image $IMG ($IMGBYTES bytes), views $VIEWS, timeout ${TIMEOUT}s"
T0=$(date +%s.%N)
DRIVES=(-drive "file=$RES,format=raw,if=virtio")
for v in $(echo "$VIEWS" | tr ',' ' '); do DRIVES+=(-drive "file=${IMG//,/,,},format=raw,if=virtio,readonly=on"); done
CPU=max; [ "${ACCELS[1]}" = kvm ] && CPU=host
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -display none -no-reboot \
  "${ACCELS[@]}" -cpu "$CPU" -m "$MEM" -smp "$SMP" \
  -kernel "$VMLINUZ" -initrd "$INITRD" \
  -append "console=ttyS0 quiet loglevel=1 panic=-1 ko_views=$VIEWS ko_parallel=$PAR ko_udf_opts=${KO_UDF_OPTS:-} ko_iso_opts=${KO_ISO_OPTS:-}" \
  -serial "file:$CONSOLE" "${DRIVES[@]}" \
  > "$OUT/qemu.stderr" 2>&1
QRC=$?
T1=$(date +%s.%N)
WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.1f", b-a}')
if [ $QRC -ne 0 ]; then
  log "qemu exit $QRC ($( [ $QRC = 124 ] && echo "timeout after ${TIMEOUT}s" )) $(head -c 500 "$OUT/qemu.stderr")"
fi
KO_QRC=$QRC KO_WALL=$WALL KO_ACCELS="${ACCELS[*]}" KO_KVER=$KVER "$PY" - "$RES" "$OUT" "$VIEWS" <<'PY_EOF'
import io, os, sys, tarfile

res, out, views = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
raw = os.path.join(out, "raw")
os.makedirs(raw, exist_ok=True)

def esc(b):
    s = b.decode("utf-8", "surrogateescape")
    o = []
    for ch in s:
        c = ord(ch)
        if ch == "\\": o.append("\\\\")
        elif ch == "\t": o.append("\\t")
        elif ch == "\n": o.append("\\n")
        elif ch == "\r": o.append("\\r")
        elif 0xDC80 <= c <= 0xDCFF: o.append("\\x%02x" % (c - 0xDC00))
        else: o.append(ch)
    return "".join(o)

files = {}
broken = None
try:
    with open(res, "rb") as f:
        with tarfile.open(fileobj=f, mode="r:") as tf:
            for m in tf:
                if m.isfile():
                    name = m.name[2:] if m.name.startswith("./") else m.name
                    files[name] = tf.extractfile(m).read()
except Exception as e:
    broken = f"result disk unreadable or truncated ({e})"
for name, data in files.items():
    p = os.path.join(raw, name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)

console = b""
try:
    console = open(os.path.join(out, "console.log"), "rb").read()
except OSError:
    pass
summary = [f"kernel {os.environ.get('KO_KVER')}  accel {os.environ.get('KO_ACCELS')}  "
           f"qemu_rc {os.environ.get('KO_QRC')}  wall_s {os.environ.get('KO_WALL')}  "
           f"guest_uptime_end_s {files.get('uptime.end', b'?').decode().strip()}"]
ok = "DONE" in files and not broken
rc = 0 if ok else 1
if not ok:
    why = broken or ("qemu killed by the timeout (KO_TIMEOUT)" if os.environ.get("KO_QRC") in ("124", "137")
                     else f"qemu exit {os.environ.get('KO_QRC')}")
    summary.append(f"NO RESULT from guest: {why} (see console.log, qemu.stderr)")
    for l in console.decode("utf-8", "replace").splitlines():
        if "ERROR" in l:
            summary.append("  console: " + l.strip())

dm = [b"=== boot ===\n", files.get("dmesg.boot", b"")]
dm_all = b"".join([files.get("dmesg.boot", b"")] + [files.get(f"{v}/dmesg", b"") for v in views]
                  + [files.get("dmesg.end", b"")]).decode("utf-8", "replace").splitlines()
import re
def view_dmesg(v, dev):
    other = re.compile(r"\bvd[b-z]\b")
    if v == "udf":
        fs = re.compile(r"UDF-fs|udf", re.I)
    else:
        fs = re.compile(r"ISO ?9660|ISOFS|isofs|Rock ?Ridge|RRIP|Joliet", re.I)
    out = []
    for l in dm_all:
        if re.search(r"ko_(views|parallel|udf_opts|iso_opts)|[Cc]ommand line", l):
            continue
        m = other.findall(l)
        if dev and dev in m:
            out.append(l)
        elif fs.search(l) and not m:
            out.append(l)
    return out
for v in views:
    st = []
    g = lambda n: files.get(f"{v}/{n}")
    dm += [f"=== view {v} ===\n".encode(), g("dmesg") or b""]
    if g("mount.rc") is None:
        st.append("view not run")
        if ok:
            rc = max(rc, 2)
        summary.append(f"{v}: not run")
        open(os.path.join(out, f"{v}.status"), "w").write("\n".join(st) + "\n")
        continue
    mrc = int(g("mount.rc").strip() or b"1")
    st.append("cmd: " + g("mount.cmd").decode().strip())
    dev = g("mount.cmd").decode().split()[-1].rsplit("/", 1)[-1]
    st += ["dmesg: " + l for l in view_dmesg(v, dev)[:40]]
    st.append(f"mount_rc: {mrc}")
    st.append("mount_stderr: " + g("mount.err").decode("utf-8", "replace").strip())
    if mrc != 0:
        rc = max(rc, 2)
        summary.append(f"{v}: MOUNT FAILED rc={mrc} {g('mount.err').decode('utf-8','replace').strip()}")
        open(os.path.join(out, f"{v}.status"), "w").write("\n".join(st) + "\n")
        continue
    names = (g("names0") or b"").split(b"\0")[:-1]
    meta = g("meta") or b""
    errors = (g("errors") or b"").decode("utf-8", "replace").splitlines()
    problems = []
    ent = {}
    order = []
    # stat output: "<mode hex> <size> <mtime> <ino> <nlink> <name>\n" per entry,
    # in the same traversal order as names0; names are not escaped, so walk it
    # with the known names (an entry stat could not read has no record).
    pos = 0
    unstat = []
    for n in names:
        q = pos
        f5 = []
        for _ in range(5):
            sp = meta.find(b" ", q)
            if sp < 0:
                break
            f5.append(meta[q:sp]); q = sp + 1
        tail = n + b"\n"
        if len(f5) == 5 and meta[q:q + len(tail)] == tail:
            mode, size, mtime, ino, nl = f5
            mode = int(mode, 16)
            t = {0x8000: "f", 0x4000: "d", 0xA000: "l"}.get(mode & 0xF000, "o")
            p = n[2:] if n.startswith(b"./") else n
            ent[p] = [t, "-", int(size), int(mtime), None]
            order.append(p)
            pos = q + len(tail)
        else:
            unstat.append(n)
    if pos != len(meta):
        problems.append(f"stat output not fully parsed ({pos}/{len(meta)} bytes)")
    if unstat:
        problems.append(f"{len(unstat)} entries without stat record, e.g. {esc(unstat[0])}")
    # sha256sum output: "<64 hex>  <name>\n" per readable file, in files0 order;
    # names are not escaped, so walk it with the known names.
    sums = g("sums") or b""
    pos = 0
    unread = []
    for n in (g("files0") or b"").split(b"\0")[:-1]:
        rec_tail = b"  " + n + b"\n"
        h = sums[pos:pos + 64]
        if len(h) == 64 and sums[pos + 64:pos + 64 + len(rec_tail)] == rec_tail:
            p = n[2:] if n.startswith(b"./") else n
            if p in ent:
                ent[p][1] = h.decode()
            pos += 64 + len(rec_tail)
        else:
            unread.append(n)
    if pos != len(sums):
        problems.append(f"sha256sum output not fully parsed ({pos}/{len(sums)} bytes)")
    lk = (g("links0") or b"").split(b"\0")[:-1]
    for i in range(0, len(lk) - 1, 2):
        p = lk[i][2:] if lk[i].startswith(b"./") else lk[i]
        if p in ent:
            ent[p][4] = lk[i + 1]
    nf = sum(1 for e in ent.values() if e[0] == "f")
    nd = sum(1 for e in ent.values() if e[0] == "d")
    nl = sum(1 for e in ent.values() if e[0] == "l")
    with open(os.path.join(out, f"{v}.tsv"), "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("# type\tsha256\tsize\tmtime\tpath\t[link_target]\n")
        rm = (g("rootmeta") or b"").split()
        if rm:
            f.write(f"r\t-\t{int(rm[1])}\t{int(rm[2])}\t.\n")
        for p in sorted(order):
            t, h, s, mt, tgt = ent[p]
            line = f"{t}\t{h}\t{s}\t{mt}\t{esc(p)}"
            if t == "l":
                line += "\t" + esc(tgt or b"")
            f.write(line + "\n")
    t0 = float((g("t0") or b"0").strip() or 0); t1 = float((g("t1") or b"0").strip() or 0)
    st.append(f"entries: {len(ent)} files: {nf} dirs: {nd} symlinks: {nl} other: {len(ent)-nf-nd-nl}")
    st.append(f"guest_seconds: {t1 - t0:.2f}")
    st.append(f"read_errors: {len(errors)}")
    st += ["error: " + e for e in errors[:50]]
    if unread:
        st.append(f"unhashed_files: {len(unread)}")
        st += ["unhashed: " + esc(n) for n in unread[:50]]
    st += ["problem: " + p for p in problems]
    if errors or unread or problems:
        rc = max(rc, 2)
    open(os.path.join(out, f"{v}.status"), "w").write("\n".join(st) + "\n")
    summary.append(f"{v}: mounted; {len(ent)} entries ({nf} files, {nd} dirs, {nl} symlinks); "
                   f"{len(errors)} read errors; {len(unread)} unhashed; {t1-t0:.1f}s in guest")
dm += [b"=== end ===\n", files.get("dmesg.end", b"")]
open(os.path.join(out, "dmesg.txt"), "wb").write(b"".join(dm))
open(os.path.join(out, "status.txt"), "w").write("\n".join(summary) + "\n")
print("\n".join(summary))
sys.exit(rc)
PY_EOF
