//! One module per command: parse, call the library, print.

pub mod info;
pub mod scan;
pub mod status;
