//! A restore cancelled through `execute_cancellable` stops between discs and files, leaves
//! only whole, checked files under their final names, says how many it restored, and a run
//! again finishes the rest.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::scan_plan_write;
use odarchive::restore::{RestoreOptions, execute_cancellable, prepare};
use odarchive::{Catalogue, Event, Progress};
use testkit::noise;

/// Sets the flag when disc `at` starts being read.
struct CancelAt {
    at: u32,
    cancel: Arc<AtomicBool>,
}

impl Progress for CancelAt {
    fn event(&self, event: &Event) {
        if let Event::RestoreDiscStarted { disc, .. } = event {
            if *disc == self.at {
                self.cancel.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// The files under `root` but the staging folder of split contents (whose parts wait there
/// for the next run), with their bytes.
fn files_under(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = testkit::walk(root)
        .into_iter()
        .filter(|(rel, _, m)| m.is_file() && !rel.starts_with(".odarchive-restore"))
        .map(|(rel, path, _)| (rel, std::fs::read(path).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn a_cancelled_restore_keeps_whole_files_only_and_a_second_run_finishes() {
    let work = tempfile::tempdir().unwrap();
    let drive = work.path().join("drive");
    std::fs::create_dir_all(&drive).unwrap();
    // Eight 1.5 MB files on 5 MB discs: three discs.
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| (format!("f{i}.bin"), noise(i, 1_500_000)))
        .collect();
    for (name, data) in &files {
        std::fs::write(drive.join(name), data).unwrap();
    }
    let mut catalogue = Catalogue::create_or_open(work.path().join("c.db")).unwrap();
    let images = scan_plan_write(&mut catalogue, &drive, &work.path().join("images"));
    assert!(images.len() >= 3, "{images:?}");
    let to = work.path().join("out");
    let options = RestoreOptions {
        from: images.clone(),
        to: to.clone(),
        ..RestoreOptions::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let progress = CancelAt {
        at: 2,
        cancel: Arc::clone(&cancel),
    };
    let plan = prepare(&catalogue, &options).unwrap();
    let report = execute_cancellable(plan, &progress, &cancel).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.discs_read, [1], "{report:?}");
    let got = files_under(&to);
    let names: Vec<&PathBuf> = got.iter().map(|(n, _)| n).collect();
    assert_eq!(got.len() as u64, report.files_restored, "{names:?}");
    assert!(report.files_restored > 0 && report.files_restored < 8);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    for (rel, data) in &got {
        let name = rel.to_str().unwrap();
        assert!(!name.ends_with(".tmp"), "a temporary file is left: {name}");
        let want = &files.iter().find(|(n, _)| n == name).unwrap().1;
        assert!(data == want, "{name} is not whole");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["cancelled"], true);

    // Run again, not cancelled: everything, the files of the first run counted as in place.
    let plan = prepare(&catalogue, &options).unwrap();
    let again = execute_cancellable(plan, &odarchive::NoProgress, &AtomicBool::new(false)).unwrap();
    assert!(!again.cancelled);
    assert!(again.complete(), "{again:?}");
    assert_eq!(again.files_already_done, report.files_restored);
    let mut want: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|(n, d)| (PathBuf::from(n), d.clone()))
        .collect();
    want.sort();
    assert!(files_under(&to) == want, "not every file came back whole");
    assert!(
        serde_json::to_value(&again)
            .unwrap()
            .get("cancelled")
            .is_none()
    );
}
