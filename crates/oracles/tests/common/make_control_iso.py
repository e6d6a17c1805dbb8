"""Positive control writer: an ISO 9660 + UDF bridge image of SRC written by pycdlib.

    /usr/bin/python3 - SRC OUT.iso < make_control_iso.py

UDF carries the real names (and symlinks, as UDF symlinks); ISO 9660 names are synthetic
(D<n>, F<n>). pycdlib 1.12 writes wrong UDF timestamps (the day field holds the month), so
mtimes of this image must not be compared.
"""
import os
import sys

import pycdlib


def main():
    src, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, udf="2.60", vol_ident="PYCONTROL")
    paths = {src: ("/", "/")}
    n = 0
    handles = []
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        filenames.sort()
        iso_dir, udf_dir = paths[dirpath]
        for name in list(dirnames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                dirnames.remove(name)
                filenames.append(name)
                continue
            n += 1
            iso_path = iso_dir.rstrip("/") + f"/D{n}"
            udf_path = udf_dir.rstrip("/") + "/" + name
            iso.add_directory(iso_path=iso_path, udf_path=udf_path)
            paths[full] = (iso_path, udf_path)
        for name in filenames:
            full = os.path.join(dirpath, name)
            n += 1
            iso_path = iso_dir.rstrip("/") + f"/F{n}.;1"
            udf_path = udf_dir.rstrip("/") + "/" + name
            if os.path.islink(full):
                iso.add_symlink(udf_symlink_path=udf_path, udf_target=os.readlink(full))
                continue
            fp = open(full, "rb")
            handles.append(fp)
            iso.add_fp(fp, os.path.getsize(full), iso_path=iso_path, udf_path=udf_path)
    iso.write(out)
    iso.close()
    for fp in handles:
        fp.close()


if __name__ == "__main__":
    main()
