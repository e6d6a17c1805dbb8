//! Disc identification on any image (in the compact form, see `odarchive_fuzz::compact`):
//! what odarchive does with an image it is given (open, label, catalogue, files, identify,
//! verify), against the catalogue named by ODARCHIVE_FUZZ_ARCHIVE.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use odarchive_fuzz::disc::DiscBench;

thread_local! {
    static BENCH: RefCell<DiscBench> = RefCell::new(DiscBench::new());
}

fuzz_target!(|data: &[u8]| {
    let image = odarchive_fuzz::expand(data);
    BENCH.with(|bench| bench.borrow_mut().exercise(&image));
});
