//! Parity discs across a set (`plan --set-parity N --set-group K`, `write`, `repair --disc D
//! --from …`): lose up to N discs of a group, parity discs included, and each comes back
//! byte for byte; lose N + 1 and the error names what is missing.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::*;

/// A drive of eight 2.9 MB files planned on 8 MB discs with 20 % disc parity and
/// `--set-parity n --set-group k`, written to `out`: the images, by file name. (A parity
/// disc needs about 850 kB of file-system room beyond the member's covered sectors, which
/// the member's own parity area must leave: on discs this small, 20 %.)
fn written(s: &Scratch, n: &str, k: &str) -> Vec<PathBuf> {
    for i in 0..8 {
        s.write(format!("d{i}/f.bin"), noise(300 + i, 2_900_000));
    }
    s.scan().ok();
    s.run(&[
        "plan",
        "--media",
        "8M",
        "--parity",
        "20",
        "--set-parity",
        n,
        "--set-group",
        k,
    ])
    .ok();
    let out = s.dir("out");
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    let images = images(&out);
    assert!(
        !s.dir("out")
            .join(".odarchive-set-parity")
            .join("group-1.acc")
            .exists(),
        "the accumulator is removed once the parity discs are written"
    );
    images.into_iter().filter(|p| p.is_file()).collect()
}

fn named<'a>(images: &'a [PathBuf], suffix: &str) -> &'a PathBuf {
    images
        .iter()
        .find(|p| p.to_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no image *{suffix} in {images:?}"))
}

fn label(image: &Path) -> String {
    image.file_stem().unwrap().to_str().unwrap().to_owned()
}

/// Moves `lost` out of the output folder into `lost/` (kept to compare with).
fn lose(s: &Scratch, lost: &[&PathBuf]) -> Vec<(PathBuf, Vec<u8>)> {
    lost.iter()
        .map(|p| {
            let bytes = fs::read(p).unwrap();
            fs::remove_file(p).unwrap();
            ((*p).clone(), bytes)
        })
        .inspect(|_| {
            let _ = fs::create_dir(s.dir("lost"));
        })
        .collect()
}

/// `repair --disc LABEL --from OUT --out FIXED` must rebuild `original`.
fn rebuilt(s: &Scratch, image: &Path, original: &[u8]) -> String {
    let fixed = s.dir(&format!("fixed-{}.iso", label(image)));
    let run = s.run(&[
        "repair",
        "--disc",
        &label(image),
        "--from",
        s.dir("out").to_str().unwrap(),
        "--out",
        fixed.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        fs::read(&fixed).unwrap() == original,
        "{}: byte-identical",
        label(image)
    );
    run.stdout
}

#[test]
fn one_lost_member_of_a_group_with_one_parity_disc_is_rebuilt() {
    let s = Scratch::new();
    let images = written(&s, "1", "3");
    let parity: Vec<_> = images.iter().filter(|p| label(p).contains("_P0")).collect();
    let members = images.len() - parity.len();
    assert!(members >= 4, "{images:?}");
    assert_eq!(
        parity.len(),
        members.div_ceil(3),
        "one parity disc a group: {images:?}"
    );
    let member = named(&images, "_002.iso");
    let lost = lose(&s, &[member]);
    let out = rebuilt(&s, member, &lost[0].1);
    assert!(out.contains("matches the one recorded"), "{out}");
}

#[test]
fn two_lost_discs_of_a_group_with_two_parity_discs_are_rebuilt_a_parity_disc_among_them() {
    let s = Scratch::new();
    let images = written(&s, "2", "3");
    let member = named(&images, "_003.iso").clone();
    let parity = named(&images, "_P001_1.iso").clone();
    let lost = lose(&s, &[&member, &parity]);
    rebuilt(&s, &member, &lost[0].1);
    rebuilt(&s, &parity, &lost[1].1);
    // Put the rebuilt discs back; then lose two members of the group at once.
    for p in [&member, &parity] {
        fs::rename(s.dir(&format!("fixed-{}.iso", label(p))), p).unwrap();
    }
    let (a, b) = (named(&images, "_001.iso"), named(&images, "_002.iso"));
    let lost = lose(&s, &[a, b]);
    rebuilt(&s, a, &lost[0].1);
    rebuilt(&s, b, &lost[1].1);
}

#[test]
fn more_lost_discs_than_parity_discs_name_every_missing_one() {
    let s = Scratch::new();
    let images = written(&s, "1", "3");
    let (a, b) = (named(&images, "_001.iso"), named(&images, "_003.iso"));
    lose(&s, &[a, b]);
    let run = s.run(&[
        "repair",
        "--disc",
        &label(a),
        "--from",
        s.dir("out").to_str().unwrap(),
        "--out",
        s.dir("x.iso").to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains(&label(a)), "{}", run.stderr);
    assert!(run.stderr.contains(&label(b)), "{}", run.stderr);
    assert!(
        run.stderr.contains("2 of the 3 discs needed"),
        "{}",
        run.stderr
    );
    assert!(!s.dir("x.iso").exists() && !s.dir("x.iso.partial").exists());
}

#[test]
fn a_damaged_member_is_repaired_by_its_own_parity_before_it_serves_the_group() {
    let s = Scratch::new();
    let images = written(&s, "1", "3");
    let lostm = named(&images, "_001.iso");
    let lost = lose(&s, &[lostm]);
    // A scratch on another member, well inside its own parity budget.
    let other = named(&images, "_002.iso");
    let mut bytes = fs::read(other).unwrap();
    let run = parity_header(&bytes).geometry.longest_run() as usize / 2;
    bytes[40 * SECTOR..(40 + run) * SECTOR].fill(0);
    fs::write(other, &bytes).unwrap();
    let out = rebuilt(&s, lostm, &lost[0].1);
    assert!(
        out.contains(&format!("{}: damaged, repaired first", label(other))),
        "{out}"
    );
}

#[test]
fn a_member_is_rebuilt_without_the_catalogue_from_the_parity_disc_alone() {
    let s = Scratch::new();
    let images = written(&s, "1", "3");
    let member = named(&images, "_002.iso");
    let lost = lose(&s, &[member]);
    fs::rename(&s.catalogue, s.dir("elsewhere.db")).unwrap();
    let out = rebuilt(&s, member, &lost[0].1);
    assert!(out.contains("rebuilt from group 1"), "{out}");
}

#[test]
fn parity_discs_pass_independent_readers() {
    let s = Scratch::new();
    let images = written(&s, "1", "3");
    let parity = named(&images, "_P001_1.iso");
    let root = s.dir("seen7z");
    oracles::seven_zip_extract_udf(parity, &root).unwrap();
    let ods = root.join("Parity/SET-001-1.ODS");
    let len = fs::metadata(&ods).unwrap().len();
    let file =
        discfs::parity::set::ParityFile::open(fs::File::open(&ods).unwrap(), 0, len).unwrap();
    assert_eq!(
        (
            file.header.group,
            file.header.index,
            file.header.members.len()
        ),
        (1, 0, 3)
    );
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.contains(&label(named(&images, "_003.iso"))),
        "{readme}"
    );
    oracles::osirrox_extract(parity, &s.dir("seenosirrox")).unwrap();
    let run = s.run(&["verify", parity.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn set_parity_without_disc_parity_is_refused_before_planning() {
    let s = Scratch::new();
    s.write("a.txt", "a");
    s.scan().ok();
    let run = s.run(&[
        "plan",
        "--media",
        "2M",
        "--parity",
        "0",
        "--set-parity",
        "1",
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("--set-parity needs parity on every disc"),
        "{}",
        run.stderr
    );
    let discs = s.run(&["discs", "--json"]);
    assert!(
        !discs.stdout.contains("\"label\""),
        "nothing planned: {}",
        discs.stdout
    );
}

/// A parity disc too large for the medium is found before the plan is stored: the plan is
/// refused whole. (Its groups were made after the plan was stored, so the refusal left a plan
/// of eight discs without the parity discs asked for, which `write` then wrote as they were.)
#[test]
fn a_plan_whose_parity_discs_would_not_fit_is_not_stored() {
    let s = Scratch::new();
    for i in 0..4 {
        s.write(format!("f{i}"), noise(700 + i, 1_700_000));
    }
    s.scan().ok();
    let run = s.run(&[
        "plan",
        "--media",
        "2M",
        "--set-parity",
        "1",
        "--set-group",
        "2",
    ]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("its parity discs would be"),
        "{}",
        run.stderr
    );
    let discs = s.run(&["discs", "--json"]);
    assert!(
        !discs.stdout.contains("\"label\""),
        "nothing planned: {}",
        discs.stdout
    );
    assert!(groups(&s).is_empty(), "{:?}", groups(&s));
}

#[test]
fn archive_takes_set_parity_and_a_lost_member_is_rebuilt() {
    let s = Scratch::new();
    for i in 0..6 {
        s.write(format!("d{i}/f.bin"), noise(400 + i, 2_900_000));
    }
    let out = s.dir("out");
    let run = s.run(&[
        "archive",
        s.drive.to_str().unwrap(),
        "--media",
        "8M",
        "--parity",
        "20",
        "--set-parity",
        "1",
        "--set-group",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("set parity: group 1: discs 1..3"),
        "{}",
        run.stdout
    );
    let images: Vec<PathBuf> = images(&out).into_iter().filter(|p| p.is_file()).collect();
    let parity = images.iter().filter(|p| label(p).contains("_P0")).count();
    assert_eq!(parity, (images.len() - parity).div_ceil(3), "{images:?}");
    let member = named(&images, "_002.iso");
    let lost = lose(&s, &[member]);
    rebuilt(&s, member, &lost[0].1);
}

/// Members folded whole, and the step in progress (member index, first column sector).
type FoldState = (Vec<u32>, Option<(u32, u64)>);

/// What a group's accumulator state file (`OUT/.odarchive-set-parity/group-<g>.state`) says,
/// read with its documented layout rather than through the library: the members folded
/// whole, and the step in progress (member index, its first column sector), if any. After
/// the magic: version, group, K, N and the count of folded members (u32 each), then each
/// folded member (u32) with its image's SHA-256; then 1 if a step is in progress, and its
/// member (u32), its image's SHA-256 and its first column sector (u64).
fn fold_state(path: &Path) -> Option<FoldState> {
    let b = fs::read(path).ok()?;
    if !b.starts_with(b"ODARCHIVE SETACC") {
        return None;
    }
    let u32_at = |at: usize| Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?));
    let count = u32_at(16 + 16)? as usize;
    let folded = (0..count)
        .map(|i| u32_at(36 + 36 * i))
        .collect::<Option<Vec<_>>>()?;
    let at = 36 + 36 * count;
    let step = match u32_at(at)? {
        0 => None,
        _ => Some((
            u32_at(at + 4)?,
            u64::from_le_bytes(b.get(at + 40..at + 48)?.try_into().ok()?),
        )),
    };
    Some((folded, step))
}

/// `(disc, folded_ns)` of every fold the catalogue records, read with plain SQL.
fn recorded_folds(s: &Scratch) -> Vec<(u32, i64)> {
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    let mut stmt = conn
        .prepare("SELECT disc_number, folded_ns FROM set_fold ORDER BY disc_number")
        .unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    rows.map(Result::unwrap).collect()
}

/// The images in `out` with their inode and modification time: a file written again is
/// another inode (images are renamed into place) or a later time.
fn image_stamps(out: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt;
    images(out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "iso"))
        .map(|p| {
            let m = fs::metadata(&p).unwrap();
            (p, m.ino(), m.modified().unwrap())
        })
        .collect()
}

/// A real `odarchive write` killed (SIGKILL) while it folds a member into its group's parity,
/// again and again, each time in a later member's second fold step (members are larger than
/// one 16 MiB step, so the kill lands with that member's fold half done): every following
/// run resumes, leaves the images and folds already done alone, folds each member exactly
/// once (a step folded twice would cancel it out of the parity), and the parity disc it
/// finally writes rebuilds each member byte for byte.
#[test]
fn a_write_killed_in_the_middle_of_a_fold_resumes_and_folds_each_member_once() {
    let s = Scratch::new();
    for i in 0..3 {
        s.write(format!("d{i}/f.bin"), noise(500 + i, 36_000_000));
    }
    s.scan().ok();
    s.run(&[
        "plan",
        "--media",
        "40M",
        "--parity",
        "5",
        "--set-parity",
        "1",
        "--set-group",
        "3",
    ])
    .ok();
    let out = s.dir("out");
    let state = out.join(".odarchive-set-parity").join("group-1.state");
    let mut landed = Vec::new();
    let mut finished = false;
    for _ in 0..6 {
        let before_images = image_stamps_or_none(&out);
        let before_folds = recorded_folds(&s);
        let mut child = s
            .command(&["write", "--out", out.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(fs::File::create(s.dir("write.err")).unwrap())
            .spawn()
            .unwrap();
        // Kill as soon as a member not killed yet is in its second step.
        let start = std::time::Instant::now();
        let exited = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if let Some((_, Some((j, first)))) = fold_state(&state)
                && first > 0
                && !landed.contains(&j)
            {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            assert!(start.elapsed() < Duration::from_secs(300), "write hangs");
            std::thread::sleep(Duration::from_millis(1));
        };
        // What the earlier runs did is left alone.
        let after_images = image_stamps(&out);
        for (path, ino, time) in &before_images {
            assert!(
                after_images.contains(&(path.clone(), *ino, *time)),
                "{} was written again",
                path.display()
            );
        }
        let after_folds = recorded_folds(&s);
        for fold in &before_folds {
            assert!(after_folds.contains(fold), "fold {fold:?} was done again");
        }
        if let Some(status) = exited {
            assert!(
                status.success(),
                "write failed after a resume: {}",
                fs::read_to_string(s.dir("write.err")).unwrap()
            );
            finished = true;
            break;
        }
        let (_, step) = fold_state(&state).expect("the state file survives the kill");
        if let Some((j, _)) = step {
            landed.push(j);
        }
    }
    assert!(finished, "write finished within six runs");
    assert!(
        !landed.is_empty(),
        "at least one kill landed in the middle of a fold"
    );
    let images: Vec<PathBuf> = images(&out).into_iter().filter(|p| p.is_file()).collect();
    assert!(
        !state.exists(),
        "the accumulator is removed once the parity disc is written"
    );
    // Each member whose fold was cut, and the first, is rebuilt from the others and the
    // parity disc, byte for byte.
    let mut targets: Vec<u32> = landed.iter().map(|j| j + 1).collect();
    targets.push(1);
    targets.sort_unstable();
    targets.dedup();
    for n in targets {
        let member = named(&images, &format!("_{n:03}.iso")).clone();
        let lost = lose(&s, &[&member]);
        rebuilt(&s, &member, &lost[0].1);
        fs::write(&member, &lost[0].1).unwrap();
    }
}

/// [`image_stamps`], or nothing before the folder exists.
fn image_stamps_or_none(out: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    if out.exists() {
        image_stamps(out)
    } else {
        Vec::new()
    }
}

/// With no catalogue at all, only the surviving images of the group: a lost member and a lost
/// parity disc both come back byte for byte, the parity disc from the header and time stamp
/// the other parity disc records (its own SHA-256 only the catalogue knows, and the output
/// does not claim it).
#[test]
fn a_lost_member_and_a_lost_parity_disc_are_rebuilt_without_the_catalogue() {
    let s = Scratch::new();
    let images = written(&s, "2", "3");
    let member = named(&images, "_003.iso").clone();
    let parity = named(&images, "_P001_2.iso").clone();
    let lost = lose(&s, &[&member, &parity]);
    fs::rename(&s.catalogue, s.dir("elsewhere.db")).unwrap();
    let out = rebuilt(&s, &member, &lost[0].1);
    assert!(out.contains("matches the one recorded"), "{out}");
    let out = rebuilt(&s, &parity, &lost[1].1);
    assert!(!out.contains("matches the one recorded"), "{out}");
    assert!(
        out.contains("no catalogue records a parity disc's SHA-256"),
        "{out}"
    );
    assert!(!s.catalogue.exists(), "no catalogue was made");
}

/// A group's only parity disc lost, and no catalogue: nothing left says what the group was,
/// and the error says so rather than that the disc is unknown.
#[test]
fn the_only_parity_disc_of_a_group_is_not_rebuilt_without_the_catalogue_and_says_why() {
    let s = Scratch::new();
    let images = written(&s, "1", "3");
    let parity = named(&images, "_P001_1.iso").clone();
    lose(&s, &[&parity]);
    fs::rename(&s.catalogue, s.dir("elsewhere.db")).unwrap();
    let fixed = s.dir("fixed.iso");
    let run = s.run(&[
        "repair",
        "--disc",
        &label(&parity),
        "--from",
        s.dir("out").to_str().unwrap(),
        "--out",
        fixed.to_str().unwrap(),
    ]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("a lost parity disc is rebuilt only when another parity disc"),
        "{}",
        run.stderr
    );
    assert!(!fixed.exists());
}

/// `(number, first_disc, last_disc, pending parity discs)` of every group, read with plain SQL.
fn groups(s: &Scratch) -> Vec<(u32, u32, u32, u32)> {
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT number, first_disc, last_disc, (SELECT count(*) FROM set_parity_disc p \
             WHERE p.group_id = g.id AND p.state = 'pending') FROM set_group g ORDER BY number",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn plan_set_parity(s: &Scratch, replan: bool) -> Run {
    let mut args = vec![
        "plan",
        "--media",
        "8M",
        "--parity",
        "20",
        "--set-parity",
        "1",
        "--set-group",
        "3",
    ];
    if replan {
        args.push("--replan");
    }
    s.run(&args)
}

/// Four folders of a 2.9 MB file each (contents from `seed`), scanned and planned with
/// [`plan_set_parity`]: three 8 MB discs in group 1, the fourth in group 2.
fn planned_in_groups(seed: u64) -> Scratch {
    let s = Scratch::new();
    for i in 0..4 {
        s.write(format!("d{i}/f.bin"), noise(seed + i, 2_900_000));
    }
    s.scan().ok();
    plan_set_parity(&s, false).ok();
    s
}

/// Planning again before anything is written replaces the groups with the plan's own.
#[test]
fn planning_again_before_any_write_replaces_the_groups() {
    let s = planned_in_groups(600);
    let first = groups(&s);
    assert_eq!(first[0], (1, 1, 3, 1), "{first:?}");
    plan_set_parity(&s, false).ok();
    assert_eq!(groups(&s), first, "the same groups again, numbered from 1");
    let out = s.dir("out");
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    assert!(groups(&s).iter().all(|g| g.3 == 0), "{:?}", groups(&s));
    let images: Vec<PathBuf> = images(&out).into_iter().filter(|p| p.is_file()).collect();
    let member = named(&images, "_002.iso").clone();
    let lost = lose(&s, &[&member]);
    rebuilt(&s, &member, &lost[0].1);
}

/// A replan of another shape (here more disc parity) after the first disc of a group is
/// written closes that group at it: its parity disc is made from it at the next write (rather
/// than never, the group waiting for discs that no longer exist), the discs planned again
/// form groups of their own, and a lost disc of either is rebuilt byte for byte.
#[test]
fn a_replan_closes_a_group_at_its_written_discs_and_both_groups_rebuild() {
    let s = planned_in_groups(700);
    let out = s.dir("out");
    s.run(&["write", "1", "--out", out.to_str().unwrap()]).ok();
    s.write("d9/late.bin", noise(799, 2_900_000));
    s.scan().ok();
    let run = s.run(&[
        "plan",
        "--media",
        "8M",
        "--parity",
        "25",
        "--set-parity",
        "1",
        "--set-group",
        "3",
        "--replan",
    ]);
    run.ok();
    assert!(
        run.stdout
            .contains("group 1 closed at its written discs 1..1"),
        "{}",
        run.stdout
    );
    assert_eq!(groups(&s)[0], (1, 1, 1, 1), "{:?}", groups(&s));
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    let all = groups(&s);
    assert!(
        all.iter().all(|g| g.3 == 0),
        "every parity disc written: {all:?}"
    );
    // Each disc in exactly one group.
    for n in 1..=all.iter().map(|g| g.2).max().unwrap() {
        let of = all.iter().filter(|g| (g.1..=g.2).contains(&n)).count();
        assert_eq!(of, 1, "disc {n} in {of} groups: {all:?}");
    }
    let images: Vec<PathBuf> = images(&out).into_iter().filter(|p| p.is_file()).collect();
    for n in [1, 2] {
        let member = named(&images, &format!("_{n:03}.iso")).clone();
        let lost = lose(&s, &[&member]);
        rebuilt(&s, &member, &lost[0].1);
        fs::write(&member, &lost[0].1).unwrap();
    }
}

/// A write stopped after the first disc of a group (as an interrupted `archive` leaves it)
/// leaves the group open: a replan of the same shape completes it with its own first discs,
/// so the interruption costs no parity disc, and a lost disc of either plan is rebuilt byte
/// for byte from the group's parity disc.
#[test]
fn a_replan_of_the_same_shape_completes_a_group_left_open() {
    let s = planned_in_groups(650);
    let out = s.dir("out");
    s.run(&["write", "1", "--out", out.to_str().unwrap()]).ok();
    s.write("d9/late.bin", noise(699, 2_900_000));
    s.scan().ok();
    let run = plan_set_parity(&s, true);
    run.ok();
    assert!(
        run.stdout
            .contains("group 1, left open by an interrupted write, continues with discs 2..3"),
        "{}",
        run.stdout
    );
    // Two files a disc: disc 1 written, the second plan's discs 2 and 3 complete group 1.
    let discs = s.run(&["discs"]);
    assert_eq!(groups(&s), [(1, 1, 3, 1)], "{}", discs.stdout);
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    assert_eq!(groups(&s), [(1, 1, 3, 0)], "its parity disc written");
    let images: Vec<PathBuf> = images(&out).into_iter().filter(|p| p.is_file()).collect();
    // Closed at disc 1, the group would have cost a parity disc of its own: 3 + 2.
    assert_eq!(
        images.len(),
        3 + 1,
        "three discs and one parity disc: {images:?}"
    );
    // Disc 1 was written by the first plan, disc 3 by the second: one group rebuilds both.
    for n in [1, 3] {
        let member = named(&images, &format!("_{n:03}.iso")).clone();
        let lost = lose(&s, &[&member]);
        rebuilt(&s, &member, &lost[0].1);
        fs::write(&member, &lost[0].1).unwrap();
    }
}

/// A group continued by a plan goes back to its written discs when that plan is replaced
/// before any of its discs is written (by a plan of another shape): it is closed there, not
/// forgotten with the plan, and its parity disc protects the disc written.
#[test]
fn a_continued_group_replanned_again_is_closed_at_its_written_discs() {
    let s = planned_in_groups(660);
    let out = s.dir("out");
    s.run(&["write", "1", "--out", out.to_str().unwrap()]).ok();
    plan_set_parity(&s, true).ok();
    assert_eq!(groups(&s)[0], (1, 1, 3, 1), "{:?}", groups(&s));
    s.run(&["plan", "--media", "8M", "--parity", "25", "--replan"])
        .ok();
    assert_eq!(groups(&s), [(1, 1, 1, 1)], "closed at disc 1, kept");
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    assert_eq!(groups(&s), [(1, 1, 1, 0)]);
    let images: Vec<PathBuf> = images(&out).into_iter().filter(|p| p.is_file()).collect();
    let member = named(&images, "_001.iso").clone();
    let lost = lose(&s, &[&member]);
    rebuilt(&s, &member, &lost[0].1);
}

/// A replan that would replace a disc of a group before a written one is refused, naming
/// them, and changes nothing.
#[test]
fn a_replan_that_would_leave_a_hole_in_a_group_is_refused() {
    let s = planned_in_groups(800);
    let out = s.dir("out");
    s.run(&["write", "2", "--out", out.to_str().unwrap()]).ok();
    let before = groups(&s);
    let run = plan_set_parity(&s, true);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr
            .contains("group 1: disc(s) 2 are written but disc(s) 1 before them are not"),
        "{}",
        run.stderr
    );
    assert_eq!(groups(&s), before);
}

/// An accumulator left in the output folder by another archive (another catalogue, the first
/// disc of its group written) is not taken for this archive's: its folded member is another
/// image, so the group is folded again from this archive's images and its parity disc
/// rebuilds them.
#[test]
fn an_accumulator_left_by_another_archive_in_the_folder_is_not_trusted() {
    let s = planned_in_groups(900);
    let out = s.dir("out");
    s.run(&["write", "1", "--out", out.to_str().unwrap()]).ok();
    let state = out.join(".odarchive-set-parity").join("group-1.state");
    assert_eq!(fold_state(&state).unwrap().0, [0], "disc 1 folded");
    // Start over: another catalogue and other contents, the same output folder.
    for p in images(&out).into_iter().filter(|p| p.is_file()) {
        fs::remove_file(p).unwrap();
    }
    fs::rename(&s.catalogue, s.dir("old.db")).unwrap();
    for i in 0..4 {
        s.write(format!("d{i}/f.bin"), noise(950 + i, 2_900_000));
    }
    s.scan().ok();
    plan_set_parity(&s, false).ok();
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    let images: Vec<PathBuf> = images(&out).into_iter().filter(|p| p.is_file()).collect();
    let member = named(&images, "_001.iso").clone();
    let lost = lose(&s, &[&member]);
    rebuilt(&s, &member, &lost[0].1);
}
