//! UDF 1.02 + ISO 9660 bridge disc images.
