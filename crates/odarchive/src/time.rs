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

/// `YYYY-MM-DD HH:MM:SS` in UTC, for display.
pub fn format_ns(ns: i64) -> String {
    let c = discfs::Timestamp::from_unix_nanos(ns).to_civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
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

    #[test]
    fn format_ns_is_utc() {
        assert_eq!(format_ns(0), "1970-01-01 00:00:00");
        assert_eq!(format_ns(951_827_696_000_000_000), "2000-02-29 12:34:56");
    }
}
