//! The ISO 9660 reader on any image (in the compact form, see `odarchive_fuzz::compact`):
//! open, visit every directory reading every file, path tables, lookups.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    odarchive_fuzz::readers::exercise_iso(&odarchive_fuzz::expand(data));
});
