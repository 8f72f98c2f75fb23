//! Helpers that business addons keep needing, as Odoo's `odoo.tools`
//! has them: money rounding (`float_utils`) and date periods
//! (`date_utils`).
//!
//! ```
//! use pulse_sdk::tools::{Date, Granularity, RoundingMethod, add_months, end_of, float_round, start_of};
//! assert_eq!(float_round(2.675, 2, RoundingMethod::HalfUp), 2.68);
//! let day = Date::parse("2024-01-31").unwrap();
//! assert_eq!(add_months(day, 1).to_string(), "2024-02-29");
//! assert_eq!(start_of(day, Granularity::Quarter).to_string(), "2024-01-01");
//! assert_eq!(end_of(day, Granularity::Quarter).to_string(), "2024-03-31");
//! ```

use std::cmp::Ordering;
use std::fmt;

use pulse_schema::FieldType;
use serde_json::Value;

use crate::domain::Field;
use crate::{Error, FieldValue, Result};

/// How [`float_round`] breaks ties and rounds, as Odoo's `rounding_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundingMethod {
    /// `HALF-UP`: to the nearest, ties away from zero (Odoo's default).
    HalfUp,
    /// `HALF-DOWN`: to the nearest, ties towards zero.
    HalfDown,
    /// `HALF-EVEN`: to the nearest, ties to the even neighbour.
    HalfEven,
    /// `UP`: away from zero.
    Up,
    /// `DOWN`: towards zero.
    Down,
}

/// Odoo's `float_round(value, precision_digits=…, rounding_method=…)`:
/// `value` rounded to `precision_digits` decimals. Like Odoo, it first nudges
/// the value by one unit of its last binary digit, so that `2.675` (stored as
/// 2.67499999…) rounds half-up to 2.68 as a person expects.
pub fn float_round(value: f64, precision_digits: u32, method: RoundingMethod) -> f64 {
    float_round_to(value, precision_rounding(precision_digits), method)
}

/// Odoo's `float_round(value, precision_rounding=…)`: `value` rounded to a
/// multiple of `rounding` (a currency's rounding, e.g. `0.05`).
/// A non-positive or non-finite `rounding` rounds to 0, as Odoo's does for 0.
pub fn float_round_to(value: f64, rounding: f64, method: RoundingMethod) -> f64 {
    if !(rounding > 0.0 && rounding.is_finite()) || value == 0.0 || !value.is_finite() {
        return if value.is_finite() && rounding > 0.0 {
            value
        } else {
            0.0
        };
    }
    let normalized = value / rounding;
    let sign = normalized.signum();
    // One unit in the last place of the normalized value: the error its
    // binary representation may carry.
    let epsilon = 2f64.powf(normalized.abs().log2() - 52.0);
    let rounded = match method {
        RoundingMethod::HalfUp => (normalized + sign * epsilon).round(),
        RoundingMethod::HalfDown => {
            let nudged = normalized - sign * epsilon;
            let floor = nudged.abs().floor();
            let up = nudged.abs() - floor > 0.5;
            sign * if up { floor + 1.0 } else { floor }
        }
        RoundingMethod::HalfEven => {
            let nudged = normalized.abs();
            let floor = nudged.floor();
            let fraction = nudged - floor;
            let tie = (fraction - 0.5).abs() <= epsilon;
            let up = if tie {
                floor % 2.0 != 0.0
            } else {
                fraction > 0.5
            };
            sign * if up { floor + 1.0 } else { floor }
        }
        RoundingMethod::Up => sign * (normalized - sign * epsilon).abs().ceil(),
        RoundingMethod::Down => sign * (normalized + sign * epsilon).abs().floor(),
    };
    let result = rounded * rounding;
    // Denormalizing can bring back a binary tail (0.1 * 3); going through
    // the decimal digits of `rounding` removes it.
    let digits = decimals_of(rounding);
    let scale = 10f64.powi(digits);
    let cleaned = (result * scale).round() / scale;
    if cleaned == 0.0 { 0.0 } else { cleaned }
}

fn precision_rounding(precision_digits: u32) -> f64 {
    10f64.powi(-(precision_digits.min(15) as i32))
}

/// How many decimals `rounding` has (0.05 has 2), at most 15.
fn decimals_of(rounding: f64) -> i32 {
    let mut digits = 0;
    let mut scaled = rounding;
    while digits < 15 && (scaled - scaled.round()).abs() > 1e-9 * scaled.abs().max(1.0) {
        scaled *= 10.0;
        digits += 1;
    }
    digits
}

/// Odoo's `float_is_zero(value, precision_digits=…)`: whether `value`
/// rounds to zero at `precision_digits` decimals.
pub fn float_is_zero(value: f64, precision_digits: u32) -> bool {
    let epsilon = precision_rounding(precision_digits);
    float_round_to(value, epsilon, RoundingMethod::HalfUp).abs() < epsilon
}

/// Odoo's `float_compare(value1, value2, precision_digits=…)`: the two
/// values compared once rounded to `precision_digits` decimals, so amounts
/// that differ below a cent are equal.
pub fn float_compare(value1: f64, value2: f64, precision_digits: u32) -> Ordering {
    let rounding = precision_rounding(precision_digits);
    let value1 = float_round_to(value1, rounding, RoundingMethod::HalfUp);
    let value2 = float_round_to(value2, rounding, RoundingMethod::HalfUp);
    let delta = value1 - value2;
    if float_is_zero(delta, precision_digits) {
        Ordering::Equal
    } else if delta < 0.0 {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// A calendar date (no time, no zone), as an Odoo `date` field holds it:
/// written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// The date `year-month-day`, if it exists (years 1 to 9999, as Odoo).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        ((1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day))
        .then_some(Date { year, month, day })
    }

    /// Reads `YYYY-MM-DD`, or the date part of an Odoo datetime
    /// (`YYYY-MM-DD HH:MM:SS`); anything else is an [`Error::Validation`].
    pub fn parse(text: &str) -> Result<Date> {
        let bad = || Error::Validation(format!("'{text}' is not a date (YYYY-MM-DD)"));
        let date = text.get(..10).ok_or_else(bad)?;
        let rest = &text[10..];
        if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
            return Err(bad());
        }
        let bytes = date.as_bytes();
        if bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32> {
            let part = &date[range];
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let year = number(0..4)? as i32;
        Date::new(year, number(5..7)?, number(8..10)?).ok_or_else(bad)
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The day of the month, from 1.
    pub fn day(&self) -> u32 {
        self.day
    }

    /// The quarter, 1 to 4.
    pub fn quarter(&self) -> u32 {
        (self.month - 1) / 3 + 1
    }

    /// The day of the week, 0 for Monday to 6 for Sunday (Python's `weekday()`).
    pub fn weekday(&self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (days_from_civil(*self) + 3).rem_euclid(7) as u32
    }

    /// The date `days` days later (earlier when negative), clamped to the
    /// years Odoo accepts.
    pub fn add_days(self, days: i64) -> Date {
        civil_from_days(days_from_civil(self).saturating_add(days))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl std::str::FromStr for Date {
    type Err = Error;
    fn from_str(text: &str) -> Result<Date> {
        Date::parse(text)
    }
}

/// A `date` field: `Date` (required) or `Option<Date>`.
impl FieldValue for Date {
    type Path = Field<Date>;
    fn path(path: String) -> Field<Date> {
        Field::new(path)
    }
    const TYPE: FieldType = FieldType::Date;
    const NON_EMPTY: bool = true;
    fn from_json(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::String(text) => Date::parse(text).map_err(|e| e.to_string()),
            other => Err(format!("expected a date, got {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(date: Date) -> i64 {
    let (m, d) = (i64::from(date.month), i64::from(date.day));
    let y = i64::from(date.year) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01, clamped to 0001-01-01..9999-12-31.
fn civil_from_days(days: i64) -> Date {
    let first = days_from_civil(Date {
        year: 1,
        month: 1,
        day: 1,
    });
    let last = days_from_civil(Date {
        year: 9999,
        month: 12,
        day: 31,
    });
    let z = days.clamp(first, last) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

/// The number of days of `month` (1 to 12) in `year`; 0 for a month that
/// does not exist.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A period of the calendar, for [`start_of`] and [`end_of`] (Odoo's
/// `granularity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// The calendar year.
    Year,
    /// The quarter: January to March, April to June, …
    Quarter,
    /// The month.
    Month,
    /// The week, Monday to Sunday.
    Week,
    /// The day itself.
    Day,
}

/// Odoo's `date_utils.start_of(value, granularity)`: the first day of the
/// period holding `date`.
pub fn start_of(date: Date, granularity: Granularity) -> Date {
    let first_of = |month| Date {
        year: date.year,
        month,
        day: 1,
    };
    match granularity {
        Granularity::Year => first_of(1),
        Granularity::Quarter => first_of(3 * date.quarter() - 2),
        Granularity::Month => first_of(date.month),
        Granularity::Week => date.add_days(-i64::from(date.weekday())),
        Granularity::Day => date,
    }
}

/// Odoo's `date_utils.end_of(value, granularity)`: the last day of the
/// period holding `date`.
pub fn end_of(date: Date, granularity: Granularity) -> Date {
    let last_of = |month| Date {
        year: date.year,
        month,
        day: days_in_month(date.year, month),
    };
    match granularity {
        Granularity::Year => last_of(12),
        Granularity::Quarter => last_of(3 * date.quarter()),
        Granularity::Month => last_of(date.month),
        Granularity::Week => date.add_days(6 - i64::from(date.weekday())),
        Granularity::Day => date,
    }
}

/// Odoo's `date_utils.add(value, months=n)` (a `relativedelta`): `months`
/// months later (earlier when negative), the day clamped to the target
/// month's last (January 31 plus one month is February 28 or 29). Clamped
/// to the years 1 to 9999.
pub fn add_months(date: Date, months: i32) -> Date {
    let index = i64::from(date.year) * 12 + i64::from(date.month - 1) + i64::from(months);
    let index = index.clamp(12, 9999 * 12 + 11);
    let year = (index / 12) as i32;
    let month = (index % 12) as u32 + 1;
    Date {
        year,
        month,
        day: date.day.min(days_in_month(year, month)),
    }
}

/// Odoo's `date_utils.get_month(date)`: the first and last day of its month.
pub fn get_month(date: Date) -> (Date, Date) {
    (
        start_of(date, Granularity::Month),
        end_of(date, Granularity::Month),
    )
}

/// Odoo's `date_utils.get_quarter(date)`: the first and last day of its quarter.
pub fn get_quarter(date: Date) -> (Date, Date) {
    (
        start_of(date, Granularity::Quarter),
        end_of(date, Granularity::Quarter),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use RoundingMethod::*;

    fn date(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    #[test]
    fn half_up_rounds_what_binary_floats_hide() {
        // Values whose binary form sits just under the tie.
        assert_eq!(float_round(2.675, 2, HalfUp), 2.68);
        assert_eq!(float_round(1.005, 2, HalfUp), 1.01);
        assert_eq!(float_round(-1.005, 2, HalfUp), -1.01);
        assert_eq!(float_round(0.125, 2, HalfUp), 0.13);
        assert_eq!(float_round(1.0049, 2, HalfUp), 1.0);
        assert_eq!(float_round(0.1 + 0.2, 2, HalfUp), 0.3);
        assert_eq!(float_round(1234.5, 0, HalfUp), 1235.0);
        assert_eq!(float_round(0.0, 2, HalfUp), 0.0);
    }

    #[test]
    fn the_other_methods_match_odoo() {
        assert_eq!(float_round(1.015, 2, HalfDown), 1.01);
        assert_eq!(float_round(1.016, 2, HalfDown), 1.02);
        assert_eq!(float_round(2.5, 0, HalfEven), 2.0);
        assert_eq!(float_round(3.5, 0, HalfEven), 4.0);
        assert_eq!(float_round(1.001, 2, Up), 1.01);
        assert_eq!(float_round(-1.001, 2, Up), -1.01);
        assert_eq!(float_round(1.0, 2, Up), 1.0, "no phantom cent");
        assert_eq!(float_round(1.019, 2, Down), 1.01);
        assert_eq!(float_round(-1.019, 2, Down), -1.01);
        assert_eq!(float_round(1.1, 1, Down), 1.1, "no lost tenth");
    }

    #[test]
    fn rounding_to_a_currency_step() {
        assert_eq!(float_round_to(1.23, 0.05, HalfUp), 1.25);
        assert_eq!(float_round_to(1.22, 0.05, HalfUp), 1.2);
        assert_eq!(float_round_to(0.3, 0.1, HalfUp), 0.3);
        assert_eq!(float_round_to(7.0, 0.0, HalfUp), 0.0);
        assert_eq!(float_round_to(f64::NAN, 0.01, HalfUp), 0.0);
    }

    #[test]
    fn compare_and_zero_ignore_what_is_below_the_precision() {
        assert!(float_is_zero(0.004, 2));
        assert!(!float_is_zero(0.005, 2));
        assert!(float_is_zero(-0.0049, 2));
        assert_eq!(float_compare(0.1 + 0.2, 0.3, 2), Ordering::Equal);
        assert_eq!(float_compare(1.004, 1.0, 2), Ordering::Equal);
        assert_eq!(float_compare(1.006, 1.0, 2), Ordering::Greater);
        assert_eq!(float_compare(-1.0, 1.0, 2), Ordering::Less);
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(date("2024-02-29").to_string(), "2024-02-29");
        assert_eq!(date("2024-02-29 13:45:00").day(), 29);
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "",
            "2024-01-01x",
            "+024-01-01",
            "0000-01-01",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_start_and_end_like_odoo() {
        let d = date("2024-05-15");
        assert_eq!(start_of(d, Granularity::Year), date("2024-01-01"));
        assert_eq!(end_of(d, Granularity::Year), date("2024-12-31"));
        assert_eq!(get_quarter(d), (date("2024-04-01"), date("2024-06-30")));
        assert_eq!(get_month(d), (date("2024-05-01"), date("2024-05-31")));
        assert_eq!(
            end_of(date("2023-02-10"), Granularity::Month),
            date("2023-02-28")
        );
        // 2024-05-15 is a Wednesday.
        assert_eq!(d.weekday(), 2);
        assert_eq!(start_of(d, Granularity::Week), date("2024-05-13"));
        assert_eq!(end_of(d, Granularity::Week), date("2024-05-19"));
        assert_eq!(
            end_of(date("2024-12-30"), Granularity::Week),
            date("2025-01-05")
        );
        assert_eq!(start_of(d, Granularity::Day), d);
    }

    #[test]
    fn adding_months_clamps_the_day() {
        assert_eq!(add_months(date("2024-01-31"), 1), date("2024-02-29"));
        assert_eq!(add_months(date("2023-01-31"), 1), date("2023-02-28"));
        assert_eq!(add_months(date("2024-03-31"), -1), date("2024-02-29"));
        assert_eq!(add_months(date("2024-12-15"), 1), date("2025-01-15"));
        assert_eq!(add_months(date("2024-01-15"), -13), date("2022-12-15"));
        assert_eq!(add_months(date("2024-01-15"), 24), date("2026-01-15"));
        assert_eq!(add_months(date("9999-12-01"), 5), date("9999-12-01"));
        assert_eq!(add_months(date("0001-01-01"), i32::MIN), date("0001-01-01"));
    }

    #[test]
    fn days_round_trip_through_the_epoch() {
        for text in [
            "1970-01-01",
            "2000-02-29",
            "0001-01-01",
            "9999-12-31",
            "2024-03-01",
        ] {
            let d = date(text);
            assert_eq!(civil_from_days(days_from_civil(d)), d);
        }
        assert_eq!(date("2024-02-28").add_days(1), date("2024-02-29"));
        assert_eq!(date("9999-12-31").add_days(10), date("9999-12-31"));
    }

    #[test]
    fn a_date_field_reads_and_writes_its_text() {
        assert_eq!(
            Date::from_json(&Value::from("2024-05-15")),
            Ok(date("2024-05-15"))
        );
        assert!(Date::from_json(&Value::Bool(false)).is_err());
        assert_eq!(Option::<Date>::from_json(&Value::Bool(false)), Ok(None));
        assert_eq!(date("2024-05-15").to_json(), Value::from("2024-05-15"));
    }
}
