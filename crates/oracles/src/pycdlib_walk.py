"""Walk the UDF view (or, with `iso`, the ISO 9660 view) of an image with pycdlib and print
one line per entry.

Run by the `oracles` crate with Debian's /usr/bin/python3 (which has python3-pycdlib 1.12):

    python3 pycdlib_walk.py IMAGE [udf|iso]

The ISO 9660 view is the primary volume's directory records as pycdlib parses them; names
lose their `;N` version and a trailing dot (as osirrox shows them); a multi-extent file
(records of one name flagged 0x80 but the last) is joined and hashed here from its extents
(pycdlib 1.12 does not join them).

Output lines (tab-separated; paths as hex of their UTF-8 bytes, so any name survives):

    E  KIND(d|f|l|?)  SIZE  SHA256-HEX  MTIME-SECONDS|-  PATH-HEX
    I  KEY  VALUE                       (volume facts)
    P  MESSAGE                          (a problem found while walking)

pycdlib parses the descriptors, directories, File Entries and names. File data is read here
from the File Entry's own allocation descriptors, because (pycdlib 1.12):
  - its file reader truncates UDF files over 4 GiB on bridge images to the ISO 9660 size
    (it shares inodes by extent with the ISO 9660 side);
  - its walk() fails on directories mixing 8-bit and 16-bit OSTA CS0 names;
  - its short_ad parser masks the extent type away before reading it;
  - inline (ICB flags 3) data sits in the File Entry itself, not in the partition.
pycdlib checks tag checksums and CRCs of what it parses. This walker adds checks pycdlib
does not make: a File Identifier Descriptor's CRC must cover its padding (ECMA-167 4/14.4,
a trap other writers fell into), and anchors must sit at sector 256 and at the last sector
of the image (pycdlib looks for the last one at the ISO 9660 volume's end instead).
"""
import calendar
import hashlib
import os
import struct
import sys

import pycdlib

BUF = 1 << 20
SECTOR = 2048


def out(*fields):
    sys.stdout.write("\t".join(str(f) for f in fields) + "\n")


def problem(msg):
    out("P", msg.replace("\t", " ").replace("\n", " "))


def crc_itu_t(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def check_crc(what, raw):
    """raw: the descriptor's bytes from its tag on. Returns the CRC length."""
    crc, crc_len = struct.unpack_from("<HH", raw, 8)
    if 16 + crc_len > len(raw):
        problem(f"{what}: descriptor CRC length {crc_len} runs past the descriptor")
    elif crc_itu_t(raw[16:16 + crc_len]) != crc:
        problem(f"{what}: descriptor CRC mismatch")
    return crc_len


def mtime_of(ts):
    """UDF timestamp -> Unix seconds (ECMA-167 1/7.3; the zone is minutes east of UTC)."""
    secs = calendar.timegm((ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second))
    tz = ts.tz if ts.tz != -2047 else 0  # -2047: no zone given
    return secs - tz * 60


class Image:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size

    def read(self, pos, n):
        data = os.pread(self.fd, n, pos)
        if len(data) != n:
            raise RuntimeError(f"short read: {len(data)} of {n} bytes at byte {pos} (image is {self.size} bytes)")
        return data


def raw_allocation(img, fe):
    """(flags, bytes of the allocation descriptors, absolute byte offset of that area)."""
    base = fe.orig_extent_loc * SECTOR
    head = img.read(base, 176)
    flags = struct.unpack_from("<H", head, 16 + 18)[0] & 7
    l_ea, l_ad = struct.unpack_from("<LL", head, 168)
    area = base + 176 + l_ea
    return flags, img.read(area, l_ad), area


def extents(img, part_start, fe, size):
    """Yield (absolute byte position or None for unrecorded, length) covering `size` bytes."""
    flags, ads, area = raw_allocation(img, fe)
    if flags == 3:  # inline: the data is the allocation descriptor area itself
        if len(ads) < size:
            raise RuntimeError(f"inline data holds {len(ads)} of {size} bytes")
        yield area, size
        return
    if flags not in (0, 1):
        raise RuntimeError(f"allocation descriptor type {flags} not supported here")
    step = 8 if flags == 0 else 16
    left = size
    for i in range(0, len(ads) - step + 1, step):
        if left <= 0:
            break
        raw_len, block = struct.unpack_from("<LL", ads, i)
        etype, length = raw_len >> 30, raw_len & 0x3FFFFFFF
        if length == 0:
            break
        if etype == 3:
            raise RuntimeError("allocation extent continuation (type 3) not supported here")
        n = min(length, left)
        yield (None if etype in (1, 2) else (part_start + block) * SECTOR), n
        left -= n
    if left > 0:
        raise RuntimeError(f"allocation descriptors cover {size - left} of {size} bytes")


def sha256_of(img, part_start, fe, size):
    h = hashlib.sha256()
    zeros = bytes(BUF)
    for pos, length in extents(img, part_start, fe, size):
        while length > 0:
            n = min(BUF, length)
            h.update(zeros[:n] if pos is None else img.read(pos, n))
            if pos is not None:
                pos += n
            length -= n
    return h.hexdigest()


def check_fe_crc(img, fe, what):
    head = img.read(fe.orig_extent_loc * SECTOR, 176)
    l_ea, l_ad = struct.unpack_from("<LL", head, 168)
    raw = img.read(fe.orig_extent_loc * SECTOR, min(176 + l_ea + l_ad, SECTOR))
    check_crc(f"File Entry of {what}", raw)


def walk(iso, img, part_start):
    seen = 0
    stack = [(b"", iso.udf_root, "/")]
    check_fe_crc(img, iso.udf_root, "the root directory")
    while stack:
        prefix, dir_fe, shown = stack.pop()
        check_directory_fids(img, part_start, dir_fe, shown)
        for fid in dir_fe.fi_descs:
            if fid.isparent:
                continue
            if fid.file_characteristics & 0x4:  # deleted
                continue
            name = fid.fi.decode(fid.encoding).encode("utf-8", "surrogatepass")
            path = name if not prefix else prefix + b"/" + name
            shown_path = path.decode("utf-8", "replace")
            child = fid.file_entry
            seen += 1
            if child is None:
                out("E", "?", 0, "-", "-", path.hex())
                problem(f"{shown_path}: File Entry is all zeros")
                continue
            check_fe_crc(img, child, shown_path)
            mtime = mtime_of(child.mod_time)
            if child.is_dir():
                out("E", "d", 0, hashlib.sha256(b"").hexdigest(), mtime, path.hex())
                stack.append((path, child, shown_path))
            elif child.is_symlink():
                out("E", "l", 0, hashlib.sha256(b"").hexdigest(), mtime, path.hex())
            else:
                size = child.get_data_length()
                try:
                    digest = sha256_of(img, part_start, child, size)
                except RuntimeError as e:
                    problem(f"{shown_path}: {e}")
                    digest = "-"
                out("E", "f", size, digest, mtime, path.hex())
    return seen


def check_directory_fids(img, part_start, dir_fe, shown):
    """Verify each FID's CRC and that the CRC covers the FID's padding (ECMA-167 4/14.4)."""
    size = dir_fe.get_data_length()
    data = bytearray()
    for pos, length in extents(img, part_start, dir_fe, size):
        data += bytes(length) if pos is None else img.read(pos, length)
    off = 0
    while off + 38 <= len(data):
        l_fi = data[off + 19]
        l_iu = struct.unpack_from("<H", data, off + 36)[0]
        padded = (38 + l_iu + l_fi + 3) & ~3
        crc_len = check_crc(f"File Identifier Descriptor at byte {off} of directory {shown}", bytes(data[off:off + padded]))
        if crc_len != padded - 16:
            problem(f"File Identifier Descriptor at byte {off} of directory {shown}: CRC length {crc_len} does not cover the padded descriptor ({padded - 16})")
        off += padded


def check_anchors(img):
    if img.size % SECTOR:
        problem(f"image length {img.size} is not a whole number of {SECTOR}-byte sectors")
    last = img.size // SECTOR - 1
    for block in (256, last):
        raw = img.read(block * SECTOR, 512) if block * SECTOR + 512 <= img.size else b""
        if len(raw) < 16:
            problem(f"no anchor at sector {block}: the image is too short")
            continue
        ident, = struct.unpack_from("<H", raw, 0)
        checksum = sum(raw[0:4] + raw[5:16]) & 0xFF
        location, = struct.unpack_from("<L", raw, 12)
        if ident != 2 or checksum != raw[4]:
            problem(f"no anchor at sector {block} (tag identifier {ident}, checksum {'ok' if checksum == raw[4] else 'bad'})")
        elif location != block:
            problem(f"anchor at sector {block} records tag location {location}")
        else:
            check_crc(f"anchor at sector {block}", raw)


def iso_name(ident):
    name = ident.decode("latin-1")
    if ";" in name:
        name = name[: name.rindex(";")]
    if name.endswith("."):
        name = name[:-1]
    return name.encode("utf-8")


def iso_mtime(date):
    secs = calendar.timegm((1900 + date.years_since_1900, date.month, date.day_of_month,
                            date.hour, date.minute, date.second))
    return secs - date.gmtoffset * 15 * 60


def walk_iso(iso, img):
    seen = 0
    stack = [(b"", iso.pvd.root_directory_record())]
    while stack:
        prefix, dir_rec = stack.pop()
        pending = []  # extents of a multi-extent file so far
        for rec in dir_rec.children:
            if rec.is_dot() or rec.is_dotdot():
                continue
            name = iso_name(rec.file_ident)
            path = name if not prefix else prefix + b"/" + name
            shown = path.decode("utf-8", "replace")
            mtime = iso_mtime(rec.date)
            if pending and pending[0][0] != path:
                problem(f"{pending[0][0].decode('utf-8', 'replace')}: multi-extent file ends without its last extent")
                pending = []
            if rec.is_dir():
                seen += 1
                out("E", "d", 0, hashlib.sha256(b"").hexdigest(), mtime, path.hex())
                stack.append((path, rec))
                continue
            pending.append((path, rec.extent_location(), rec.data_length))
            if rec.file_flags & 0x80:
                continue
            seen += 1
            h = hashlib.sha256()
            size = 0
            try:
                for _, block, length in pending:
                    pos, left = block * SECTOR, length
                    while left > 0:
                        n = min(BUF, left)
                        h.update(img.read(pos, n))
                        pos += n
                        left -= n
                    size += length
                digest = h.hexdigest()
            except RuntimeError as e:
                problem(f"{shown}: {e}")
                digest = "-"
            out("E", "f", size, digest, mtime, path.hex())
            pending = []
        if pending:
            problem(f"{pending[0][0].decode('utf-8', 'replace')}: multi-extent file ends without its last extent")
    return seen


def main():
    path = sys.argv[1]
    view = sys.argv[2] if len(sys.argv) > 2 else "udf"
    if view == "iso":
        img = Image(path)
        iso = pycdlib.PyCdlib()
        iso.open(path)
        out("I", "entries", walk_iso(iso, img))
        iso.close()
        return
    img = Image(path)
    check_anchors(img)
    sys.stdout.flush()
    iso = pycdlib.PyCdlib()
    iso.open(path)
    if not iso.has_udf():
        print("pycdlib: the image has no UDF descriptors", file=sys.stderr)
        sys.exit(3)
    part_start = iso.udf_main_descs.partitions[0].part_start_location
    out("I", "partition_start", part_start)
    out("I", "logical_block_size", iso.logical_block_size)
    seen = walk(iso, img, part_start)
    out("I", "entries", seen)
    iso.close()


if __name__ == "__main__":
    main()
