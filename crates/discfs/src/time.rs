//! Instants in UTC and their civil (calendar) form, shared by the ISO 9660 and UDF encoders.
//!
//! Both formats store broken-down dates (year, month, day, ...), so every mtime passes through
//! [`Timestamp::to_civil`]. The conversion is the proleptic Gregorian calendar on days since the
//! Unix epoch (H. Hinnant's `civil_from_days`), exact for any `i64` second count we can meet.

/// A point in time: seconds and nanoseconds since 1970-01-01T00:00:00 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// A timestamp broken down into calendar fields, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Full year, e.g. 2026.
    pub year: i64,
    /// 1..=12
    pub month: u8,
    /// 1..=31
    pub day: u8,
    /// 0..=23
    pub hour: u8,
    /// 0..=59
    pub minute: u8,
    /// 0..=59
    pub second: u8,
    /// 0..1_000_000_000
    pub nanos: u32,
}

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// A timestamp from seconds and nanoseconds since the epoch; `nanos` beyond a second carry.
    pub fn new(secs: i64, nanos: u32) -> Self {
        let carry = i64::from(nanos / 1_000_000_000);
        Timestamp {
            secs: secs.saturating_add(carry),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// A timestamp from signed nanoseconds since the epoch (the catalogue's form).
    pub fn from_unix_nanos(ns: i64) -> Self {
        Timestamp {
            secs: ns.div_euclid(1_000_000_000),
            nanos: ns.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// Signed nanoseconds since the epoch, saturating outside ±292 years.
    pub fn unix_nanos(self) -> i64 {
        self.secs
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(self.nanos))
    }

    /// Whole seconds since the epoch (floor).
    pub fn secs(self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Calendar fields in UTC.
    pub fn to_civil(self) -> Civil {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u8,
            minute: (rem % 3600 / 60) as u8,
            second: (rem % 60) as u8,
            nanos: self.nanos,
        }
    }

    /// The instant that calendar fields name, in UTC. Fields out of range are not checked
    /// here; parsers validate them first.
    pub fn from_civil(c: Civil) -> Self {
        let days = days_from_civil(c.year, c.month, c.day);
        let secs = days * 86_400
            + i64::from(c.hour) * 3600
            + i64::from(c.minute) * 60
            + i64::from(c.second);
        Timestamp::new(secs, c.nanos)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_is_1970_01_01() {
        let c = Timestamp::EPOCH.to_civil();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (1970, 1, 1, 0, 0, 0)
        );
    }

    #[test]
    fn known_instants() {
        // 2000-02-29T12:34:56Z, a leap day in a century leap year.
        let c = Timestamp::new(951_827_696, 0).to_civil();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2000, 2, 29, 12, 34, 56)
        );
        // 2038-01-19T03:14:08Z, one second past the 32-bit time_t limit.
        let c = Timestamp::new(2_147_483_648, 0).to_civil();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2038, 1, 19, 3, 14, 8)
        );
        // 1969-12-31T23:59:59.5Z, before the epoch.
        let t = Timestamp::from_unix_nanos(-500_000_000);
        assert_eq!((t.secs(), t.subsec_nanos()), (-1, 500_000_000));
        let c = t.to_civil();
        assert_eq!((c.year, c.month, c.day, c.second), (1969, 12, 31, 59));
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        for days in (-200_000i64..200_000).step_by(97) {
            let t = Timestamp::new(days * 86_400 + 3_723, 42);
            assert_eq!(Timestamp::from_civil(t.to_civil()), t);
        }
    }

    #[test]
    fn nanos_round_trip() {
        for ns in [
            0i64,
            1,
            -1,
            1_700_000_000_123_456_789,
            -62_000_000_000_000_000,
        ] {
            assert_eq!(Timestamp::from_unix_nanos(ns).unix_nanos(), ns);
        }
    }
}
