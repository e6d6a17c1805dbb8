//! Every reader against one image and one expected view, all failures in one report.

use std::path::Path;
use std::time::Instant;

use crate::compare::{Difference, compare, compare_content};
use crate::error::OracleError;
use crate::manifest::{Kind, Manifest};
use crate::options::{CheckOptions, Reader};
use crate::report::{ReaderOutcome, Report};
use crate::scratch::{ScratchDir, default_parent};
use crate::{bsdtar, isoinfo, kernel, osirrox, pycdlib, seven_zip, udfclient, udfinfo};

/// Runs every reader of `opts` on `image` and compares what each read with `expected`, the
/// UDF view the image should hold (paths, kinds, sizes, content hashes, mtimes; no symlinks:
/// see [`Manifest::without_symlinks`]):
///
/// - UDF views (7-Zip, pycdlib) exactly; udfclient by ASCII names plus content multiset;
/// - the ISO 9660 view (osirrox, bsdtar, pycdlib, `isoinfo -l`, the kernel) path by path against
///   [`CheckOptions::iso_view`] when given, else as a file content / size multiset, since its
///   names are mapped;
/// - udfinfo's counts, revision and integrity; isoinfo's and 7-Zip's sizes against the
///   image length.
///
/// A reader that cannot run or complains fails with its whole output in the report. Readers
/// run in lanes (light, extracting, kernel) unless [`CheckOptions::parallel`] is off.
///
/// # Panics
/// When a reader's tool is not installed, or when `expected` holds a symlink or special file.
pub fn check_all(image: &Path, expected: &Manifest, opts: &CheckOptions) -> Report {
    if let Some((path, entry)) = expected
        .entries
        .iter()
        .find(|(_, e)| !matches!(e.kind, Kind::Dir | Kind::File))
    {
        panic!(
            "the expected view holds a {} (`{}`), which no UDF view holds: pass \
             `manifest.without_symlinks()`",
            entry.kind,
            crate::manifest::show_path(path)
        );
    }
    let run_lane = |readers: Vec<Reader>| -> Vec<ReaderOutcome> {
        readers
            .into_iter()
            .map(|reader| {
                let start = Instant::now();
                let failures = match run_reader(reader, image, expected, opts) {
                    Ok(differences) => differences,
                    Err(error) => vec![error.to_string()],
                };
                ReaderOutcome {
                    reader,
                    failures,
                    elapsed: start.elapsed(),
                }
            })
            .collect()
    };
    let mut outcomes = if opts.parallel {
        let mut lanes: [Vec<Reader>; 3] = Default::default();
        for &reader in &opts.readers {
            lanes[reader.lane()].push(reader);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = lanes
                .into_iter()
                .filter(|lane| !lane.is_empty())
                .map(|lane| scope.spawn(|| run_lane(lane)))
                .collect();
            let mut outcomes = Vec::new();
            for handle in handles {
                match handle.join() {
                    Ok(more) => outcomes.extend(more),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            outcomes
        })
    } else {
        run_lane(opts.readers.clone())
    };
    let position = |r: Reader| opts.readers.iter().position(|&x| x == r);
    outcomes.sort_by_key(|o| position(o.reader));
    Report {
        image: image.to_path_buf(),
        outcomes,
    }
}

/// [`check_all`], panicking with the full report unless every reader passed. With the
/// environment variable `ORACLES_VERBOSE` set, the report (with each reader's time) is
/// printed on success too.
#[track_caller]
pub fn assert_all(image: &Path, expected: &Manifest, opts: &CheckOptions) {
    let report = check_all(image, expected, opts);
    if std::env::var_os("ORACLES_VERBOSE").is_some() {
        eprintln!("{report}");
    }
    report.assert_ok();
}

fn run_reader(
    reader: Reader,
    image: &Path,
    expected: &Manifest,
    opts: &CheckOptions,
) -> Result<Vec<String>, OracleError> {
    let scratch = || {
        let parent = opts
            .scratch_dir
            .clone()
            .unwrap_or_else(|| default_parent(image));
        ScratchDir::new_in(
            &parent,
            &format!(".oracle-{}-", reader.name().replace(' ', "")),
        )
        .map_err(|e| OracleError::new(reader.name(), format!("cannot make a scratch dir: {e}")))
    };
    let tolerance = opts.mtime_tolerance;
    let show = |diffs: Vec<Difference>| diffs.iter().map(ToString::to_string).collect();
    let image_len = image
        .metadata()
        .map_err(|e| OracleError::new(reader.name(), format!("cannot stat the image: {e}")))?
        .len();
    Ok(match reader {
        Reader::SevenZipTest => {
            let summary = seven_zip::seven_zip_test(image)?;
            let mut out = Vec::new();
            let counts = [
                ("files", summary.files, expected.count(Kind::File)),
                ("folders", summary.folders, expected.count(Kind::Dir)),
            ];
            for (what, got, want) in counts {
                if got != want as u64 {
                    out.push(format!("7-Zip counts {got} {what}, expected {want}"));
                }
            }
            let bytes = total_file_bytes(expected);
            if summary.size != bytes {
                out.push(format!(
                    "7-Zip counts {} bytes of files, expected {bytes}",
                    summary.size
                ));
            }
            if summary.version.as_deref() != Some(opts.udf_revision.as_str()) {
                out.push(format!(
                    "7-Zip reports UDF version {:?}, expected {}",
                    summary.version, opts.udf_revision
                ));
            }
            out
        }
        Reader::SevenZipUdf => {
            let dir = scratch()?;
            show(compare(
                expected,
                &seven_zip::seven_zip_extract_udf(image, &dir.path().join("x"))?,
                tolerance,
            ))
        }
        Reader::Pycdlib => show(compare(
            expected,
            &pycdlib::pycdlib_udf_manifest(image)?,
            tolerance,
        )),
        Reader::Udfclient => {
            let dir = scratch()?;
            let got = udfclient::udfclient_extract(image, dir.path())?;
            show(udfclient::compare_udfclient_view(expected, &got, tolerance))
        }
        Reader::PycdlibIso => show(compare_iso_view(
            expected,
            &pycdlib::pycdlib_iso_manifest(image)?,
            opts,
        )),
        Reader::Osirrox => {
            let dir = scratch()?;
            show(compare_iso_view(
                expected,
                &osirrox::osirrox_extract(image, &dir.path().join("x"))?,
                opts,
            ))
        }
        Reader::Bsdtar => {
            let dir = scratch()?;
            show(compare_iso_view(
                expected,
                &bsdtar::bsdtar_extract(image, &dir.path().join("x"))?,
                opts,
            ))
        }
        Reader::Kernel => {
            let dir = scratch()?;
            let views = kernel::kernel_mount(image, dir.path())?;
            let udf = compare(expected, &views.udf, tolerance)
                .into_iter()
                .map(|d| format!("udf view: {d}"));
            // Without Rock Ridge the kernel shows ISO 9660 names in lower case (map=normal).
            let lower = |m: &Manifest| m.renamed(|p| p.to_ascii_lowercase());
            let opts = CheckOptions {
                iso_view: opts.iso_view.as_ref().map(lower),
                ..opts.clone()
            };
            let iso = compare_iso_view(expected, &lower(&views.iso9660), &opts)
                .into_iter()
                .map(|d| format!("iso9660 view: {d}"));
            udf.chain(iso).collect()
        }
        Reader::Isoinfo => check_isoinfo(image, image_len, expected, opts)?,
        Reader::Udfinfo => check_udfinfo(image, image_len, expected, opts)?,
    })
}

/// An ISO 9660 view against [`CheckOptions::iso_view`] path by path when given, else
/// against the expected UDF view's file contents.
fn compare_iso_view(expected: &Manifest, got: &Manifest, opts: &CheckOptions) -> Vec<Difference> {
    match &opts.iso_view {
        Some(iso) => compare(iso, got, opts.mtime_tolerance),
        None => compare_content(expected, got),
    }
}

/// The path isoinfo's record names, as osirrox names it: `;1` version and a trailing dot
/// dropped (`/A/` + `DUP1.;1` → `A/DUP1`).
fn isoinfo_path(record: &isoinfo::IsoRecord) -> Vec<u8> {
    let name = record
        .name
        .rsplit_once(';')
        .map_or(record.name.as_str(), |(n, _)| n);
    let name = name.strip_suffix('.').unwrap_or(name);
    format!("{}{name}", record.dir.trim_start_matches('/')).into_bytes()
}

fn total_file_bytes(m: &Manifest) -> u64 {
    m.entries
        .values()
        .filter(|e| e.kind == Kind::File)
        .map(|e| e.size)
        .sum()
}

fn check_isoinfo(
    image: &Path,
    image_len: u64,
    expected: &Manifest,
    opts: &CheckOptions,
) -> Result<Vec<String>, OracleError> {
    let d = isoinfo::isoinfo_descriptor(image)?;
    let records = isoinfo::isoinfo_list(image)?;
    let mut out = Vec::new();
    if d.logical_block_size != 2048 {
        out.push(format!(
            "logical block size {}, expected 2048",
            d.logical_block_size
        ));
    }
    if d.volume_size * u64::from(d.logical_block_size) != image_len {
        out.push(format!(
            "ISO 9660 volume size {} blocks of {} bytes differs from the image length {image_len}",
            d.volume_size, d.logical_block_size
        ));
    }
    if let Some(id) = &opts.iso_volume_id {
        if &d.volume_id != id {
            out.push(format!("volume id `{}`, expected `{id}`", d.volume_id));
        }
    }
    if let Some((size, sequence)) = opts.volume_set {
        if (d.volume_set_size, d.volume_sequence_number) != (size, sequence) {
            out.push(format!(
                "volume set size / sequence number {} / {}, expected {size} / {sequence}",
                d.volume_set_size, d.volume_sequence_number
            ));
        }
    }
    let got_sizes = records.iter().filter(|r| !r.is_dir).map(|r| r.size);
    let want_sizes = expected
        .entries
        .values()
        .filter(|e| e.kind == Kind::File)
        .map(|e| e.size);
    out.extend(size_multiset_differences(want_sizes, got_sizes));
    if let Some(iso) = &opts.iso_view {
        // Names, kinds and sizes; isoinfo reads no content, so take the expected hashes.
        let mut listed = Manifest::new();
        for r in &records {
            let path = isoinfo_path(r);
            let sha256 = iso.get(&path).map_or([0; 32], |e| e.sha256);
            let (kind, size) = if r.is_dir {
                (Kind::Dir, 0)
            } else {
                (Kind::File, r.size)
            };
            listed.insert(
                path,
                crate::Entry {
                    kind,
                    size,
                    sha256,
                    mtime: None,
                },
            );
        }
        out.extend(
            compare(iso, &listed, None)
                .iter()
                .map(|d| format!("isoinfo -l: {d}")),
        );
    }
    for r in records
        .iter()
        .filter(|r| !r.is_dir && r.extents == 1 && r.size > 0)
    {
        let end = r.extent + r.size.div_ceil(2048);
        if end > d.volume_size {
            out.push(format!(
                "`{}{}` ends at block {end}, past the volume ({})",
                r.dir, r.name, d.volume_size
            ));
        }
    }
    Ok(out)
}

fn check_udfinfo(
    image: &Path,
    image_len: u64,
    expected: &Manifest,
    opts: &CheckOptions,
) -> Result<Vec<String>, OracleError> {
    let info = udfinfo::udfinfo(image)?;
    let mut out = Vec::new();
    if info.udf_revision() != Some(opts.udf_revision.as_str()) {
        out.push(format!(
            "udfrev {:?}, expected {}",
            info.udf_revision(),
            opts.udf_revision
        ));
    }
    if info.integrity() != Some("closed") {
        out.push(format!("integrity {:?}, expected closed", info.integrity()));
    }
    let files = expected.count(Kind::File) as u64;
    if info.num_files() != Some(files) {
        out.push(format!("numfiles {:?}, expected {files}", info.num_files()));
    }
    let dirs = expected.count(Kind::Dir) as u64 + 1;
    if info.num_dirs() != Some(dirs) {
        out.push(format!(
            "numdirs {:?}, expected {dirs} (directories and the root)",
            info.num_dirs()
        ));
    }
    if info.block_size() != Some(2048) {
        out.push(format!("blocksize {:?}, expected 2048", info.block_size()));
    }
    let last = image_len / 2048 - 1;
    let anchors = info.anchors();
    for at in [256, last] {
        if !anchors.contains(&at) {
            out.push(format!(
                "no anchor at block {at} (udfinfo lists anchors at {anchors:?})"
            ));
        }
    }
    if let Some(label) = &opts.udf_volume_id {
        if info.label() != Some(label.as_str()) {
            out.push(format!("label {:?}, expected `{label}`", info.label()));
        }
    }
    Ok(out)
}

/// Differences between two multisets of file sizes, as messages.
fn size_multiset_differences(
    want: impl Iterator<Item = u64>,
    got: impl Iterator<Item = u64>,
) -> Vec<String> {
    let mut counts = std::collections::BTreeMap::<u64, i64>::new();
    want.for_each(|s| *counts.entry(s).or_default() += 1);
    got.for_each(|s| *counts.entry(s).or_default() -= 1);
    counts
        .into_iter()
        .filter(|&(_, n)| n != 0)
        .map(|(size, n)| match n {
            n if n > 0 => {
                format!("isoinfo -l lists {n} file(s) of {size} bytes fewer than expected")
            }
            n => format!(
                "isoinfo -l lists {} file(s) of {size} bytes more than expected",
                -n
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_multisets_are_compared_with_counts() {
        let none: Vec<String> = Vec::new();
        assert_eq!(
            size_multiset_differences([1, 2, 2].into_iter(), [2, 1, 2].into_iter()),
            none
        );
        assert_eq!(
            size_multiset_differences([1, 2, 2].into_iter(), [2, 3].into_iter()),
            [
                "isoinfo -l lists 1 file(s) of 1 bytes fewer than expected",
                "isoinfo -l lists 1 file(s) of 2 bytes fewer than expected",
                "isoinfo -l lists 1 file(s) of 3 bytes more than expected",
            ]
        );
    }

    #[test]
    #[should_panic(expected = "the expected view holds a symlink (`l`)")]
    fn refuses_an_expected_view_with_symlinks() {
        let mut m = Manifest::new();
        m.insert(
            "l",
            crate::Entry {
                kind: Kind::Symlink,
                ..crate::Entry::file(b"t", None)
            },
        );
        check_all(Path::new("/nonexistent.iso"), &m, &CheckOptions::default());
    }

    #[test]
    fn a_missing_image_fails_every_reader_with_a_message() {
        let report = check_all(
            Path::new("/nonexistent/x.iso"),
            &Manifest::new(),
            &CheckOptions::default().only(&[Reader::Udfinfo, Reader::Isoinfo]),
        );
        assert_eq!(report.failed_readers(), [Reader::Udfinfo, Reader::Isoinfo]);
        assert!(
            report.failures_of(Reader::Isoinfo)[0].contains("cannot stat the image"),
            "{report}"
        );
        assert!(report.to_string().contains("FAIL isoinfo"));
    }
}
