//! Integration tests of the `odarchive` binary, all in one test binary. Every tree is made by
//! the tests in a temporary directory.

mod archive;
mod burn;
mod catalogue;
mod disc_index;
mod dry_run;
mod history;
mod image_folders;
mod json;
mod legacy_discs;
mod merge;
mod mount;
mod parity;
mod problems;
mod reader_faults;
mod repair;
mod rescan;
mod restore;
mod restore_faults;
mod restore_parity;
mod resume;
mod scan;
mod scan_write_faults;
mod serve;
mod set_parity;
mod support;
