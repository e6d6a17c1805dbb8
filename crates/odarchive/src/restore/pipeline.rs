//! Reading a disc and writing its files on two threads: this one reads the image (in disc
//! order, through one open source) and hashes every byte; a writer thread writes the files
//! (sparsely, under their temporary names) and renames each into place only once this side
//! has said its bytes are whole and match their hash.
//!
//! The bytes go over in batches (reused buffers of [`BATCH_BYTES`], a bounded number of them
//! in flight), each holding the bytes and the steps of many small files or a piece of a large
//! one, so that there is one hand-off per batch, not per file. The writer answers each file
//! once, with what restoring it achieved ([`Outcome`] or [`Failure`]); the caller records
//! that in the restore set as it comes back ([`Pipeline::finished`], [`Pipeline::wait_all`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use super::RebuiltFromParity;
use super::files::{Destination, Failure, Outcome, STAGING, failure, temp_name};
use super::sparse::SparseFile;
use crate::atomic::TempPath;
use crate::catalogue::{Entry, Placement};
use crate::hash::ContentHasher;
use crate::problem::{Problem, ProblemKind};
use crate::reader::{DiscSource, Expected, FileRebuilt};

/// A batch is sent when it holds this many bytes…
const BATCH_BYTES: usize = 1 << 20;
/// …or this many files' steps.
const BATCH_STEPS: usize = 512;
/// Batches in existence (in flight, being written, or being filled): the memory bound.
const BATCHES: usize = 4;

/// A file to restore: the content, the entry it goes to, and the placement it is read from.
pub(super) struct Job {
    pub(super) entry: Entry,
    pub(super) placement: Placement,
}

/// What restoring one content achieved, by content id, and whether the disc's parity gave
/// its bytes.
pub(super) type Finished = (i64, Result<Outcome, Failure>, Option<RebuiltFromParity>);

/// One step of the writer's work; the bytes of `Bytes` steps are the batch's, in order.
enum Step {
    Begin(Box<Job>),
    Bytes(usize),
    /// The bytes sent so far are wrong: the file begins again (its bytes rebuilt from the
    /// disc's parity follow).
    Restart,
    /// The file's bytes are all sent; `None` when they are whole and match their hash, else
    /// what is wrong with them on this disc; and what the parity rebuilt of them, if it did.
    End(Option<Problem>, Option<FileRebuilt>),
}

#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    steps: Vec<Step>,
}

/// The reading side's end of the pipeline.
pub(super) struct Pipeline<'scope> {
    to_writer: Option<SyncSender<Batch>>,
    free: Receiver<Batch>,
    results: Receiver<Finished>,
    writer: Option<ScopedJoinHandle<'scope, ()>>,
    batch: Batch,
    /// Batches made so far (at most [`BATCHES`]).
    made: usize,
    /// Files begun whose outcome has not come back yet.
    in_flight: usize,
    /// Set to stop: the file being read is cut short (and not placed).
    cancel: &'scope AtomicBool,
}

impl<'scope> Pipeline<'scope> {
    /// Starts the writer thread in `scope`, writing into `dest`.
    pub(super) fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        dest: &'env Destination,
        cancel: &'env AtomicBool,
    ) -> Pipeline<'scope> {
        let (to_writer, batches) = sync_channel::<Batch>(BATCHES);
        let (give_back, free) = sync_channel::<Batch>(BATCHES);
        let (report, results) = channel();
        let writer = scope.spawn(move || write_batches(dest, &batches, &give_back, &report));
        Pipeline {
            to_writer: Some(to_writer),
            free,
            results,
            writer: Some(writer),
            batch: Batch::default(),
            made: 1,
            in_flight: 0,
            cancel,
        }
    }

    /// Reads the file of `job` from `source` through `buf` and hands it to the writer with
    /// the verdict on its bytes: length and hash (of `expected.algorithm`) as expected. When
    /// they are not and the disc is an image with parity, the file's sectors (`extent`, the
    /// catalogue's (first sector, length), when it has it) are rebuilt from it and sent
    /// instead, with the verdict on those. `disc_problem` names the file in a problem of
    /// this disc's copy.
    pub(super) fn send_file(
        &mut self,
        source: &mut DiscSource,
        job: Job,
        expected: Expected,
        disc_problem: impl Fn(ProblemKind, String) -> Problem,
        extent: impl FnOnce() -> Option<(u64, u64)>,
        buf: &mut [u8],
    ) {
        let p = &job.placement;
        let (disc_path, iso_path) = (p.disc_path.clone(), p.iso_path.clone());
        let disc = p.disc;
        self.push(Step::Begin(Box::new(job)));
        let mut sink = Sink::new(self, expected);
        let read = source.copy_file(&disc_path, Some(&iso_path), Some(expected), &mut sink, buf);
        let verdict = match (read, sink.check(expected)) {
            (Err(e), _) => Some(disc_problem(Problem::from(&e).kind, e.to_string())),
            (Ok(_), Err(len)) => Some(disc_problem(
                ProblemKind::Corrupt,
                format!(
                    "corrupt on disc {disc} ({len} bytes read, {} does not match); not restored",
                    expected.algorithm.display_name()
                ),
            )),
            (Ok(_), Ok(())) => None,
        };
        let end = match verdict {
            None => Step::End(None, None),
            // Cut short: no parity is read for it, and it is not placed.
            Some(problem) if self.cancel.load(Ordering::Relaxed) => Step::End(Some(problem), None),
            // Only when the disc gave the file wrong: no cost otherwise.
            Some(problem) => match source.parity_read(&disc_path, Some(&iso_path), extent()) {
                None => Step::End(Some(problem), None),
                Some(read) => {
                    self.push(Step::Restart);
                    let mut sink = Sink::new(self, expected);
                    let rebuilt = source.rebuild_file(&disc_path, &read, &mut sink);
                    match (rebuilt, sink.check(expected)) {
                        (Ok(r), Ok(())) => Step::End(None, Some(r)),
                        (Ok(r), Err(_)) => Step::End(Some(not_rebuilt(problem, &r)), None),
                        (Err(e), _) => {
                            let detail = format!("{}; and {e}", problem.detail);
                            Step::End(Some(Problem { detail, ..problem }), None)
                        }
                    }
                }
            },
        };
        self.push(end);
        self.in_flight += 1;
    }

    /// The outcomes come back so far, without waiting.
    pub(super) fn finished(&mut self) -> Vec<Finished> {
        let done: Vec<Finished> = self.results.try_iter().collect();
        self.in_flight -= done.len();
        done
    }

    /// Sends what is gathered and waits for the outcome of every file sent.
    pub(super) fn wait_all(&mut self) -> Vec<Finished> {
        self.send_batch();
        let mut done = Vec::new();
        while self.in_flight > 0 {
            match self.results.recv() {
                Ok(one) => {
                    // After a full destination the writer answers nothing more.
                    let fatal = matches!(one.1, Err(Failure::Fatal(_)));
                    done.push(one);
                    self.in_flight -= 1;
                    if fatal {
                        break;
                    }
                }
                // The writer is gone (it panicked): joining it passes the panic on.
                Err(_) => {
                    self.stop();
                    break;
                }
            }
        }
        done
    }

    fn push(&mut self, step: Step) {
        self.batch.steps.push(step);
        if self.batch.steps.len() >= BATCH_STEPS {
            self.send_batch();
        }
    }

    fn push_bytes(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = BATCH_BYTES.saturating_sub(self.batch.data.len()).max(1);
            let (now, rest) = data.split_at(room.min(data.len()));
            self.batch.data.extend_from_slice(now);
            match self.batch.steps.last_mut() {
                Some(Step::Bytes(n)) => *n += now.len(),
                _ => self.batch.steps.push(Step::Bytes(now.len())),
            }
            if self.batch.data.len() >= BATCH_BYTES {
                self.send_batch();
            }
            data = rest;
        }
    }

    /// Sends the batch being filled (if it holds anything) and takes an empty one: a new one
    /// while fewer than [`BATCHES`] exist, else the next the writer gives back.
    fn send_batch(&mut self) {
        if self.batch.steps.is_empty() {
            return;
        }
        let next = if self.made < BATCHES {
            self.made += 1;
            Some(Batch::default())
        } else {
            None
        };
        let full = std::mem::take(&mut self.batch);
        let sent = self
            .to_writer
            .as_ref()
            .is_some_and(|w| w.send(full).is_ok());
        self.batch = match next {
            Some(b) => b,
            None if sent => self.free.recv().unwrap_or_default(),
            None => Batch::default(),
        };
        if !sent {
            self.stop();
        }
    }

    /// Closes the writer's input and joins it, passing on a panic.
    fn stop(&mut self) {
        self.to_writer = None;
        if let Some(writer) = self.writer.take() {
            if let Err(panic) = writer.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}

impl Drop for Pipeline<'_> {
    fn drop(&mut self) {
        // Files sent whole are finished (each file's steps are sent together, so none is
        // cut short); the writer ends when its input closes and the scope joins it.
        let rest = std::mem::take(&mut self.batch);
        if let (false, Some(w)) = (rest.steps.is_empty(), &self.to_writer) {
            let _ = w.send(rest);
        }
        self.to_writer = None;
    }
}

/// `problem` (a file the disc gave wrong) with why its parity could not rebuild it either.
fn not_rebuilt(problem: Problem, r: &FileRebuilt) -> Problem {
    let detail = format!(
        "{}; the disc's parity could not rebuild it either ({} of its {} sectors lost, {} \
         unverified)",
        problem.detail, r.lost, r.sectors, r.unverified
    );
    Problem { detail, ..problem }
}

/// What the disc's reader writes into: the pipeline's batches, hashed on the way.
struct Sink<'p, 's> {
    pipe: &'p mut Pipeline<'s>,
    hasher: ContentHasher,
    len: u64,
}

impl<'p, 's> Sink<'p, 's> {
    fn new(pipe: &'p mut Pipeline<'s>, expected: Expected) -> Self {
        Sink {
            pipe,
            hasher: expected.algorithm.hasher(),
            len: 0,
        }
    }

    /// Whether the bytes written are `expected`'s; the length written when not.
    fn check(self, expected: Expected) -> Result<(), u64> {
        let (hash, len) = (self.hasher.finish(), self.len);
        if len == expected.length && hash == expected.hash {
            Ok(())
        } else {
            Err(len)
        }
    }
}

impl Write for Sink<'_, '_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.pipe.cancel.load(Ordering::Relaxed) {
            // Not `Interrupted`, which `write_all` would retry.
            return Err(io::Error::other("the restore was cancelled"));
        }
        self.hasher.update(data);
        self.len += data.len() as u64;
        self.pipe.push_bytes(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The writer thread: carries out the steps of each batch, answers each file once, gives the
/// batch back. After a full destination it answers nothing more (the restore stops).
fn write_batches(
    dest: &Destination,
    batches: &Receiver<Batch>,
    give_back: &SyncSender<Batch>,
    report: &Sender<Finished>,
) {
    let mut open: Option<OpenFile> = None;
    let mut stopped = false;
    for mut batch in batches {
        let mut at = 0;
        for step in batch.steps.drain(..) {
            match step {
                Step::Begin(job) => open = (!stopped).then(|| OpenFile::begin(dest, *job)),
                Step::Bytes(n) => {
                    if let Some(file) = open.as_mut() {
                        file.write(&batch.data[at..at + n]);
                    }
                    at += n;
                }
                Step::Restart => {
                    if let Some(file) = open.as_mut() {
                        file.restart(dest);
                    }
                }
                Step::End(verdict, rebuilt) => {
                    let Some(file) = open.take() else { continue };
                    let content = file.job.placement.content_id;
                    let note = rebuilt.map(|r| RebuiltFromParity {
                        path: file.final_path.clone(),
                        disc: file.job.placement.disc,
                        sectors: r.sectors,
                        sectors_rebuilt: r.rebuilt,
                    });
                    let outcome = file.finish(dest, verdict);
                    stopped = matches!(outcome, Err(Failure::Fatal(_)));
                    if report.send((content, outcome, note)).is_err() {
                        return;
                    }
                }
            }
        }
        batch.data.clear();
        if give_back.send(batch).is_err() {
            return;
        }
    }
}

/// A file the writer has open.
struct OpenFile {
    job: Job,
    final_path: PathBuf,
    target: Result<Target, Failure>,
}

/// Where a file's bytes go: a fresh temporary file (removed unless renamed into place), or
/// the staging file of a split content (left alone when this part is wrong).
struct Target {
    sink: SparseFile,
    temp: Option<TempPath>,
    path: PathBuf,
}

impl OpenFile {
    fn begin(dest: &Destination, job: Job) -> OpenFile {
        let final_path = dest.path(&job.entry.path);
        let target = dest
            .parent_of(&final_path)
            .and_then(|()| Target::open(dest, &job.placement, &final_path));
        OpenFile {
            job,
            final_path,
            target,
        }
    }

    /// Begins the file again: a fresh temporary file, or this part's bytes written over in
    /// its staging file.
    fn restart(&mut self, dest: &Destination) {
        let begun_again = Problem::new(&self.final_path, ProblemKind::Unwritable, "begun again");
        // The old temporary file is removed before the new one is made under its name.
        drop(std::mem::replace(
            &mut self.target,
            Err(Failure::Problem(begun_again)),
        ));
        self.target = dest
            .parent_of(&self.final_path)
            .and_then(|()| Target::open(dest, &self.job.placement, &self.final_path));
    }

    fn write(&mut self, data: &[u8]) {
        if let Ok(t) = &mut self.target {
            if let Err(e) = t.sink.write_all(data) {
                self.target = Err(failure(&t.path, e));
            }
        }
    }

    /// Closes the file and, when `verdict` says its bytes are right, puts it in place.
    fn finish(self, dest: &Destination, verdict: Option<Problem>) -> Result<Outcome, Failure> {
        let Target { sink, temp, path } = self.target?;
        let file = sink.finish().map_err(|e| failure(&path, e))?;
        if let Some(problem) = verdict {
            return Err(Failure::Disc(problem));
        }
        let (entry, p) = (&self.job.entry, &self.job.placement);
        match temp {
            Some(temp) => {
                let placed = dest
                    .attributes()
                    .apply_to_open(&file, entry)
                    .and_then(|()| temp.persist_unsynced());
                placed.map_err(|e| failure(&self.final_path, e))?;
                Ok(Outcome::Complete(p.length))
            }
            None => {
                drop(file);
                dest.part_stored(entry, p, &path, &self.final_path)
            }
        }
    }
}

impl Target {
    /// Opens where the bytes of `p` go: the temporary name beside `final_path`, or for a part
    /// of a split content its staging file (written at the part's offset).
    fn open(
        dest: &Destination,
        p: &Placement,
        final_path: &std::path::Path,
    ) -> Result<Target, Failure> {
        if p.parts > 1 {
            let staging = dest.path(STAGING.as_bytes());
            fs::create_dir_all(&staging).map_err(|e| failure(&staging, e))?;
            let path = staging.join(format!("{}.data", p.content_hash));
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .and_then(|f| SparseFile::new(f, p.offset));
            let sink = file.map_err(|e| failure(&path, e))?;
            return Ok(Target {
                sink,
                temp: None,
                path,
            });
        }
        let temp = TempPath::named(temp_name(final_path), final_path);
        let path = temp.path().to_owned();
        let sink = File::create(&path)
            .map(|f| SparseFile::created(f, p.length))
            .map_err(|e| failure(&path, e))?;
        Ok(Target {
            sink,
            temp: Some(temp),
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashAlgorithm;

    /// The job restoring `name` (read from `Data/<name>` of a mounted disc) to `name`.
    fn job(id: i64, name: &str, bytes: &[u8]) -> (Job, Expected) {
        let algorithm = HashAlgorithm::Sha256;
        let hash = algorithm.digest(bytes);
        let entry = Entry {
            mtime_ns: 1_000_000_000,
            mode: 0o640,
            ..crate::fixtures::file_entry(id, name.as_bytes(), bytes.len() as u64, Some(hash))
        };
        let placement = Placement {
            content_id: id,
            content_hash: hash,
            content_size: bytes.len() as u64,
            disc: 1,
            part: 0,
            parts: 1,
            offset: 0,
            length: bytes.len() as u64,
            part_hash: None,
            entry_path: entry.path.clone(),
            name_path: format!("Data/{name}"),
            disc_path: format!("Data/{name}"),
            iso_path: format!("DATA/{name}"),
        };
        let expected = Expected::of(&placement, algorithm);
        (Job { entry, placement }, expected)
    }

    #[test]
    fn files_of_every_size_come_through_in_batches_and_a_wrong_one_is_not_placed() {
        let disc = tempfile::tempdir().unwrap();
        let dest_dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(disc.path().join("Data")).unwrap();
        // Sizes around the batch's bounds, many small files (more steps than a batch takes),
        // and one whose bytes on the disc are not what the catalogue says.
        let mut sizes = vec![
            0,
            1,
            BATCH_BYTES - 1,
            BATCH_BYTES,
            BATCH_BYTES + 1,
            3 * BATCH_BYTES,
        ];
        sizes.extend((0..2 * BATCH_STEPS).map(|i| i % 5000));
        let files: Vec<(String, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let bytes = (0..n).map(|k| (k * 7 + i) as u8).collect::<Vec<u8>>();
                (format!("f{i}"), bytes)
            })
            .collect();
        for (name, bytes) in &files {
            std::fs::write(disc.path().join("Data").join(name), bytes).unwrap();
        }
        let corrupt = 3;
        let mut source = DiscSource::open(disc.path()).unwrap();
        let dest = Destination::new(dest_dir.path(), false, HashAlgorithm::Sha256, false);
        let mut buf = vec![0u8; 100_000];
        let mut outcomes = Vec::new();
        let cancel = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let mut pipe = Pipeline::start(scope, &dest, &cancel);
            for (i, (name, bytes)) in files.iter().enumerate() {
                let (job, mut expected) = job(i as i64, name, bytes);
                if i == corrupt {
                    expected.hash = HashAlgorithm::Sha256.digest(b"something else");
                }
                let problem = |kind, detail: String| Problem::new(name, kind, detail);
                pipe.send_file(&mut source, job, expected, problem, || None, &mut buf);
                outcomes.extend(pipe.finished());
            }
            outcomes.extend(pipe.wait_all());
        });
        assert_eq!(outcomes.len(), files.len(), "one answer per file");
        for (content, outcome, rebuilt) in outcomes {
            assert!(rebuilt.is_none(), "a mounted disc has no parity");
            let (name, bytes) = &files[content as usize];
            let path = dest_dir.path().join(name);
            match outcome {
                Ok(Outcome::Complete(n)) if content != corrupt as i64 => {
                    assert_eq!(n, bytes.len() as u64);
                    assert!(std::fs::read(&path).unwrap() == *bytes, "{name}");
                    let mode = std::fs::metadata(&path).unwrap().permissions();
                    assert_eq!(
                        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o7777,
                        0o640
                    );
                }
                Err(Failure::Disc(p)) if content == corrupt as i64 => {
                    assert_eq!(p.kind, ProblemKind::Corrupt, "{p}");
                    assert!(!path.exists(), "a wrong file is not placed");
                }
                _ => panic!("{name}: unexpected outcome"),
            }
        }
        let left: Vec<_> = std::fs::read_dir(dest_dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }

    #[test]
    fn a_cancel_cuts_a_file_short_and_leaves_nothing_of_it() {
        let disc = tempfile::tempdir().unwrap();
        let dest_dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(disc.path().join("Data")).unwrap();
        let bytes: Vec<u8> = (0..3 * BATCH_BYTES).map(|k| (k % 251) as u8).collect();
        std::fs::write(disc.path().join("Data/big"), &bytes).unwrap();
        let mut source = DiscSource::open(disc.path()).unwrap();
        let dest = Destination::new(dest_dir.path(), false, HashAlgorithm::Sha256, false);
        let mut buf = vec![0u8; 100_000];
        // Set while the file is read (before its first piece arrives): the copy stops there.
        let cancel = AtomicBool::new(true);
        let mut outcomes = Vec::new();
        std::thread::scope(|scope| {
            let mut pipe = Pipeline::start(scope, &dest, &cancel);
            let (job, expected) = job(0, "big", &bytes);
            let problem = |kind, detail: String| Problem::new("big", kind, detail);
            pipe.send_file(&mut source, job, expected, problem, || None, &mut buf);
            outcomes.extend(pipe.wait_all());
        });
        assert_eq!(outcomes.len(), 1);
        match &outcomes[0].1 {
            Err(Failure::Disc(p)) => assert!(p.detail.contains("cancelled"), "{p}"),
            _ => panic!("a file cut short is not restored"),
        }
        let left: Vec<_> = std::fs::read_dir(dest_dir.path()).unwrap().collect();
        assert!(left.is_empty(), "nothing of it is left: {left:?}");
    }
}
