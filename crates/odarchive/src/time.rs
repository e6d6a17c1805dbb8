//! Wall-clock time as stored in the catalogue: signed nanoseconds since the Unix epoch.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in nanoseconds since the Unix epoch.
pub fn now_ns() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// Modification time of `meta` in nanoseconds since the Unix epoch (negative before 1970).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    meta.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.mtime_nsec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mtime_keeps_nanoseconds_and_sign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = std::fs::File::create(&path).unwrap();
        let before_epoch = UNIX_EPOCH - std::time::Duration::new(100, 250);
        file.set_modified(before_epoch).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(mtime_ns(&meta), -100_000_000_250);
    }
}
