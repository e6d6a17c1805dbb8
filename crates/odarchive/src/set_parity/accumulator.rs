//! A group's running parity: the accumulator file and its state file, folded into crash-safely.
//!
//! `group-<g>.acc` holds the N parity shards interleaved by sector: column sector c of shard
//! i at byte (c·N + i)·2048, so that it grows at its end when a longer member is folded and
//! a fold step touches one contiguous range. Bytes past its end are zeros.
//!
//! `group-<g>.state` (replaced whole, through a temporary name, at every change) says which
//! members are folded, each with the SHA-256 of the image it was folded from (so that an
//! accumulator is never taken for another disc's: [`Accumulator::images`]), and, while a fold
//! runs, the *step* being written: member j and its image's SHA-256, column
//! sectors c0..c1, and for every sector of the range its CRC32C before and after the step,
//! with the first byte at which the two differ and that byte's value before. A fold writes
//! the state first, then the range; a fold that resumes reads the range back and, sector by
//! sector, keeps a sector that is already the "after" value and applies the step to one that
//! is still the "before" value (the byte told apart even when the two CRCs happen to be
//! equal). So a step cut short anywhere is applied exactly once; a sector that is neither
//! (a disk that lost it) stops the fold and names the accumulator.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use discfs::parity::set::{Member, SetCode, read_covered};
use discfs::parity::{SHARD_BYTES, crc32c};

use super::SetParityError;
use crate::atomic::AtomicFile;

const MAGIC: &[u8; 16] = b"ODARCHIVE SETACC";
const VERSION: u32 = 2;
const S: u64 = SHARD_BYTES as u64;
/// Column sectors folded per step (16 MiB of a member).
pub const STEP_SECTORS: u64 = 8192;

/// Where a fold may be stopped in a test of its crash safety.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldPoint {
    /// The step's state is durable; nothing of its range is written.
    StateWritten,
    /// Half of the step's range is written.
    HalfWritten,
    /// The whole range is written and synced; the next step has not begun.
    RangeWritten,
}

/// One sector's before and after in a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SectorChange {
    old_crc: u32,
    new_crc: u32,
    /// First byte at which before and after differ (`u16::MAX`: they are equal).
    at: u16,
    old_byte: u8,
}

impl SectorChange {
    fn of(old: &[u8], new: &[u8]) -> SectorChange {
        let at = old.iter().zip(new).position(|(a, b)| a != b);
        SectorChange {
            old_crc: crc32c(old),
            new_crc: crc32c(new),
            at: at.map_or(u16::MAX, |p| p as u16),
            old_byte: at.map_or(0, |p| old[p]),
        }
    }

    /// Whether `now` is the sector after the step (`Some(true)`), before (`Some(false)`),
    /// or neither (`None`).
    fn applied(&self, now: &[u8]) -> Option<bool> {
        if self.at == u16::MAX {
            return (crc32c(now) == self.old_crc).then_some(true);
        }
        let crc = crc32c(now);
        if now[usize::from(self.at)] == self.old_byte {
            (crc == self.old_crc).then_some(false)
        } else {
            (crc == self.new_crc).then_some(true)
        }
    }
}

/// A fold in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    member: u32,
    /// SHA-256 of the member's image.
    image: [u8; 32],
    first: u64,
    end: u64,
    /// (c − first)·N + i order.
    changes: Vec<SectorChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct State {
    /// Members folded whole, each with its image's SHA-256.
    folded: Vec<(u32, [u8; 32])>,
    step: Option<Step>,
}

/// The running parity of one group.
#[derive(Debug)]
pub struct Accumulator {
    code: SetCode,
    group: u32,
    acc: PathBuf,
    state_path: PathBuf,
    state: State,
}

impl Accumulator {
    /// The paths of group `group`'s files in `dir`.
    pub fn paths(dir: &Path, group: u32) -> (PathBuf, PathBuf) {
        (
            dir.join(format!("group-{group}.acc")),
            dir.join(format!("group-{group}.state")),
        )
    }

    /// Opens (or starts) group `group`'s accumulator in `dir`, for `members` members and
    /// `parity` parity shards.
    pub fn open(
        dir: &Path,
        group: u32,
        members: usize,
        parity: usize,
    ) -> Result<Accumulator, SetParityError> {
        let code = SetCode::new(members, parity).map_err(|e| SetParityError::Code {
            path: dir.to_owned(),
            source: e,
        })?;
        fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let (acc, state_path) = Self::paths(dir, group);
        let state = match fs::read(&state_path) {
            Ok(bytes) => parse_state(&bytes, group, members, parity).ok_or_else(|| {
                SetParityError::Accumulator {
                    path: state_path.clone(),
                    reason: "its state file is damaged or of another group shape".into(),
                }
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if acc.exists() {
                    // A state file never written: nothing was folded, the data is stale.
                    fs::remove_file(&acc).map_err(|e| io_err(&acc, e))?;
                }
                State::default()
            }
            Err(e) => return Err(io_err(&state_path, e)),
        };
        Ok(Accumulator {
            code,
            group,
            acc,
            state_path,
            state,
        })
    }

    /// The members (indexes in the group) folded whole.
    pub fn folded(&self) -> Vec<u32> {
        self.state.folded.iter().map(|(j, _)| *j).collect()
    }

    /// Each member folded or being folded, with the SHA-256 of the image it was folded from:
    /// what a caller checks against the discs it means before it trusts the accumulator.
    pub fn images(&self) -> Vec<(u32, [u8; 32])> {
        let mut v = self.state.folded.clone();
        v.extend(self.state.step.as_ref().map(|s| (s.member, s.image)));
        v
    }

    /// The member whose fold was cut short, if any: it must be folded before any other.
    pub fn interrupted(&self) -> Option<u32> {
        self.state.step.as_ref().map(|s| s.member)
    }

    /// The accumulator file.
    pub fn path(&self) -> &Path {
        &self.acc
    }

    /// Folds member `j` (its covered sectors read from `image` as `member` maps them) in,
    /// once: a member already folded is left alone, and a fold cut short resumes.
    pub fn fold<R: Read + Seek>(
        &mut self,
        j: u32,
        member: &Member,
        image: &mut R,
    ) -> Result<(), SetParityError> {
        self.fold_stopping(j, member, image, STEP_SECTORS, &mut |_| false)
    }

    /// [`fold`](Self::fold) in steps of `step` sectors, asking `stop` at each [`FoldPoint`]
    /// whether to stop there as a crash would (for tests).
    pub fn fold_stopping<R: Read + Seek>(
        &mut self,
        j: u32,
        member: &Member,
        image: &mut R,
        step: u64,
        stop: &mut dyn FnMut(FoldPoint) -> bool,
    ) -> Result<(), SetParityError> {
        let other_image = |what: &str| SetParityError::Accumulator {
            path: self.state_path.clone(),
            reason: format!(
                "member {} {what} from another image than {} (remove the folder to start \
                 again from the members' images)",
                j + 1,
                member.label
            ),
        };
        if let Some((_, image)) = self.state.folded.iter().find(|(f, _)| *f == j) {
            return if *image == member.sha256 {
                Ok(())
            } else {
                Err(other_image("was folded"))
            };
        }
        let n = self.code.parity() as u64;
        let mut acc = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.acc)
            .map_err(|e| io_err(&self.acc, e))?;
        let mut start = 0;
        if let Some(s) = self.state.step.clone() {
            if s.member != j {
                return Err(SetParityError::Accumulator {
                    path: self.state_path.clone(),
                    reason: format!(
                        "the fold of member {} was cut short and must be completed first",
                        s.member + 1
                    ),
                });
            }
            if s.image != member.sha256 {
                return Err(other_image("was being folded"));
            }
            // Resume: finish the step that was being written, sector by sector.
            let mut range = self.read_range(&mut acc, s.first, s.end)?;
            for (k, change) in s.changes.iter().enumerate() {
                let sector = &mut range[k * SHARD_BYTES..][..SHARD_BYTES];
                match change.applied(sector) {
                    Some(true) => {}
                    Some(false) => {
                        let c = s.first + k as u64 / n;
                        let i = (k as u64 % n) as usize;
                        let mut data = vec![0u8; SHARD_BYTES];
                        read_covered(image, member, c, &mut data)
                            .map_err(|e| io_err(Path::new(&member.label), e))?;
                        self.apply(sector, i, j, &data);
                    }
                    None => {
                        return Err(SetParityError::Accumulator {
                            path: self.acc.clone(),
                            reason: format!(
                                "column sector {} of shard {} is neither before nor after the \
                                 interrupted fold (remove the folder to start again from the \
                                 members' images)",
                                s.first + k as u64 / n,
                                k as u64 % n
                            ),
                        });
                    }
                }
            }
            self.write_range(&mut acc, s.first, &range)?;
            start = s.end;
        }
        let mut data = vec![0u8; (step * S) as usize];
        let mut c0 = start;
        while c0 < member.covered {
            let c1 = (c0 + step).min(member.covered);
            let data = &mut data[..((c1 - c0) * S) as usize];
            read_covered(image, member, c0, data)
                .map_err(|e| io_err(Path::new(&member.label), e))?;
            let old = self.read_range(&mut acc, c0, c1)?;
            let mut new = old.clone();
            for (c, sector) in data.chunks_exact(SHARD_BYTES).enumerate() {
                for i in 0..n as usize {
                    let at = (c * n as usize + i) * SHARD_BYTES;
                    self.apply(&mut new[at..at + SHARD_BYTES], i, j, sector);
                }
            }
            let changes = old
                .chunks_exact(SHARD_BYTES)
                .zip(new.chunks_exact(SHARD_BYTES))
                .map(|(o, n)| SectorChange::of(o, n))
                .collect();
            self.state.step = Some(Step {
                member: j,
                image: member.sha256,
                first: c0,
                end: c1,
                changes,
            });
            self.save()?;
            if stop(FoldPoint::StateWritten) {
                return Err(SetParityError::Stopped);
            }
            let half = (new.len() / 2) / SHARD_BYTES * SHARD_BYTES;
            self.write_at(&mut acc, c0 * n * S, &new[..half])?;
            if stop(FoldPoint::HalfWritten) {
                return Err(SetParityError::Stopped);
            }
            self.write_range(&mut acc, c0, &new)?;
            if stop(FoldPoint::RangeWritten) {
                return Err(SetParityError::Stopped);
            }
            c0 = c1;
        }
        self.state.step = None;
        self.state.folded.push((j, member.sha256));
        self.state.folded.sort_unstable();
        self.save()
    }

    fn apply(&self, sector: &mut [u8], i: usize, j: u32, data: &[u8]) {
        discfs::parity::set::Multiplier::new(self.code.coefficient(i, j as usize))
            .mul_add(sector, data);
    }

    /// Column sectors `first..end` of every shard, interleaved (zeros past the file's end).
    fn read_range(&self, acc: &mut File, first: u64, end: u64) -> Result<Vec<u8>, SetParityError> {
        let n = self.code.parity() as u64;
        let mut buf = vec![0u8; ((end - first) * n * S) as usize];
        let at = first * n * S;
        acc.seek(SeekFrom::Start(at))
            .map_err(|e| io_err(&self.acc, e))?;
        let mut filled = 0;
        while filled < buf.len() {
            match acc.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(k) => filled += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(&self.acc, e)),
            }
        }
        Ok(buf)
    }

    fn write_range(&self, acc: &mut File, first: u64, bytes: &[u8]) -> Result<(), SetParityError> {
        self.write_at(acc, first * self.code.parity() as u64 * S, bytes)?;
        acc.sync_data().map_err(|e| io_err(&self.acc, e))
    }

    fn write_at(&self, acc: &mut File, at: u64, bytes: &[u8]) -> Result<(), SetParityError> {
        acc.seek(SeekFrom::Start(at))
            .and_then(|_| acc.write_all(bytes))
            .map_err(|e| io_err(&self.acc, e))
    }

    fn save(&self) -> Result<(), SetParityError> {
        let bytes = state_bytes(
            &self.state,
            self.group,
            self.code.members(),
            self.code.parity(),
        );
        let mut file = AtomicFile::create(&self.state_path, ".partial")
            .map_err(|e| io_err(&self.state_path, e))?;
        file.file()
            .write_all(&bytes)
            .map_err(|e| io_err(&self.state_path, e))?;
        file.commit().map_err(|e| io_err(&self.state_path, e))
    }

    /// Reads shard `i`'s first `columns` column sectors (zeros past what was folded).
    pub fn shard(&self, i: usize, columns: u64) -> Result<ShardReader, SetParityError> {
        let file = File::open(&self.acc).map_err(|e| io_err(&self.acc, e))?;
        let len = file.metadata().map_err(|e| io_err(&self.acc, e))?.len();
        Ok(ShardReader {
            file,
            len,
            parity: self.code.parity() as u64,
            i: i as u64,
            next: 0,
            columns,
            sector: Vec::new(),
        })
    }

    /// Removes both files (once the parity discs are written).
    pub fn remove(self) -> Result<(), SetParityError> {
        for p in [&self.state_path, &self.acc] {
            match fs::remove_file(p) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(p, e)),
            }
        }
        Ok(())
    }
}

/// One shard's column sectors out of the interleaved accumulator.
#[derive(Debug)]
pub struct ShardReader {
    file: File,
    len: u64,
    parity: u64,
    i: u64,
    next: u64,
    columns: u64,
    sector: Vec<u8>,
}

impl Read for ShardReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.sector.is_empty() {
            if self.next == self.columns {
                return Ok(0);
            }
            let mut s = vec![0u8; SHARD_BYTES];
            let at = (self.next * self.parity + self.i) * S;
            if at < self.len {
                self.file.seek(SeekFrom::Start(at))?;
                self.file.read_exact(&mut s)?;
            }
            self.next += 1;
            self.sector = s;
        }
        let k = buf.len().min(self.sector.len());
        buf[..k].copy_from_slice(&self.sector[..k]);
        self.sector.drain(..k);
        Ok(k)
    }
}

fn io_err(path: &Path, source: io::Error) -> SetParityError {
    SetParityError::Io {
        path: path.to_owned(),
        source,
    }
}

fn state_bytes(state: &State, group: u32, members: usize, parity: usize) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(MAGIC);
    for v in [
        VERSION,
        group,
        members as u32,
        parity as u32,
        state.folded.len() as u32,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for (j, image) in &state.folded {
        b.extend_from_slice(&j.to_le_bytes());
        b.extend_from_slice(image);
    }
    match &state.step {
        None => b.extend_from_slice(&0u32.to_le_bytes()),
        Some(s) => {
            b.extend_from_slice(&1u32.to_le_bytes());
            b.extend_from_slice(&s.member.to_le_bytes());
            b.extend_from_slice(&s.image);
            b.extend_from_slice(&s.first.to_le_bytes());
            b.extend_from_slice(&s.end.to_le_bytes());
            for c in &s.changes {
                b.extend_from_slice(&c.old_crc.to_le_bytes());
                b.extend_from_slice(&c.new_crc.to_le_bytes());
                b.extend_from_slice(&c.at.to_le_bytes());
                b.push(c.old_byte);
                b.push(0);
            }
        }
    }
    let crc = crc32c(&b);
    b.extend_from_slice(&crc.to_le_bytes());
    b
}

fn parse_state(b: &[u8], group: u32, members: usize, parity: usize) -> Option<State> {
    let (body, crc) = b.split_at(b.len().checked_sub(4)?);
    if crc32c(body).to_le_bytes() != crc || !body.starts_with(MAGIC) {
        return None;
    }
    let u32_at = |at: usize| Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?));
    let mut head = [0u32; 5];
    for (k, v) in head.iter_mut().enumerate() {
        *v = u32_at(MAGIC.len() + 4 * k)?;
    }
    let mut at = MAGIC.len() + 20;
    // A group closed at its first members by a new plan keeps its accumulator: a member's
    // coefficient depends on its place, not on how many follow it.
    if head[..2] != [VERSION, group] || head[3] != parity as u32 || head[2] < members as u32 {
        return None;
    }
    let image_at = |at: usize| -> Option<[u8; 32]> { body.get(at..at + 32)?.try_into().ok() };
    let mut folded = Vec::new();
    for _ in 0..head[4] {
        folded.push((u32_at(at)?, image_at(at + 4)?));
        at += 36;
    }
    let has_step = u32_at(at)?;
    let step = if has_step == 1 {
        let member = u32_at(at + 4)?;
        let image = image_at(at + 8)?;
        let u64_at = |at: usize| Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?));
        let first = u64_at(at + 40)?;
        let end = u64_at(at + 48)?;
        let mut at = at + 56;
        let count = (end.checked_sub(first)? * parity as u64) as usize;
        let mut changes = Vec::with_capacity(count);
        for _ in 0..count {
            let e = body.get(at..at + 12)?;
            changes.push(SectorChange {
                old_crc: u32::from_le_bytes(e[0..4].try_into().ok()?),
                new_crc: u32::from_le_bytes(e[4..8].try_into().ok()?),
                at: u16::from_le_bytes(e[8..10].try_into().ok()?),
                old_byte: e[10],
            });
            at += 12;
        }
        Some(Step {
            member,
            image,
            first,
            end,
            changes,
        })
    } else {
        None
    };
    let within = |j: &u32| (*j as usize) < members;
    (folded.iter().all(|(j, _)| within(j)) && step.as_ref().is_none_or(|s| within(&s.member)))
        .then_some(State { folded, step })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn member(j: u32, sectors: u64) -> (Member, Vec<u8>) {
        let bytes = testkit::noise(u64::from(j) + 40, (sectors * S) as usize);
        let m = Member {
            number: j + 1,
            label: format!("M{j}"),
            image_bytes: sectors * S,
            covered: sectors,
            excluded_start: 0,
            excluded: 0,
            sha256: [0; 32],
        };
        (m, bytes)
    }

    /// The shards computed directly with the code.
    fn expected(members: &[(Member, Vec<u8>)], n: usize) -> Vec<Vec<u8>> {
        let code = SetCode::new(members.len(), n).unwrap();
        let len = members.iter().map(|(_, b)| b.len()).max().unwrap();
        let mut parity = vec![vec![0u8; len]; n];
        for (j, (_, b)) in members.iter().enumerate() {
            let mut padded = b.clone();
            padded.resize(len, 0);
            let mut outs: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
            code.fold(j, &padded, &mut outs);
        }
        parity
    }

    fn shards(acc: &Accumulator, n: usize, columns: u64) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let mut v = Vec::new();
                acc.shard(i, columns).unwrap().read_to_end(&mut v).unwrap();
                v
            })
            .collect()
    }

    #[test]
    fn a_fold_stopped_at_any_point_resumes_and_applies_each_step_once() {
        let members = [member(0, 21), member(1, 30), member(2, 9)];
        let want = expected(&members, 2);
        for point in [
            FoldPoint::StateWritten,
            FoldPoint::HalfWritten,
            FoldPoint::RangeWritten,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let mut acc = Accumulator::open(dir.path(), 1, 3, 2).unwrap();
            let (m0, b0) = &members[0];
            acc.fold_stopping(0, m0, &mut Cursor::new(b0), 4, &mut |_| false)
                .unwrap();
            // Member 1 stops, as a crash would, in its third step.
            let (m1, b1) = &members[1];
            let mut seen = 0;
            let stopped = acc.fold_stopping(1, m1, &mut Cursor::new(b1), 4, &mut |p| {
                if p == point {
                    seen += 1;
                }
                seen == 3 && p == point
            });
            assert!(matches!(stopped, Err(SetParityError::Stopped)), "{point:?}");
            drop(acc);

            let mut acc = Accumulator::open(dir.path(), 1, 3, 2).unwrap();
            assert_eq!(acc.interrupted(), Some(1));
            let (m2, b2) = &members[2];
            assert!(
                acc.fold(2, m2, &mut Cursor::new(b2)).is_err(),
                "the interrupted member goes first"
            );
            acc.fold_stopping(1, m1, &mut Cursor::new(b1), 4, &mut |_| false)
                .unwrap();
            acc.fold(2, m2, &mut Cursor::new(b2)).unwrap();
            // Folding a member again changes nothing.
            acc.fold(0, m0, &mut Cursor::new(b0)).unwrap();
            assert_eq!(acc.folded(), [0, 1, 2]);
            assert!(shards(&acc, 2, 30) == want, "{point:?}: shards differ");
        }
    }

    #[test]
    fn a_group_closed_at_its_first_members_keeps_their_folds() {
        let members = [member(0, 12), member(1, 7)];
        let dir = tempfile::tempdir().unwrap();
        let mut acc = Accumulator::open(dir.path(), 4, 5, 2).unwrap();
        for (j, (m, b)) in members.iter().enumerate() {
            acc.fold(j as u32, m, &mut Cursor::new(b)).unwrap();
        }
        drop(acc);
        // Reopened as a group of its two folded members: the parity of that group.
        let acc = Accumulator::open(dir.path(), 4, 2, 2).unwrap();
        assert_eq!(acc.folded(), [0, 1]);
        assert!(shards(&acc, 2, 12) == expected(&members, 2));
        drop(acc);
        // A group smaller than what was folded into it is refused, not cut.
        let e = Accumulator::open(dir.path(), 4, 1, 2).unwrap_err();
        assert!(matches!(e, SetParityError::Accumulator { .. }), "{e}");
    }

    #[test]
    fn a_member_folded_from_another_image_is_refused_not_skipped() {
        let (m, b) = member(0, 8);
        let dir = tempfile::tempdir().unwrap();
        let mut acc = Accumulator::open(dir.path(), 3, 2, 1).unwrap();
        acc.fold(0, &m, &mut Cursor::new(&b)).unwrap();
        assert_eq!(acc.images(), [(0, m.sha256)]);
        let other = Member {
            sha256: [7; 32],
            ..m.clone()
        };
        let e = acc.fold(0, &other, &mut Cursor::new(&b)).unwrap_err();
        assert!(matches!(e, SetParityError::Accumulator { .. }), "{e}");
        // A fold cut short resumes only with the image it began with.
        let (m1, b1) = member(1, 8);
        let stopped = acc.fold_stopping(1, &m1, &mut Cursor::new(&b1), 4, &mut |p| {
            p == FoldPoint::HalfWritten
        });
        assert!(matches!(stopped, Err(SetParityError::Stopped)));
        let other = Member {
            sha256: [9; 32],
            ..m1.clone()
        };
        let e = acc.fold(1, &other, &mut Cursor::new(&b1)).unwrap_err();
        assert!(matches!(e, SetParityError::Accumulator { .. }), "{e}");
    }

    #[test]
    fn a_sector_neither_before_nor_after_stops_the_resume() {
        let (m, b) = member(0, 8);
        let dir = tempfile::tempdir().unwrap();
        let mut acc = Accumulator::open(dir.path(), 2, 2, 1).unwrap();
        let stopped = acc.fold_stopping(0, &m, &mut Cursor::new(&b), 4, &mut |p| {
            p == FoldPoint::RangeWritten
        });
        assert!(matches!(stopped, Err(SetParityError::Stopped)));
        let path = acc.path().to_owned();
        drop(acc);
        let mut bytes = fs::read(&path).unwrap();
        bytes[5] ^= 0xFF;
        fs::write(&path, bytes).unwrap();
        let mut acc = Accumulator::open(dir.path(), 2, 2, 1).unwrap();
        let e = acc.fold(0, &m, &mut Cursor::new(&b)).unwrap_err();
        assert!(matches!(e, SetParityError::Accumulator { .. }), "{e}");
    }

    #[test]
    fn a_change_tells_before_from_after_even_when_their_crcs_agree() {
        let old = vec![1u8; SHARD_BYTES];
        let mut new = old.clone();
        new[7] = 9;
        let mut c = SectorChange::of(&old, &new);
        assert_eq!(c.applied(&old), Some(false));
        assert_eq!(c.applied(&new), Some(true));
        // As if the two CRCs were equal: the byte still tells them apart.
        c.new_crc = c.old_crc;
        assert_eq!(c.applied(&old), Some(false));
        let mut torn = new.clone();
        torn[100] = 3;
        assert_eq!(SectorChange::of(&old, &new).applied(&torn), None);
    }
}
