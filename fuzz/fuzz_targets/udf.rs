//! The UDF reader on any image (in the compact form, see `odarchive_fuzz::compact`): open,
//! walk every directory, read every file, look paths up.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    odarchive_fuzz::readers::exercise_udf(&odarchive_fuzz::expand(data));
});
