"""Makes disc images with the real odarchive 0.1.0 (the Python prototype), through its
Archiver API, as its own `init`, `segment`, `write_iso` and `archive` commands do.

    python oda01_make_discs.py SOURCE WORKDIR [SEGMENT_SIZE]

Run in WORKDIR (0.1 keeps `catalogue.json` in the current folder): catalogues SOURCE, then
either writes one disc, `disc.iso` (unsegmented, as `archive` does), or segments the archive
into discs of SEGMENT_SIZE bytes and writes `disc_0000.iso`, `disc_0001.iso`, ... Leaves
`catalogue.json` as 0.1 last saved it (after the discs, as its commands do). Run it with TZ
set: 0.1 records modification times in local time without a zone.
"""
import os
import sys
from pathlib import Path

from odarchive import Archiver


def main():
    source = Path(sys.argv[1]).absolute()
    work = Path(sys.argv[2])
    segment_size = int(sys.argv[3]) if len(sys.argv) > 3 else None
    os.chdir(work)
    ar = Archiver()
    ar.create_file_database(source)
    ar.convert_to_hash_database()
    ar.save()  # catalogue.json, which segment() measures
    if segment_size is None:
        ar.write_iso(job_name="disc")
    else:
        ar.segment(segment_size)  # a numeric size must be an int
        ar.save()  # the catalogue with disc_num, put on every disc
        for disc_num in range(ar.last_disc_num + 1):
            ar.write_iso(disc_num=disc_num, job_name="disc")
    ar.save()


if __name__ == "__main__":
    main()
