//! Batching between the pipeline's threads. One channel operation per item would cost a
//! thread wake-up per small file; batches of a few dozen files (or a few MiB) keep the hash
//! workers balanced while making the hand-over cost negligible.

use crossbeam_channel::Sender;

use super::{Found, Record};

/// Files per batch sent to a hash worker.
const MAX_FILES: usize = 32;
/// Bytes per batch sent to a hash worker: a big file travels alone.
const MAX_FILE_BYTES: u64 = 4 << 20;
/// Records per batch sent to the writer.
const MAX_RECORDS: usize = 256;

/// The walker's outgoing batches.
#[derive(Debug)]
pub(crate) struct Outbox<'a> {
    to_hash: &'a Sender<Vec<Found>>,
    to_writer: &'a Sender<Vec<Record>>,
    files: Vec<Found>,
    file_bytes: u64,
    records: Vec<Record>,
    max_files: usize,
    max_records: usize,
}

impl<'a> Outbox<'a> {
    /// An outbox; `unbatched` sends every item on its own (for tests that pace the scan).
    pub(crate) fn new(
        to_hash: &'a Sender<Vec<Found>>,
        to_writer: &'a Sender<Vec<Record>>,
        unbatched: bool,
    ) -> Outbox<'a> {
        let (max_files, max_records) = if unbatched {
            (1, 1)
        } else {
            (MAX_FILES, MAX_RECORDS)
        };
        Outbox {
            to_hash,
            to_writer,
            files: Vec::with_capacity(max_files),
            file_bytes: 0,
            records: Vec::with_capacity(max_records),
            max_files,
            max_records,
        }
    }

    /// Queues a file for hashing. `false` when the pipeline has shut down.
    pub(crate) fn hash(&mut self, found: Found) -> bool {
        self.file_bytes += found.stat.size;
        self.files.push(found);
        if self.files.len() >= self.max_files || self.file_bytes >= MAX_FILE_BYTES {
            return self.flush_files();
        }
        true
    }

    /// Queues a record for the writer. `false` when the pipeline has shut down.
    pub(crate) fn record(&mut self, record: Record) -> bool {
        self.records.push(record);
        if self.records.len() >= self.max_records {
            return self.flush_records();
        }
        true
    }

    /// Sends what is queued. `false` when the pipeline has shut down.
    pub(crate) fn flush(&mut self) -> bool {
        let files = self.flush_files();
        files && self.flush_records()
    }

    fn flush_files(&mut self) -> bool {
        self.file_bytes = 0;
        if self.files.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.files, Vec::with_capacity(self.max_files));
        self.to_hash.send(batch).is_ok()
    }

    fn flush_records(&mut self) -> bool {
        if self.records.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.records, Vec::with_capacity(self.max_records));
        self.to_writer.send(batch).is_ok()
    }
}
