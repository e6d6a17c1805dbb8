//! UDF 1.02 (ECMA-167 3rd edition as profiled by OSTA UDF 1.02): the primary view of the
//! image. One module per on-disc structure; [`plan`] works out names and sizes, the crate's
//! layout places them, and [`read`] reads any UDF 1.02–2.01 image with one type 1 partition.

pub mod anchor;
pub mod crc;
pub mod cs0;
pub mod entry;
pub mod fid;
pub mod fields;
pub mod fileset;
pub mod integrity;
pub mod names;
pub mod plan;
pub mod read;
pub mod tag;
pub mod volume;
pub mod vrs;
