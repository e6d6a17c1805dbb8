//! Independent readers of disc images, as test oracles (test-only crate).
//!
//! A disc is only as good as what other software reads back from it. This crate runs the
//! readers we did not write — 7-Zip, xorriso's osirrox, libarchive's bsdtar, cdrkit's
//! isoinfo, udftools' udfinfo, pycdlib, udfclient and (opt-in) the Linux kernel — on an
//! image, turns what each read into a [`Manifest`], and compares it with the view the image
//! should hold, returning precise, readable failures.
//!
//! - [`Manifest`]: path (raw bytes) → [`Entry`] (kind, size, SHA-256, mtime);
//!   [`Manifest::of_dir`] walks a source tree.
//! - [`compare()`], [`compare_content`]: differences path by path, or as a content multiset
//!   for views whose names are mapped.
//! - One function per reader, each `Result<_, OracleError>` with the tool's whole output:
//!   [`seven_zip_test`], [`seven_zip_extract_udf`], [`osirrox_extract`], [`bsdtar_extract`],
//!   [`isoinfo_descriptor`], [`isoinfo_list`], [`udfinfo()`], [`pycdlib_udf_manifest`],
//!   [`pycdlib_iso_manifest`], [`udfclient_extract`], and the Linux kernel's drivers in a
//!   virtual machine, [`kernel_mount`] (slow, opt-in).
//! - [`check_all`] / [`assert_all`]: every [`Reader`] of [`CheckOptions`] against one
//!   expected view, all failures in one [`Report`]. The UDF view is compared exactly (7-Zip,
//!   pycdlib, the kernel; udfclient by ASCII names and contents); the ISO 9660 view by
//!   content, or exactly when [`CheckOptions::iso_view`] gives its names; descriptors
//!   (udfinfo, isoinfo, `7z t`) by counts, sizes, revision, integrity and anchors.
//! - Timeouts: every tool is killed after `ORACLES_TIMEOUT_SECS` (default 3600).
//!
//! A missing tool panics ("required tool `7z` is missing: install Debian package 7zip"):
//! tests fail loudly instead of skipping. Each tool's quirks are documented in its module.
//! Set `ORACLES_VERBOSE=1` to see every reader's report and time even when all pass.
//!
//! ```no_run
//! use oracles::{CheckOptions, Manifest, Reader, assert_all};
//! # fn main() -> std::io::Result<()> {
//! let source = Manifest::of_dir("tests/tree")?.without_symlinks();
//! // ... write the image of tests/tree to out/disc.iso ...
//! assert_all("out/disc.iso".as_ref(), &source, &CheckOptions::default());
//! // A multi-GiB image: skip the readers that extract, compare mtimes within a second;
//! // extraction scratch directories go next to the image unless `scratch_in` says where.
//! let opts = CheckOptions::default().without(&Reader::EXTRACTING).mtime_tolerance(Some(1));
//! assert_all("out/big.iso".as_ref(), &source, &opts);
//! # Ok(())
//! # }
//! ```

// An `OracleError` carries a tool's whole output; it is made once per failing reader in a
// test, so its size on the stack does not matter.
#![allow(clippy::result_large_err)]

pub mod bsdtar;
pub mod check;
pub mod compare;
pub mod error;
pub mod isoinfo;
pub mod kernel;
pub mod manifest;
pub mod options;
pub mod osirrox;
pub mod pycdlib;
pub mod report;
pub mod scratch;
pub mod seven_zip;
pub mod tool;
pub mod udfclient;
pub mod udfinfo;

pub use bsdtar::bsdtar_extract;
pub use check::{assert_all, check_all};
pub use compare::{Difference, compare, compare_content, compare_count};
pub use error::{OracleError, ToolRun};
pub use isoinfo::{IsoDescriptor, IsoRecord, isoinfo_descriptor, isoinfo_list};
pub use kernel::{KernelViews, kernel_mount};
pub use manifest::{Entry, Kind, Manifest, hash_file, sha256};
pub use options::{CheckOptions, Reader};
pub use osirrox::osirrox_extract;
pub use pycdlib::{pycdlib_iso_manifest, pycdlib_udf_manifest};
pub use report::{ReaderOutcome, Report};
pub use seven_zip::{SevenZipSummary, seven_zip_extract_udf, seven_zip_test};
pub use tool::Tool;
pub use udfclient::{compare_udfclient_view, udfclient_extract};
pub use udfinfo::{UdfInfo, udfinfo};
