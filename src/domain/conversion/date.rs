//! `EventDate`: ISO 8601, or `NOW`.
//!
//! Read: `YYYY-MM-DD`, then optionally `T` (or `t`, or a space) and `HH:MM`, `HH:MM:SS` or
//! `HH:MM:SS.fraction` (any number of digits, `.` or `,`; nanoseconds kept, further digits
//! dropped), then optionally a zone: `Z`, `±HH:MM`, `±HHMM` or `±HH` (the minus may be the
//! Unicode `−` of the reference's own documentation, `2020-10-09T10:30:01−07:00`; the plus
//! may be a space: a `+` not percent-encoded in a query string arrives as one).
//!
//! With a zone it is that instant. Without one it is a wall-clock time in the program's time
//! zone (a bare date: its midnight): a time the clocks skip there (spring forward) is refused,
//! a time they pass twice (fall back) is the first of the two. `NOW` (any case) is the arrival
//! time. The legacy `21-Oct-2015 18:25:59 HKT` form is refused with its own message: a zone
//! abbreviation names several zones (`IST` is India, Ireland or Israel).

use chrono::{
    DateTime, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

use super::shown;

/// What an `EventDate` says, before the program's zone is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reading {
    Now,
    Instant(DateTime<Utc>),
    /// No offset: a wall-clock time.
    Local(NaiveDateTime),
}

const EXAMPLE: &str = "use ISO 8601 such as 2026-07-01T10:00:00-07:00 (or …Z for UTC), or NOW.";

/// Parses an `EventDate` in the program's zone `tz`: the instant, and whether the value said
/// its own offset (`false` for a zone-less time; `NOW` counts as an instant). `Err` is the
/// message to show (what to fix).
pub fn parse_event_date(
    raw: &str,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, bool), String> {
    match read(raw)? {
        Reading::Now => Ok((now, true)),
        Reading::Instant(t) => Ok((t, true)),
        Reading::Local(naive) => match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => Ok((t.with_timezone(&Utc), false)),
            // The clocks went back: the first of the two moments.
            LocalResult::Ambiguous(first, _) => Ok((first.with_timezone(&Utc), false)),
            LocalResult::None => Err(format!(
                "{} does not exist in {} (the clocks move forward then): send the offset \
                 with the time, such as 2026-07-01T10:00:00-07:00.",
                naive.format("%Y-%m-%dT%H:%M:%S"),
                tz.name()
            )),
        },
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let d = b.get(at..at + n)?;
    d.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// `21-Oct-2015…`: one or two digits, a dash, three letters, a dash, four digits.
fn is_legacy(b: &[u8]) -> bool {
    let day = b.iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=2).contains(&day)
        && b.get(day) == Some(&b'-')
        && b.get(day + 1..day + 4)
            .is_some_and(|m| m.iter().all(u8::is_ascii_alphabetic))
        && b.get(day + 4) == Some(&b'-')
        && digits(b, day + 5, 4).is_some()
}

pub(super) fn read(raw: &str) -> Result<Reading, String> {
    let s = raw.trim();
    if s.eq_ignore_ascii_case("NOW") {
        return Ok(Reading::Now);
    }
    let b = s.as_bytes();
    let not_a_date = || {
        if is_legacy(b) {
            format!(
                "Dates such as 21-Oct-2015 18:25:59 HKT are not read (a zone abbreviation \
                 can mean several zones): {EXAMPLE}"
            )
        } else {
            format!("Not a date ({}): {EXAMPLE}", shown(s))
        }
    };
    let (Some(year), Some(month), Some(day)) = (digits(b, 0, 4), digits(b, 5, 2), digits(b, 8, 2))
    else {
        return Err(not_a_date());
    };
    if b[4] != b'-' || b[7] != b'-' {
        return Err(not_a_date());
    }
    let Some(date) = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
    else {
        return Err(format!(
            "{} is not a day of the calendar: {EXAMPLE}",
            &s[..10]
        ));
    };
    if b.len() == 10 {
        return Ok(Reading::Local(date.and_time(NaiveTime::MIN)));
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return Err(not_a_date());
    }
    let (Some(hour), Some(minute)) = (digits(b, 11, 2), digits(b, 14, 2)) else {
        return Err(not_a_date());
    };
    if b[13] != b':' {
        return Err(not_a_date());
    }
    let mut i = 16;
    let mut second = 0;
    let mut nanos = 0;
    if b.get(i) == Some(&b':') {
        let Some(s) = digits(b, i + 1, 2) else {
            return Err(not_a_date());
        };
        second = s;
        i += 3;
        if let Some(b'.' | b',') = b.get(i) {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return Err(not_a_date());
            }
            for _ in (i - start)..9 {
                nanos *= 10;
            }
        }
    }
    let Some(time) = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos) else {
        return Err(format!(
            "{} is not a time of day: {EXAMPLE}",
            shown(&s[11..i])
        ));
    };
    let naive = date.and_time(time);
    let rest = &s[i..];
    if rest.is_empty() {
        return Ok(Reading::Local(naive));
    }
    if rest == "Z" || rest == "z" {
        return Ok(Reading::Instant(naive.and_utc()));
    }
    // A `+` sent unencoded in a query string or form arrives as a space.
    let (sign, offset) = if let Some(o) = rest.strip_prefix('+').or_else(|| rest.strip_prefix(' '))
    {
        (1, o)
    } else if let Some(o) = rest
        .strip_prefix('-')
        .or_else(|| rest.strip_prefix('\u{2212}'))
    {
        (-1, o)
    } else {
        return Err(not_a_date());
    };
    let o = offset.as_bytes();
    let (hours, minutes) = match o.len() {
        2 => (digits(o, 0, 2), Some(0)),
        4 => (digits(o, 0, 2), digits(o, 2, 2)),
        5 if o[2] == b':' => (digits(o, 0, 2), digits(o, 3, 2)),
        _ => (None, None),
    };
    let (Some(hours), Some(minutes)) = (hours, minutes) else {
        return Err(not_a_date());
    };
    let Some(offset) = (hours < 24 && minutes < 60)
        .then(|| FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60) as i32))
        .flatten()
    else {
        return Err(format!("{} is not a UTC offset: {EXAMPLE}", shown(rest)));
    };
    match offset.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(Reading::Instant(t.with_timezone(&Utc))),
        _ => Err(not_a_date()),
    }
}
