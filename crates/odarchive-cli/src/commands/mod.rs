//! One module per command: parse, call the library, print.

pub mod archive;
pub mod discs;
pub mod info;
pub mod locate;
pub mod plan;
pub mod restore;
pub mod scan;
pub mod status;
pub mod verify;
pub mod write;
