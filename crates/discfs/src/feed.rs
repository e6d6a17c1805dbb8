//! Bytes handed in runs to a thread of their own: what a writer costs its caller is a copy,
//! not the work done on the bytes (the parity encoding of an image, the hash of an image).
//!
//! A [`Feed`] fills a run of [`RUN`] bytes, hands it to its worker thread and takes an
//! emptied one back; at most [`BUFFERS`] runs exist, so memory stays bounded and a slow
//! worker slows the writer down instead of piling runs up. The worker is a state and a step
//! `(&mut state, run) -> Result<(), E>`; [`Feed::finish`] gives back the state once every
//! byte has been through the step.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

/// Bytes handed to the worker at a time.
pub const RUN: usize = 1 << 20;
/// Runs a feed cycles through: one filling, the others with the worker.
pub const BUFFERS: usize = 4;

/// Why a feed's worker took no more runs.
#[derive(Debug)]
pub enum Stopped<E> {
    /// Its step failed with this error.
    Failed(E),
    /// It ended without an error of its own (it panicked).
    Ended,
}

/// Waits for the worker's end: its state or its error; `None` if it panicked.
type Join<'a, S, E> = Box<dyn FnOnce() -> Option<Result<S, E>> + 'a>;

/// Runs of bytes on their way to a worker thread; see the [module](self).
pub struct Feed<'a, S, E> {
    /// The run being filled.
    run: Vec<u8>,
    /// Runs to the worker; emptied ones come back.
    to_worker: Option<SyncSender<Vec<u8>>>,
    emptied: Receiver<Vec<u8>>,
    /// Runs made so far (at most [`BUFFERS`]).
    made: usize,
    join: Option<Join<'a, S, E>>,
}

/// The worker's loop: every run through `step`, then emptied and given back.
fn work<S, E>(
    mut state: S,
    mut step: impl FnMut(&mut S, &[u8]) -> Result<(), E>,
    runs: Receiver<Vec<u8>>,
    give_back: SyncSender<Vec<u8>>,
) -> Result<S, E> {
    for mut run in runs {
        step(&mut state, &run)?;
        run.clear();
        // The writer may have stopped on an error: nothing to give back to.
        let _ = give_back.send(run);
    }
    Ok(state)
}

impl<S: Send + 'static, E: Send + 'static> Feed<'static, S, E> {
    /// A feed whose worker, on a new thread, puts every run through `step` on `state`.
    pub fn spawn(
        state: S,
        step: impl FnMut(&mut S, &[u8]) -> Result<(), E> + Send + 'static,
    ) -> Feed<'static, S, E> {
        let (to_worker, runs) = sync_channel::<Vec<u8>>(BUFFERS);
        let (give_back, emptied) = sync_channel::<Vec<u8>>(BUFFERS);
        let thread = std::thread::spawn(move || work(state, step, runs, give_back));
        Feed::new(to_worker, emptied, Box::new(move || thread.join().ok()))
    }
}

impl<'a, S: Send + 'a, E: Send + 'a> Feed<'a, S, E> {
    /// A feed whose worker runs on a thread of `scope` (so `state` may borrow).
    pub fn spawn_scoped<'env>(
        scope: &'a Scope<'a, 'env>,
        state: S,
        step: impl FnMut(&mut S, &[u8]) -> Result<(), E> + Send + 'a,
    ) -> Feed<'a, S, E> {
        let (to_worker, runs) = sync_channel::<Vec<u8>>(BUFFERS);
        let (give_back, emptied) = sync_channel::<Vec<u8>>(BUFFERS);
        let thread = scope.spawn(move || work(state, step, runs, give_back));
        Feed::new(to_worker, emptied, Box::new(move || thread.join().ok()))
    }

    fn new(
        to_worker: SyncSender<Vec<u8>>,
        emptied: Receiver<Vec<u8>>,
        join: Join<'a, S, E>,
    ) -> Feed<'a, S, E> {
        Feed {
            run: Vec::with_capacity(RUN),
            to_worker: Some(to_worker),
            emptied,
            made: 1,
            join: Some(join),
        }
    }
}

impl<S, E> Feed<'_, S, E> {
    /// Takes as much of `bytes` as the run being filled has room for; returns how much.
    pub fn fill(&mut self, bytes: &[u8]) -> usize {
        let take = bytes.len().min(RUN - self.run.len());
        self.run.extend_from_slice(&bytes[..take]);
        take
    }

    /// Whether the run being filled is full (time for [`Feed::hand_off`]).
    pub fn is_full(&self) -> bool {
        self.run.len() == RUN
    }

    /// The bytes of the run being filled, not handed off yet.
    pub fn pending(&self) -> &[u8] {
        &self.run
    }

    /// Takes all of `bytes`, handing off every run it fills.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<(), Stopped<E>> {
        while !bytes.is_empty() {
            let take = self.fill(bytes);
            bytes = &bytes[take..];
            if self.is_full() {
                self.hand_off()?;
            }
        }
        Ok(())
    }

    /// Hands the run filled so far (if any) to the worker.
    pub fn hand_off(&mut self) -> Result<(), Stopped<E>> {
        if self.run.is_empty() {
            return Ok(());
        }
        let next = match self.emptied.try_recv() {
            Ok(buf) => buf,
            Err(_) if self.made < BUFFERS => {
                self.made += 1;
                Vec::with_capacity(RUN)
            }
            Err(_) => match self.emptied.recv() {
                Ok(buf) => buf,
                Err(_) => return Err(self.stopped()),
            },
        };
        let run = std::mem::replace(&mut self.run, next);
        let sent = self
            .to_worker
            .as_ref()
            .is_some_and(|tx| tx.send(run).is_ok());
        if sent { Ok(()) } else { Err(self.stopped()) }
    }

    /// Why the worker stopped taking runs.
    fn stopped(&mut self) -> Stopped<E> {
        drop(self.to_worker.take());
        match self.join.take().and_then(|join| join()) {
            Some(Err(e)) => Stopped::Failed(e),
            _ => Stopped::Ended,
        }
    }

    /// Hands off what is left and waits for the worker: its state, every byte given through
    /// its step.
    pub fn finish(mut self) -> Result<S, Stopped<E>> {
        self.hand_off()?;
        drop(self.to_worker.take());
        match self.join.take().and_then(|join| join()) {
            Some(Ok(state)) => Ok(state),
            Some(Err(e)) => Err(Stopped::Failed(e)),
            None => Err(Stopped::Ended),
        }
    }
}

impl<S, E> std::fmt::Debug for Feed<'_, S, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("pending", &self.run.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_reaches_the_worker_in_order_across_runs() {
        let bytes: Vec<u8> = (0..3 * RUN + 17).map(|i| (i % 251) as u8).collect();
        let mut feed = Feed::spawn(Vec::new(), |seen: &mut Vec<u8>, run: &[u8]| {
            seen.extend_from_slice(run);
            Ok::<(), ()>(())
        });
        for piece in bytes.chunks(RUN / 3 + 5) {
            feed.push(piece).unwrap();
        }
        assert_eq!(feed.finish().unwrap(), bytes);
    }

    #[test]
    fn a_failing_step_stops_the_feed_with_its_error() {
        std::thread::scope(|scope| {
            let mut feed = Feed::spawn_scoped(scope, 0usize, |runs: &mut usize, _: &[u8]| {
                *runs += 1;
                if *runs == 2 {
                    Err("second run")
                } else {
                    Ok(())
                }
            });
            let mut result = Ok(());
            for _ in 0..4 * BUFFERS {
                result = feed.push(&vec![1; RUN]);
                if result.is_err() {
                    break;
                }
            }
            let result = result.and_then(|()| feed.finish().map(|_| ()));
            assert!(
                matches!(result, Err(Stopped::Failed("second run"))),
                "{result:?}"
            );
        });
    }
}
