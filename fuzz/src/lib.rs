//! What the fuzz targets share: the compact form of an image that libFuzzer mutates, a
//! bounded output for file data, the walks that read every directory and file of each view,
//! and the small images and archive the seed corpora come from.
//!
//! A target must never panic, hang or allocate without bound on any input: the readers are
//! given hostile images, and every problem must come back as an error. Single allocations
//! above a limit abort (see [`allocation`]).

pub mod allocation;
pub mod compact;
pub mod disc;
pub mod readers;
pub mod samples;
pub mod sink;

pub use compact::{compact, expand};

#[global_allocator]
static ALLOCATOR: allocation::LimitedAllocator = allocation::LimitedAllocator;
