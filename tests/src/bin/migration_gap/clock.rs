//! One clock for every event: wall-clock seconds since the Unix epoch, as
//! the OVS/OVN logs, the probes and this process all read it.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (f64: sub-microsecond resolution today).
pub type Wall = f64;

/// Now.
pub fn now() -> Wall {
    wall(SystemTime::now())
}

/// `t` on the wall clock.
pub fn wall(t: SystemTime) -> Wall {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// When `t` happened, in ms after `origin`.
pub fn ms_after(t: Wall, origin: Wall) -> f64 {
    (t - origin) * 1000.0
}

/// Converts [`Instant`]s (the stream's arrival times) to the wall clock.
#[derive(Debug, Clone, Copy)]
pub struct InstantToWall {
    instant: Instant,
    wall: Wall,
}

impl InstantToWall {
    /// Takes the two clocks at one moment.
    pub fn new() -> InstantToWall {
        InstantToWall {
            instant: Instant::now(),
            wall: now(),
        }
    }

    /// `t` on the wall clock.
    pub fn wall(&self, t: Instant) -> Wall {
        match t.checked_duration_since(self.instant) {
            Some(after) => self.wall + after.as_secs_f64(),
            None => self.wall - self.instant.duration_since(t).as_secs_f64(),
        }
    }
}

/// Days from 1970-01-01 to the civil date `y-m-d` (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC time as OVS prints it, `2026-11-30T14:53:24.641Z` (log lines) or
/// `2026-11-30 14:53:24.641` (`ovsdb-client --timestamp`), at the start of
/// `text`.
pub fn parse_utc(text: &str) -> Option<Wall> {
    let t = text.get(..23)?;
    let b = t.as_bytes();
    if b.get(4) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b' '))
        || b.get(19) != Some(&b'.')
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    let secs = days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?;
    Some(secs as f64 + num(20..23)? as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ovs_timestamps_parse_as_utc() {
        assert_eq!(parse_utc("1970-01-01T00:00:01.500Z|x"), Some(1.5));
        assert_eq!(
            parse_utc("2026-11-30 14:53:24.641"),
            Some(1_796_050_404.641)
        );
        assert_eq!(parse_utc("row : x"), None);
    }
}
