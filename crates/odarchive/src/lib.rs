//! odarchive library.
