//! Week identifiers and civil-date arithmetic.
//!
//! A panel's time column holds either ISO dates (`YYYY-MM-DD`, optionally followed by a time of day,
//! also `YYYY/MM/DD` and US-style `M/D/YYYY`) or integers (`weekid` style). Dates are stored as days
//! since 1970-01-01 so that spacing checks are plain integer arithmetic; the conversions are Howard
//! Hinnant's `days_from_civil` / `civil_from_days` algorithms for the proleptic Gregorian calendar.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest absolute integer week index accepted (keeps all differences far from `i64` overflow).
pub const MAX_WEEK_INDEX: i64 = 1_000_000_000_000;

/// One calendar week of a panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Week {
    /// A date, as days since 1970-01-01 (displayed as an ISO date).
    Date(i64),
    /// An integer week index (displayed as the integer).
    Index(i64),
}

impl Week {
    /// The integer key used for ordering and spacing (days for dates, the index otherwise).
    pub fn key(&self) -> i64 {
        match *self {
            Week::Date(d) => d,
            Week::Index(i) => i,
        }
    }

    /// The week of the same kind with key `key`.
    pub fn with_key(&self, key: i64) -> Week {
        match self {
            Week::Date(_) => Week::Date(key),
            Week::Index(_) => Week::Index(key),
        }
    }

    /// Whether this is a date (rather than an integer index).
    pub fn is_date(&self) -> bool {
        matches!(self, Week::Date(_))
    }

    /// Fraction of the calendar year in `[0, 1)`: day-of-year / days-in-year for dates,
    /// `frac(index / 52.1775)` for integer weeks.
    pub fn year_fraction(&self) -> f64 {
        match *self {
            Week::Date(d) => {
                let (y, _, _) = civil_from_days(d);
                let start = days_from_civil(y, 1, 1);
                let len = days_from_civil(y + 1, 1, 1) - start;
                (d - start) as f64 / len as f64
            }
            Week::Index(i) => {
                let f = (i as f64 / 52.1775).rem_euclid(1.0);
                if f >= 1.0 { 0.0 } else { f }
            }
        }
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Week::Date(d) => {
                let (y, m, day) = civil_from_days(d);
                write!(f, "{y:04}-{m:02}-{day:02}")
            }
            Week::Index(i) => write!(f, "{i}"),
        }
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d` (`m` in 1..=12, `d` in 1..=31).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of `z` days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

fn num(s: &str, min_len: usize, max_len: usize) -> Option<i64> {
    if s.len() < min_len || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn checked_date(y: Option<i64>, m: Option<i64>, d: Option<i64>) -> Option<Week> {
    let (y, m, d) = (y?, m?, d?);
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let m = m as u32;
    if d < 1 || d > days_in_month(y, m) as i64 {
        return None;
    }
    Some(Week::Date(days_from_civil(y, m, d as u32)))
}

/// Parse a time cell: an integer week index, or a date `YYYY-MM-DD` (optionally followed by `T` or a
/// space and a time of day), `YYYY/MM/DD` or `M/D/YYYY`. `None` when the cell is neither.
pub fn parse_week(cell: &str) -> Option<Week> {
    let s = cell.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if !digits.is_empty() && digits.len() <= 13 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let v: i64 = digits.parse().ok()?;
        let v = if neg { -v } else { v };
        return (v.abs() <= MAX_WEEK_INDEX).then_some(Week::Index(v));
    }
    // Drop a time-of-day suffix.
    let date = s.split(['T', ' ']).next().unwrap_or(s);
    if date.contains('-') {
        let p: Vec<&str> = date.split('-').collect();
        if p.len() == 3 {
            return checked_date(num(p[0], 4, 4), num(p[1], 1, 2), num(p[2], 1, 2));
        }
        return None;
    }
    if date.contains('/') {
        let p: Vec<&str> = date.split('/').collect();
        if p.len() != 3 {
            return None;
        }
        if p[0].len() == 4 {
            return checked_date(num(p[0], 4, 4), num(p[1], 1, 2), num(p[2], 1, 2));
        }
        return checked_date(num(p[2], 4, 4), num(p[0], 1, 2), num(p[1], 1, 2));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2021, 1, 25), 18_652);
        for z in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
    }

    #[test]
    fn parses_the_supported_forms() {
        let d = Week::Date(days_from_civil(2021, 1, 25));
        assert_eq!(parse_week("2021-01-25"), Some(d));
        assert_eq!(parse_week(" 2021-01-25 00:00:00"), Some(d));
        assert_eq!(parse_week("2021-01-25T00:00:00Z"), Some(d));
        assert_eq!(parse_week("2021/01/25"), Some(d));
        assert_eq!(parse_week("1/25/2021"), Some(d));
        assert_eq!(parse_week("108"), Some(Week::Index(108)));
        assert_eq!(parse_week("-3"), Some(Week::Index(-3)));
        assert_eq!(parse_week("2021-02-30"), None);
        assert_eq!(parse_week("2021-13-01"), None);
        assert_eq!(parse_week("abc"), None);
        assert_eq!(parse_week("1.5"), None);
        assert_eq!(parse_week(""), None);
        assert_eq!(parse_week("99999999999999999999"), None);
        assert_eq!(d.to_string(), "2021-01-25");
    }

    #[test]
    fn year_fraction_is_calendar_aligned() {
        let jan1 = Week::Date(days_from_civil(2021, 1, 1));
        assert_eq!(jan1.year_fraction(), 0.0);
        let jul2 = Week::Date(days_from_civil(2021, 7, 2));
        assert!((jul2.year_fraction() - 182.0 / 365.0).abs() < 1e-12);
        let dec31 = Week::Date(days_from_civil(2020, 12, 31));
        assert!((dec31.year_fraction() - 365.0 / 366.0).abs() < 1e-12);
        assert!((Week::Index(26).year_fraction() - 26.0 / 52.1775).abs() < 1e-12);
        let f = Week::Index(-1).year_fraction();
        assert!((0.0..1.0).contains(&f));
    }
}
