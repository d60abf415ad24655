//! Instants, calendar dates and the noon-local due-date rule.
//!
//! The engine never reads a clock: every instant is an argument. An [`Instant`] is a whole
//! number of seconds since the Unix epoch, in UTC, between the years 0000 and 9999; its
//! JSON form is an RFC 3339 string such as `"2026-03-02T09:00:00Z"`.

use std::fmt;
use std::num::NonZeroI64;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Seconds in one day: auto-close periods count days as 24-hour periods (DESIGN.md).
pub const SECONDS_PER_DAY: i64 = 86_400;

/// A point in time: whole seconds since 1970-01-01T00:00:00Z.
///
/// # Example
/// ```
/// use caseflow::Instant;
/// let t: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
/// assert_eq!(t.unix_seconds(), 1_772_442_000);
/// assert_eq!(t.to_string(), "2026-03-02T09:00:00Z");
/// ```
///
/// Held as seconds since the earliest accepted instant plus one, never zero, so an `Option<Instant>` takes
/// eight bytes like the instant itself (a case holds six of them).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(NonZeroI64);

impl fmt::Debug for Instant {
    /// `Instant(2026-03-02T09:00:00Z)`: the instant, not its internal offset.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({self})")
    }
}

/// The longest auto-close period, in days (docs/cases.md, account configuration: 1 to 28).
const LONGEST_PERIOD_DAYS: i64 = 28;

/// The earliest instant the engine accepts: 0000-01-01T00:00:00Z.
const MIN_SECONDS: i64 = -62_167_219_200;
/// The latest instant the engine accepts: 9999-12-31T23:59:59Z.
const MAX_SECONDS: i64 = 253_402_300_799;
/// The seconds of [`Instant::latest_step`].
const LATEST_STEP_SECONDS: i64 = MAX_SECONDS - LONGEST_PERIOD_DAYS * SECONDS_PER_DAY;

impl Instant {
    /// The instant `seconds` after the Unix epoch, or `None` outside the years 0000-9999.
    pub fn from_unix_seconds(seconds: i64) -> Option<Instant> {
        if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
            return None;
        }
        NonZeroI64::new(seconds - MIN_SECONDS + 1).map(Instant)
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(self) -> i64 {
        self.0.get() + MIN_SECONDS - 1
    }

    /// The latest instant a desk takes a step at: 9999-12-31T23:59:59Z minus 28 days, the
    /// longest auto-close period, so that every deadline a step arms can be represented
    /// (a deadline is never moved earlier to fit).
    ///
    /// ```
    /// assert_eq!(caseflow::Instant::latest_step().to_string(), "9999-12-03T23:59:59Z");
    /// ```
    pub fn latest_step() -> Instant {
        Instant::clamped(LATEST_STEP_SECONDS)
    }

    /// Whether this instant is after [`Instant::latest_step`] (one comparison: a desk asks
    /// on every step).
    pub(crate) fn after_latest_step(self) -> bool {
        self.unix_seconds() > LATEST_STEP_SECONDS
    }

    /// This instant plus `seconds` (which may be negative), saturating at the accepted range.
    pub fn plus_seconds(self, seconds: i64) -> Instant {
        Instant::clamped(self.unix_seconds().saturating_add(seconds))
    }

    /// The instant `seconds` after the epoch, saturating at the accepted range.
    fn clamped(seconds: i64) -> Instant {
        let offset = seconds.clamp(MIN_SECONDS, MAX_SECONDS) - MIN_SECONDS + 1;
        // At least 1 after the clamp: the fallback is unreachable but keeps us panic-free.
        Instant(NonZeroI64::new(offset).unwrap_or(NonZeroI64::MIN))
    }

    fn to_chrono(self) -> DateTime<Utc> {
        // Always in range by construction; the fallback is unreachable but keeps us panic-free.
        DateTime::from_timestamp(self.unix_seconds(), 0).unwrap_or_default()
    }
}

impl From<Instant> for DateTime<Utc> {
    fn from(t: Instant) -> DateTime<Utc> {
        t.to_chrono()
    }
}

impl TryFrom<DateTime<Utc>> for Instant {
    type Error = TimeParseError;

    /// The instant of a chrono time: refused when it has a fraction of a second or lies
    /// outside the years 0000-9999.
    fn try_from(t: DateTime<Utc>) -> Result<Instant, TimeParseError> {
        if t.timestamp_subsec_nanos() != 0 {
            return Err(TimeParseError(format!("{t} is not a whole second")));
        }
        Instant::from_unix_seconds(t.timestamp())
            .ok_or_else(|| TimeParseError(format!("{t} is outside the years 0000-9999")))
    }
}

impl From<Instant> for std::time::SystemTime {
    fn from(t: Instant) -> std::time::SystemTime {
        let s = t.unix_seconds();
        let offset = std::time::Duration::from_secs(s.unsigned_abs());
        if s >= 0 {
            std::time::UNIX_EPOCH + offset
        } else {
            std::time::UNIX_EPOCH - offset
        }
    }
}

impl TryFrom<std::time::SystemTime> for Instant {
    type Error = TimeParseError;

    /// The instant of a system time (a host's clock reading): refused when it has a
    /// fraction of a second (truncate it first: `Instant::from_unix_seconds`) or lies
    /// outside the years 0000-9999.
    ///
    /// # Example
    /// ```
    /// use std::time::{Duration, SystemTime, UNIX_EPOCH};
    /// use caseflow::Instant;
    /// let t: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
    /// let system: SystemTime = t.into();
    /// assert_eq!(system, UNIX_EPOCH + Duration::from_secs(1_772_442_000));
    /// assert_eq!(Instant::try_from(system).unwrap(), t);
    /// ```
    fn try_from(t: std::time::SystemTime) -> Result<Instant, TimeParseError> {
        let whole = |d: std::time::Duration| d.subsec_nanos() == 0;
        let seconds = match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) if whole(d) => i64::try_from(d.as_secs()).ok(),
            Err(e) if whole(e.duration()) => i64::try_from(e.duration().as_secs()).ok().map(|s| -s),
            _ => return Err(TimeParseError(format!("{t:?} is not a whole second"))),
        };
        seconds
            .and_then(Instant::from_unix_seconds)
            .ok_or_else(|| TimeParseError(format!("{t:?} is outside the years 0000-9999")))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_chrono().format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// Why a string is not an [`Instant`] or a [`Date`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeParseError(String);

impl FromStr for Instant {
    type Err = TimeParseError;

    fn from_str(s: &str) -> Result<Instant, TimeParseError> {
        let bad = |why: &str| {
            TimeParseError(format!(
                "`{}` is not an instant: {why}",
                crate::error::clip(s)
            ))
        };
        let parsed = DateTime::parse_from_rfc3339(s)
            .map_err(|_| bad("expected RFC 3339 such as 2026-03-02T09:00:00Z"))?;
        if parsed.offset().fix().local_minus_utc() != 0 {
            return Err(bad("instants are UTC (end in Z)"));
        }
        // chrono reads second 60 as a leap second: one more than a billion nanoseconds.
        if parsed.timestamp_subsec_nanos() >= 1_000_000_000 {
            return Err(bad("leap seconds are not accepted (second 60)"));
        }
        if parsed.timestamp_subsec_nanos() != 0 || s.contains('.') {
            return Err(bad("instants are whole seconds"));
        }
        Instant::from_unix_seconds(parsed.timestamp()).ok_or_else(|| bad("out of range"))
    }
}

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Instant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The first and last dates accepted, as (year, month, day).
const FIRST_DATE: (i32, u32, u32) = (0, 1, 2);
const LAST_DATE: (i32, u32, u32) = (9999, 12, 30);

/// A calendar date (`"YYYY-MM-DD"`), as a task's `due_date` is given: from 0000-01-02 to
/// 9999-12-30, so that its 12:00 is an instant in every time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(NaiveDate);

impl Date {
    /// The date with this year, month and day, or `None` when it does not exist or lies
    /// outside 0000-01-02 to 9999-12-30: 12:00 of those dates is a representable instant
    /// in every time zone (offsets stay within +-26 hours), so a due instant is never
    /// clamped.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        NaiveDate::from_ymd_opt(year, month, day)
            .filter(|d| (FIRST_DATE..=LAST_DATE).contains(&(d.year(), d.month(), d.day())))
            .map(Date)
    }

    /// The instant of 12:00 local time on this date in `zone`.
    ///
    /// When 12:00 does not exist that day (a daylight-saving gap, or a skipped day such as
    /// Pacific/Apia 2011-12-30) it is the first instant after the gap; when 12:00 happens
    /// twice it is the earlier. DESIGN.md works through examples.
    ///
    /// # Example
    /// ```
    /// use caseflow::Date;
    /// let d: Date = "2026-03-10".parse().unwrap();
    /// let zone = "America/New_York".parse().unwrap();
    /// assert_eq!(d.noon_in(zone).to_string(), "2026-03-10T16:00:00Z");
    /// ```
    pub fn noon_in(self, zone: Tz) -> Instant {
        let noon = self.0.and_time(NaiveTime::MIN) + Duration::hours(12);
        let seconds = match zone.from_local_datetime(&noon) {
            chrono::LocalResult::Single(t) => t.timestamp(),
            chrono::LocalResult::Ambiguous(earlier, _) => earlier.timestamp(),
            chrono::LocalResult::None => first_instant_after_gap(zone, noon),
        };
        Instant::clamped(seconds)
    }
}

/// The first instant whose local wall time in `zone` is later than `wall`, for a `wall`
/// time that falls in a gap: the instant the clocks jumped over it.
///
/// Offsets are within +-26 hours, so that instant lies within two days of `wall` read as
/// UTC; a binary search over those seconds finds it in at most 18 probes.
fn first_instant_after_gap(zone: Tz, wall: NaiveDateTime) -> i64 {
    let wall_as_utc = wall.and_utc().timestamp();
    let local_after = |t: i64| -> bool {
        DateTime::from_timestamp(t, 0)
            .map(|utc| utc.with_timezone(&zone).naive_local() > wall)
            .unwrap_or(true)
    };
    let (mut lo, mut hi) = (
        wall_as_utc - 2 * SECONDS_PER_DAY,
        wall_as_utc + 2 * SECONDS_PER_DAY,
    );
    // Invariant: local(lo) < wall < local(hi).
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if local_after(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl FromStr for Date {
    type Err = TimeParseError;

    fn from_str(s: &str) -> Result<Date, TimeParseError> {
        let bad = || {
            TimeParseError(format!(
                "`{}` is not a date: expected an existing YYYY-MM-DD",
                crate::error::clip(s)
            ))
        };
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().map_err(|_| bad());
        let year = i32::try_from(num(0..4)?).map_err(|_| bad())?;
        let (month, day) = (num(5..7)?, num(8..10)?);
        NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
        Date::from_ymd(year, month, day).ok_or_else(|| {
            TimeParseError(format!(
                "`{s}` is out of range: dates run from 0000-01-02 to 9999-12-30, so that 12:00 on them is an instant in every time zone"
            ))
        })
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_utc_whole_seconds() {
        assert!("2026-03-02T09:00:00Z".parse::<Instant>().is_ok());
        assert!("2026-03-02T09:00:00.5Z".parse::<Instant>().is_err());
        assert!("2026-03-02T09:00:00.0Z".parse::<Instant>().is_err());
        assert!("2026-03-02T09:00:00+01:00".parse::<Instant>().is_err());
        let leap = "2016-12-31T23:59:60Z"
            .parse::<Instant>()
            .unwrap_err()
            .to_string();
        assert!(leap.contains("leap seconds are not accepted"), "{leap}");
        let long = format!("{}Z", "9".repeat(100_000));
        let err = long.parse::<Instant>().unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
        assert!("2026-02-30T09:00:00Z".parse::<Instant>().is_err());
        assert!("yesterday".parse::<Instant>().is_err());
    }

    #[test]
    fn instants_convert_to_and_from_system_and_chrono_times() {
        use std::time::{Duration, UNIX_EPOCH};
        for text in [
            "2026-03-02T09:00:00Z",
            "1969-07-20T20:17:40Z",
            "0000-01-01T00:00:00Z",
        ] {
            let t: Instant = text.parse().unwrap();
            let system: std::time::SystemTime = t.into();
            assert_eq!(Instant::try_from(system).unwrap(), t);
            let chrono: DateTime<Utc> = t.into();
            assert_eq!(
                chrono.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                text
            );
            assert_eq!(Instant::try_from(chrono).unwrap(), t);
        }
        let fraction = UNIX_EPOCH + Duration::from_millis(1500);
        assert!(Instant::try_from(fraction).is_err());
        assert!(Instant::try_from(UNIX_EPOCH - Duration::from_millis(500)).is_err());
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert!(Instant::try_from(far).is_err());
        let chrono = DateTime::from_timestamp(5, 1).unwrap();
        assert!(Instant::try_from(chrono).is_err());
    }

    #[test]
    fn dates_must_exist() {
        assert!("2026-02-28".parse::<Date>().is_ok());
        assert!("2026-02-29".parse::<Date>().is_err());
        assert!("2026-2-28".parse::<Date>().is_err());
        assert!("+2026-02-28".parse::<Date>().is_err());
        assert!("2026-13-01".parse::<Date>().is_err());
        for bad in [
            "2026/03/10",
            "2026-03/10",
            "2026/03-10",
            "20260310xx",
            "2026-03-1x",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad} was accepted");
        }
        assert_eq!(
            "0000-01-02".parse::<Date>().unwrap().to_string(),
            "0000-01-02"
        );
        // The ends of the range: 12:00 on them must be an instant in every zone.
        for out in ["0000-01-01", "9999-12-31"] {
            let err = out.parse::<Date>().unwrap_err().to_string();
            assert!(err.contains("out of range"), "{err}");
        }
        let last: Date = "9999-12-30".parse().unwrap();
        for zone in ["Etc/GMT+12", "Pacific/Kiritimati", "UTC"] {
            let noon = last.noon_in(zone.parse().unwrap());
            assert!(
                noon.unix_seconds() < MAX_SECONDS,
                "{zone}: {noon} was clamped"
            );
        }
        assert_eq!(
            last.noon_in("Etc/GMT+12".parse().unwrap()).to_string(),
            "9999-12-31T00:00:00Z"
        );
    }

    #[test]
    fn noon_in_a_gap_is_the_first_instant_after_it() {
        // Pacific/Apia skipped 2011-12-30: the day after 29th 23:59:59 (-10:00) was the 31st
        // 00:00:00 (+14:00), i.e. 2011-12-30T10:00:00Z.
        let zone: Tz = "Pacific/Apia".parse().unwrap();
        let d: Date = "2011-12-30".parse().unwrap();
        assert_eq!(d.noon_in(zone).to_string(), "2011-12-30T10:00:00Z");
    }
}
