//! Integration tests of the `odarchive` binary, all in one test binary. Every tree is made by
//! the tests in a temporary directory.

mod archive;
mod catalogue;
mod history;
mod json;
mod merge;
mod problems;
mod rescan;
mod restore;
mod resume;
mod scan;
mod scan_write_faults;
mod support;
