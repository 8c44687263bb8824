//! The calendar time a PAC evaluation sees ([`PacTime`]). Outside the `js` feature too: a
//! host keeps its time handling when it is built without the engine.

use std::time::{SystemTime, UNIX_EPOCH};

/// Calendar time for the date helpers: now, and the local offset from UTC in force.
///
/// `weekdayRange`, `dateRange`, `timeRange` and the script's own `Date` read this, never the
/// process's clock or time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacTime {
    unix_millis: i64,
    utc_offset_seconds: i32,
}

impl PacTime {
    /// `now` with the given local offset from UTC (e.g. `3600` for CET).
    pub fn new(now: SystemTime, utc_offset_seconds: i32) -> Self {
        let unix_millis = match now.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        PacTime::from_unix_millis(unix_millis, utc_offset_seconds)
    }

    /// Milliseconds since 1970-01-01T00:00:00Z with the given local offset from UTC.
    pub fn from_unix_millis(unix_millis: i64, utc_offset_seconds: i32) -> Self {
        PacTime {
            unix_millis,
            utc_offset_seconds,
        }
    }

    /// Milliseconds since the epoch.
    pub fn unix_millis(&self) -> i64 {
        self.unix_millis
    }

    /// Local offset from UTC in seconds.
    pub fn utc_offset_seconds(&self) -> i32 {
        self.utc_offset_seconds
    }
}
