//! Promo codes: their kinds, the create/edit form, status, and the rules
//! that do not need the database.

use super::forms::FieldErrors;
use super::matcher;
use super::partner::{parse_payout, Payout};
use super::{DealId, PartnerId, ProgramId};
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

macro_rules! text_enum {
    ($name:ident { $($variant:ident = $text:literal : $label:literal),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),* }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn parse(s: &str) -> Option<Self> {
                let s = s.trim();
                $(if s.eq_ignore_ascii_case($text) { return Some($name::$variant); })*
                None
            }
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),* }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// The labels are the reference product's vocabulary, the same on every page
// (list, filters, detail, form, history): TRACKING, ALWAYS, "Exact (LI)".
text_enum!(CodeType { Tracking = "TRACKING": "TRACKING", Restricted = "RESTRICTED": "RESTRICTED" });
text_enum!(CreditRule { Always = "ALWAYS": "ALWAYS", Involved = "INVOLVED": "INVOLVED", Winner = "WINNER": "WINNER" });
text_enum!(MatchMode { Literal = "LI": "Exact (LI)", Regex = "RE": "Regex (RE)" });
text_enum!(CodeStatus { Scheduled = "scheduled": "Scheduled", Active = "active": "Active", Expired = "expired": "Expired" });

/// The status of a code at `now`, from its dates. A code whose end is not
/// after its start (an expired scheduled code) never becomes active.
pub fn status_at(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> CodeStatus {
    match (start, end) {
        (_, Some(e)) if e <= now => CodeStatus::Expired,
        (Some(s), Some(e)) if e <= s => CodeStatus::Expired,
        (Some(s), _) if s > now => CodeStatus::Scheduled,
        _ => CodeStatus::Active,
    }
}

/// Parses a date-time typed in a time zone: `YYYY-MM-DDTHH:MM[:SS]` (what
/// `<input type=datetime-local>` sends), `YYYY-MM-DD HH:MM`, or a bare date
/// (midnight). An ISO 8601 value with an offset is taken as is.
pub fn parse_local(raw: &str, tz: Tz) -> Result<Option<DateTime<Utc>>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(dt.with_timezone(&Utc)));
    }
    let naive = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_time(NaiveTime::MIN))
    });
    let Some(naive) = naive else {
        return Err(format!(
            "`{raw}` is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM."
        ));
    };
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Ok(Some(dt.with_timezone(&Utc))),
        // Clocks went back: the first of the two moments.
        LocalResult::Ambiguous(first, _) => Ok(Some(first.with_timezone(&Utc))),
        LocalResult::None => Err(format!(
            "{raw} does not exist in {tz} (the clocks move forward then); pick another time."
        )),
    }
}

/// Shows a UTC time in a zone as the form input wants it.
pub fn format_input(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// Shows a UTC time in a zone for people: `2026-06-01 00:00 EDT`.
pub fn format_human(t: DateTime<Utc>, tz: Tz) -> String {
    // As `format("%Y-%m-%d %H:%M %Z")`, without parsing the format for each
    // of the hundred dates of a list page.
    use chrono::{Datelike, Timelike};
    let l = t.with_timezone(&tz);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} {}",
        l.year(),
        l.month(),
        l.day(),
        l.hour(),
        l.minute(),
        l.offset()
    )
}

/// The create/edit form as typed (SPEC section 10 names the fields).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub program_id: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub code_type: String,
    #[serde(default)]
    pub partner_id: String,
    #[serde(default)]
    pub credit_rule: String,
    #[serde(default)]
    pub match_mode: String,
    #[serde(default)]
    pub deal_id: String,
    #[serde(default)]
    pub active_start: String,
    #[serde(default)]
    pub active_end: String,
    #[serde(default)]
    pub timezone: String,
    /// The zone the time zone field was given when the page was drawn: the
    /// zone of the program shown then. A posted `timezone` equal to it was
    /// left at its default, and follows the program (see
    /// [`CodeForm::follows_program`]).
    #[serde(default)]
    pub timezone_default: String,
    #[serde(default)]
    pub payout_percent: String,
    #[serde(default)]
    pub payout_flat: String,
    #[serde(default)]
    pub comments: String,
}

/// A validated code, ready for the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCode {
    pub program_id: ProgramId,
    pub code: String,
    pub code_type: CodeType,
    pub partner_id: Option<PartnerId>,
    pub credit_rule: Option<CreditRule>,
    pub match_mode: MatchMode,
    pub deal_id: Option<DealId>,
    pub active_start: Option<DateTime<Utc>>,
    pub active_end: Option<DateTime<Utc>>,
    pub time_zone: Tz,
    pub payout: Option<Payout>,
    pub comments: String,
}

fn optional_id(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    what: &str,
) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match raw.parse::<i64>() {
        Ok(v) if v > 0 => Some(v),
        _ => {
            errors.add(field, format!("Choose a {what} from the list."));
            None
        }
    }
}

/// Checks a code value (exact or pattern); the message says what to fix.
pub fn validate_value(code: &str, mode: MatchMode) -> Result<String, String> {
    let value = code.trim();
    if value.is_empty() {
        return Err("Required: the code customers type, or a pattern.".into());
    }
    if value.chars().count() > 500 {
        return Err("At most 500 characters.".into());
    }
    match mode {
        MatchMode::Literal => {
            if value.chars().any(char::is_control) {
                return Err(
                    "A code cannot contain tabs, line breaks or other control characters.".into(),
                );
            }
            Ok(value.to_string())
        }
        MatchMode::Regex => matcher::compile_code_regex(value)
            .map(|_| value.to_string())
            .map_err(|e| e.to_string()),
    }
}

impl CodeForm {
    /// Whether the dates are in the program's time zone: the field was left
    /// empty ("the program's time zone") or at the zone it defaulted to. So
    /// a program changed on the form brings its zone, with or without the
    /// page's script, and a zone chosen by hand stays.
    pub fn follows_program(&self) -> bool {
        let tz = self.timezone.trim();
        tz.is_empty() || tz == self.timezone_default.trim()
    }

    /// The form as it is shown again (after an error) or first drawn for a
    /// program of this zone: a zone left at its default becomes the
    /// program's, which is then the default.
    pub fn follow_program_zone(&mut self, program_zone: Option<Tz>) {
        let Some(zone) = program_zone else { return };
        if self.follows_program() && !self.timezone.trim().is_empty() {
            self.timezone = zone.name().to_string();
        }
        self.timezone_default = zone.name().to_string();
    }

    /// `program_tz` gives a program's time zone, the default for the dates.
    pub fn parse(
        &self,
        program_tz: impl Fn(ProgramId) -> Option<Tz>,
    ) -> Result<NewCode, FieldErrors> {
        let mut errors = FieldErrors::new();
        let program_id = match optional_id(&mut errors, "program_id", &self.program_id, "program") {
            Some(id) => ProgramId(id),
            None => {
                errors.add("program_id", "Choose the program.");
                ProgramId(0)
            }
        };
        let program_zone = program_tz(program_id);
        if program_zone.is_none() && program_id.0 > 0 {
            errors.add("program_id", "No such program.");
        }
        let code_type = CodeType::parse(&self.code_type).unwrap_or_else(|| {
            errors.add("code_type", "Choose TRACKING or RESTRICTED.");
            CodeType::Tracking
        });
        let match_mode = MatchMode::parse(&self.match_mode).unwrap_or_else(|| {
            errors.add("match_mode", "Choose exact (LI) or regex (RE).");
            MatchMode::Literal
        });
        let code = match validate_value(&self.code, match_mode) {
            Ok(v) => v,
            Err(m) => {
                errors.add("code", m);
                self.code.trim().to_string()
            }
        };
        let partner_id =
            optional_id(&mut errors, "partner_id", &self.partner_id, "partner").map(PartnerId);
        let credit_rule = if self.credit_rule.trim().is_empty() {
            None
        } else {
            let r = CreditRule::parse(&self.credit_rule);
            if r.is_none() {
                errors.add("credit_rule", "Choose ALWAYS, INVOLVED or WINNER.");
            }
            r
        };
        let (partner_id, credit_rule) = match code_type {
            CodeType::Tracking => {
                if partner_id.is_none() && !errors.has("partner_id") {
                    errors.add(
                        "partner_id",
                        "A tracking code credits a partner: choose one.",
                    );
                }
                if credit_rule.is_none() && !errors.has("credit_rule") {
                    errors.add("credit_rule", "Choose when the partner is credited.");
                }
                (partner_id, credit_rule)
            }
            // A restricted code earns no partner credit: it has neither.
            CodeType::Restricted => (None, None),
        };
        let deal_id = optional_id(&mut errors, "deal_id", &self.deal_id, "deal").map(DealId);
        let time_zone = match program_zone {
            Some(zone) if self.follows_program() => zone,
            // No program (already an error): the dates are read in UTC.
            None if self.timezone.trim().is_empty() => Tz::UTC,
            _ => match self.timezone.trim().parse::<Tz>() {
                Ok(tz) => tz,
                Err(_) => {
                    errors.add(
                        "timezone",
                        "Use an IANA time zone name such as America/New_York.",
                    );
                    program_zone.unwrap_or(Tz::UTC)
                }
            },
        };
        let mut date = |field: &'static str, raw: &str| match parse_local(raw, time_zone) {
            Ok(v) => v,
            Err(m) => {
                errors.add(field, m);
                None
            }
        };
        let active_start = date("active_start", &self.active_start);
        let active_end = date("active_end", &self.active_end);
        if let (Some(s), Some(e)) = (active_start, active_end) {
            if e <= s {
                errors.add("active_end", "The end must be after the start.");
            }
        }
        let payout = parse_payout(&mut errors, &self.payout_percent, &self.payout_flat);
        if code_type == CodeType::Restricted && payout.is_some() {
            errors.add(
                "payout_percent",
                "A restricted code pays no partner: leave the payout empty.",
            );
        }
        let comments = self.comments.trim().to_string();
        if comments.chars().count() > 2000 {
            errors.add("comments", "At most 2,000 characters.");
        }
        errors.into_result(NewCode {
            program_id,
            code,
            code_type,
            partner_id,
            credit_rule,
            match_mode,
            deal_id,
            active_start,
            active_end,
            time_zone,
            payout,
            comments,
        })
    }
}

impl NewCode {
    /// An edit keeps the stored dates the form could not show: the form
    /// shows minutes, so a date posted back unchanged (the same minute in
    /// the code's zone) keeps its seconds instead of moving, and the
    /// history records no change nobody made.
    pub fn keeping_dates_of(
        mut self,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> NewCode {
        let tz = self.time_zone;
        let same = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| {
            a.is_some() && format_input(a, tz) == format_input(b, tz)
        };
        if same(start, self.active_start) {
            self.active_start = start;
        }
        if same(end, self.active_end) {
            self.active_end = end;
        }
        self
    }

    /// A new code with no start is active from now on (not from the
    /// beginning of time, so it never collides with codes of the past).
    pub fn starting_now(mut self, now: DateTime<Utc>) -> Result<NewCode, FieldErrors> {
        if self.active_start.is_none() {
            if self.active_end.is_some_and(|e| e <= now) {
                let mut errors = FieldErrors::new();
                errors.add(
                    "active_end",
                    "The end is in the past: give a start date too, or a later end.",
                );
                return Err(errors);
            }
            self.active_start = Some(now);
        }
        Ok(self)
    }
}

/// The end that expiring a code at `at` (now when `None`) gives it, or why
/// that is refused. An expired code stays as it is; a date before the
/// code's start is refused (it used to become the start without a word).
/// Expiring now a code that has not started yet ends it at its start: it
/// never becomes active.
pub fn expiry_end(
    code: &str,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<DateTime<Utc>, String> {
    if let Some(e) = end.filter(|_| status_at(start, end, now) == CodeStatus::Expired) {
        return Err(if e > now {
            format!(
                "{code} already ends at its start, {}: it never becomes active.",
                format_human(e, tz)
            )
        } else {
            format!("{code} already expired on {}.", format_human(e, tz))
        });
    }
    match (at, start) {
        (Some(a), Some(s)) if a < s => Err(format!(
            "The expire date {} is before the code's start, {}: choose a date from the start on, \
             or leave it empty to expire {code} now.",
            format_human(a, tz),
            format_human(s, tz)
        )),
        (Some(a), _) => Ok(a),
        (None, Some(s)) if s > now => Ok(s),
        (None, _) => Ok(now),
    }
}

/// Protects a CSV cell from spreadsheet formula injection: cells that a
/// spreadsheet would evaluate get a leading apostrophe. A cell that starts
/// with an apostrophe gets one more, so that [`csv_unsafe`] gives back every
/// value exactly.
pub fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => {
            std::borrow::Cow::Owned(format!("'{cell}"))
        }
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

/// The cell as the user wrote it, when a file carries a cell that
/// [`csv_safe`] protected (an error report uploaded again after fixing it):
/// the apostrophe before a formula-like cell is taken off.
pub fn csv_unsafe(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest)
            if matches!(
                rest.chars().next(),
                Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'')
            ) =>
        {
            rest
        }
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_dates_read_as_strftime_would_write_them() {
        use chrono::TimeZone;
        let zones = [
            chrono_tz::UTC,
            chrono_tz::America::New_York,
            chrono_tz::Europe::Berlin,
            chrono_tz::Asia::Kolkata,
            chrono_tz::Australia::Lord_Howe,
        ];
        for tz in zones {
            for (y, m, d, h, mi) in [
                (2026, 1, 5, 3, 7),
                (2026, 7, 1, 23, 59),
                (1999, 12, 31, 0, 0),
                (2100, 3, 28, 1, 30),
            ] {
                let t = Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap();
                assert_eq!(
                    format_human(t, tz),
                    t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string()
                );
            }
        }
        let t = Utc.with_ymd_and_hms(2026, 7, 1, 4, 0, 0).unwrap();
        assert_eq!(
            format_human(t, chrono_tz::America::New_York),
            "2026-07-01 00:00 EDT"
        );
    }

    fn tz(p: ProgramId) -> Option<Tz> {
        (p.0 == 1).then_some(chrono_tz::America::New_York)
    }

    fn form() -> CodeForm {
        CodeForm {
            program_id: "1".into(),
            code: " Summer10 ".into(),
            code_type: "TRACKING".into(),
            partner_id: "7".into(),
            credit_rule: "ALWAYS".into(),
            match_mode: "LI".into(),
            ..Default::default()
        }
    }

    #[test]
    fn status_follows_the_dates() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("date");
        let day = chrono::Duration::days(1);
        assert_eq!(status_at(None, None, now), CodeStatus::Active);
        assert_eq!(status_at(Some(now + day), None, now), CodeStatus::Scheduled);
        assert_eq!(
            status_at(None, Some(now), now),
            CodeStatus::Expired,
            "the end is exclusive"
        );
        assert_eq!(
            status_at(Some(now - day), Some(now + day), now),
            CodeStatus::Active
        );
        assert_eq!(
            status_at(Some(now + day), Some(now + day), now),
            CodeStatus::Expired,
            "cancelled before it began"
        );
    }

    #[test]
    fn a_tracking_code_parses_with_the_program_time_zone() {
        let mut f = form();
        f.active_start = "2026-07-01T00:00".into();
        let c = f.parse(tz).expect("valid");
        assert_eq!(c.code, "Summer10");
        assert_eq!(c.time_zone, chrono_tz::America::New_York);
        assert_eq!(
            c.active_start,
            Some(
                Utc.with_ymd_and_hms(2026, 7, 1, 4, 0, 0)
                    .single()
                    .expect("utc")
            )
        );
        assert_eq!(c.partner_id, Some(PartnerId(7)));
    }

    #[test]
    fn the_zone_left_at_its_default_follows_the_program() {
        // Drawn for a Berlin program, posted for the New York one (1).
        let mut f = form();
        f.timezone = "Europe/Berlin".into();
        f.timezone_default = "Europe/Berlin".into();
        f.active_start = "2026-07-01T09:00".into();
        assert!(f.follows_program());
        let c = f.parse(tz).expect("valid");
        assert_eq!(c.time_zone, chrono_tz::America::New_York);
        assert_eq!(
            c.active_start,
            Some(
                Utc.with_ymd_and_hms(2026, 7, 1, 13, 0, 0)
                    .single()
                    .expect("utc")
            )
        );
        // Chosen by hand: kept.
        f.timezone = "Europe/Paris".into();
        assert!(!f.follows_program());
        assert_eq!(
            f.parse(tz).expect("valid").time_zone,
            chrono_tz::Europe::Paris
        );
        // Without the default (an older form, a script): the zone posted.
        f.timezone = "Europe/Berlin".into();
        f.timezone_default = String::new();
        assert_eq!(
            f.parse(tz).expect("valid").time_zone,
            chrono_tz::Europe::Berlin
        );
        // Shown again: the program's zone, now the default.
        let mut f = form();
        f.timezone = "Europe/Berlin".into();
        f.timezone_default = "Europe/Berlin".into();
        f.follow_program_zone(Some(chrono_tz::America::New_York));
        assert_eq!(
            (f.timezone.as_str(), f.timezone_default.as_str()),
            ("America/New_York", "America/New_York")
        );
        f.timezone = "Asia/Tokyo".into();
        f.follow_program_zone(Some(chrono_tz::Europe::Berlin));
        assert_eq!(
            (f.timezone.as_str(), f.timezone_default.as_str()),
            ("Asia/Tokyo", "Europe/Berlin")
        );
    }

    #[test]
    fn expiring_refuses_a_date_before_the_start() {
        let t = |d: u32| {
            Utc.with_ymd_and_hms(2026, 6, d, 12, 0, 0)
                .single()
                .expect("date")
        };
        let ny = chrono_tz::America::New_York;
        let now = t(10);
        // Active: now, or a chosen date from the start on.
        assert_eq!(expiry_end("A", Some(t(1)), None, None, now, ny), Ok(now));
        assert_eq!(
            expiry_end("A", Some(t(1)), None, Some(t(1)), now, ny),
            Ok(t(1))
        );
        assert_eq!(
            expiry_end("A", Some(t(1)), None, Some(t(20)), now, ny),
            Ok(t(20))
        );
        let e = expiry_end("A", Some(t(5)), None, Some(t(2)), now, ny).expect_err("before");
        assert!(
            e.contains("2026-06-02 08:00 EDT is before the code's start, 2026-06-05 08:00 EDT"),
            "{e}"
        );
        // Scheduled: expired now it ends at its start (never active).
        assert_eq!(expiry_end("S", Some(t(20)), None, None, now, ny), Ok(t(20)));
        assert!(expiry_end("S", Some(t(20)), None, Some(t(15)), now, ny).is_err());
        // Already expired, or ended at its start.
        let e = expiry_end("X", Some(t(1)), Some(t(3)), None, now, ny).expect_err("expired");
        assert_eq!(e, "X already expired on 2026-06-03 08:00 EDT.");
        let e = expiry_end("C", Some(t(20)), Some(t(20)), None, now, ny).expect_err("cancelled");
        assert!(e.contains("never becomes active"), "{e}");
    }

    #[test]
    fn an_edit_keeps_the_seconds_of_dates_posted_back_unchanged() {
        let stored = Utc.with_ymd_and_hms(2026, 5, 15, 19, 51, 28).single();
        let mut f = form();
        f.active_start = "2026-05-15T15:51".into(); // New York time
        let c = f.parse(tz).expect("valid").keeping_dates_of(stored, None);
        assert_eq!(c.active_start, stored);
        f.active_start = "2026-05-15T15:52".into();
        let c = f.parse(tz).expect("valid").keeping_dates_of(stored, None);
        assert_eq!(
            c.active_start,
            Utc.with_ymd_and_hms(2026, 5, 15, 19, 52, 0).single(),
            "a changed minute is the new date"
        );
    }

    #[test]
    fn labels_are_the_reference_vocabulary() {
        assert_eq!(CodeType::Tracking.label(), "TRACKING");
        assert_eq!(CreditRule::Winner.label(), "WINNER");
        assert_eq!(MatchMode::Literal.label(), "Exact (LI)");
        assert_eq!(MatchMode::Regex.label(), "Regex (RE)");
    }

    #[test]
    fn dates_in_a_chosen_zone_round_trip() {
        let paris = chrono_tz::Europe::Paris;
        let t = parse_local("2026-03-29T03:30", paris)
            .expect("valid")
            .expect("some");
        assert_eq!(format_input(Some(t), paris), "2026-03-29T03:30");
        assert!(
            parse_local("2026-03-29T02:30", paris).is_err(),
            "does not exist (DST gap)"
        );
        assert_eq!(
            parse_local("2026-01-05", paris).expect("bare date"),
            Some(
                Utc.with_ymd_and_hms(2026, 1, 4, 23, 0, 0)
                    .single()
                    .expect("utc")
            )
        );
        assert!(parse_local("05/01/2026", paris).is_err());
        assert_eq!(
            parse_local("2013-06-30T00:00:00-07:00", paris).expect("offset"),
            Some(
                Utc.with_ymd_and_hms(2013, 6, 30, 7, 0, 0)
                    .single()
                    .expect("utc")
            )
        );
    }

    #[test]
    fn restricted_codes_drop_partner_and_rule() {
        let mut f = form();
        f.code_type = "RESTRICTED".into();
        let c = f.parse(tz).expect("valid");
        assert_eq!((c.partner_id, c.credit_rule), (None, None));
        f.payout_percent = "5".into();
        assert!(f.parse(tz).expect_err("payout").has("payout_percent"));
    }

    #[test]
    fn every_bad_field_is_reported() {
        let f = CodeForm {
            program_id: "99".into(),
            code: "(unclosed".into(),
            code_type: "TRACKING".into(),
            match_mode: "RE".into(),
            timezone: "Nowhere/City".into(),
            active_start: "2026-02-01".into(),
            active_end: "2026-01-01".into(),
            ..Default::default()
        };
        let e = f.parse(tz).expect_err("invalid");
        for field in [
            "program_id",
            "code",
            "partner_id",
            "credit_rule",
            "timezone",
            "active_end",
        ] {
            assert!(e.has(field), "{field}: {e:?}");
        }
    }

    #[test]
    fn regex_codes_must_compile_and_not_match_empty() {
        assert!(validate_value("SUMMER.*", MatchMode::Regex).is_ok());
        assert!(validate_value(".*", MatchMode::Regex).is_err());
        assert!(validate_value("(AB", MatchMode::Regex).is_err());
        assert!(
            validate_value("(AB", MatchMode::Literal).is_ok(),
            "exact codes are text"
        );
        assert!(validate_value("A\tB", MatchMode::Literal).is_err());
    }

    #[test]
    fn a_new_code_without_start_starts_now() {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 12, 0, 0)
            .single()
            .expect("date");
        let c = form()
            .parse(tz)
            .expect("valid")
            .starting_now(now)
            .expect("starts");
        assert_eq!(c.active_start, Some(now));
        let mut f = form();
        f.active_end = "2026-01-01".into();
        let e = f
            .parse(tz)
            .expect("valid")
            .starting_now(now)
            .expect_err("end in the past");
        assert!(e.has("active_end"));
    }

    #[test]
    fn protected_cells_read_back_as_written() {
        for cell in [
            "=SUM(A1)", "+1", "-10OFF", "@x", "plain", "'quoted", "", "'", "'=1", "'-10OFF", "''x",
        ] {
            assert_eq!(csv_unsafe(&csv_safe(cell)), cell, "{cell:?}");
        }
        assert_eq!(
            csv_safe("'=1"),
            "''=1",
            "a leading apostrophe is protected too"
        );
        assert_eq!(csv_unsafe("'=1"), "=1");
        assert_eq!(
            csv_unsafe("'abc"),
            "'abc",
            "only a protecting apostrophe goes"
        );
    }

    #[test]
    fn csv_cells_are_protected_from_formulas() {
        assert_eq!(csv_safe("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_safe("+1"), "'+1");
        assert_eq!(csv_safe("-1"), "'-1");
        assert_eq!(csv_safe("@SUM"), "'@SUM");
        assert_eq!(csv_safe("SUMMER10"), "SUMMER10");
    }
}

/// Sortable columns of the code list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSort {
    Created,
    Code,
    Partner,
    Start,
    End,
}

impl CodeSort {
    pub fn parse(s: &str) -> Option<CodeSort> {
        Some(match s {
            "created" => CodeSort::Created,
            "code" => CodeSort::Code,
            "partner" => CodeSort::Partner,
            "start" => CodeSort::Start,
            "end" => CodeSort::End,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            CodeSort::Created => "created",
            CodeSort::Code => "code",
            CodeSort::Partner => "partner",
            CodeSort::Start => "start",
            CodeSort::End => "end",
        }
    }
}

/// The list's query string as sent (`q`, `status`, `partner`, `type`, ...).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CodeQueryForm {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub partner: String,
    #[serde(default, rename = "type")]
    pub code_type: String,
    #[serde(default)]
    pub match_mode: String,
    #[serde(default)]
    pub credit_rule: String,
    #[serde(default)]
    pub deal: String,
    #[serde(default)]
    pub program: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: String,
}

/// The list's filters, parsed. Unknown values are ignored (a bookmark with
/// an old value still opens).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeQuery {
    pub q: Option<String>,
    pub status: Option<CodeStatus>,
    pub partner: Option<PartnerId>,
    pub code_type: Option<CodeType>,
    pub match_mode: Option<MatchMode>,
    pub credit_rule: Option<CreditRule>,
    pub deal: Option<DealId>,
    pub program: Option<ProgramId>,
    pub sort: Option<CodeSort>,
    pub desc: bool,
    /// 1-based.
    pub page: u32,
}

pub const PAGE_SIZE: i64 = 50;

impl CodeQueryForm {
    pub fn parse(&self) -> CodeQuery {
        let id = |s: &str| s.trim().parse::<i64>().ok().filter(|v| *v > 0);
        let q = self.q.trim();
        let (desc, sort) = match self.sort.trim().strip_prefix('-') {
            Some(s) => (true, CodeSort::parse(s)),
            None => (false, CodeSort::parse(self.sort.trim())),
        };
        CodeQuery {
            q: (!q.is_empty()).then(|| q.chars().take(200).collect()),
            status: CodeStatus::parse(&self.status),
            partner: id(&self.partner).map(PartnerId),
            code_type: CodeType::parse(&self.code_type),
            match_mode: MatchMode::parse(&self.match_mode),
            credit_rule: CreditRule::parse(&self.credit_rule),
            deal: id(&self.deal).map(DealId),
            program: id(&self.program).map(ProgramId),
            sort,
            desc: sort.is_some() && desc,
            page: self
                .page
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|p| *p >= 1)
                .unwrap_or(1)
                .min(1_000_000),
        }
    }
}

impl CodeQuery {
    /// The query string of these filters, with another page or sort.
    pub fn to_query(&self, page: u32, sort: Option<(CodeSort, bool)>) -> String {
        let mut parts: Vec<(&str, String)> = Vec::new();
        if let Some(q) = &self.q {
            parts.push(("q", q.clone()));
        }
        if let Some(s) = self.status {
            parts.push(("status", s.as_str().into()));
        }
        if let Some(p) = self.partner {
            parts.push(("partner", p.0.to_string()));
        }
        if let Some(t) = self.code_type {
            parts.push(("type", t.as_str().into()));
        }
        if let Some(m) = self.match_mode {
            parts.push(("match_mode", m.as_str().into()));
        }
        if let Some(r) = self.credit_rule {
            parts.push(("credit_rule", r.as_str().into()));
        }
        if let Some(d) = self.deal {
            parts.push(("deal", d.0.to_string()));
        }
        if let Some(p) = self.program {
            parts.push(("program", p.0.to_string()));
        }
        let sort = sort.or(self.sort.map(|s| (s, self.desc)));
        if let Some((s, desc)) = sort {
            parts.push((
                "sort",
                format!("{}{}", if desc { "-" } else { "" }, s.as_str()),
            ));
        }
        if page > 1 {
            parts.push(("page", page.to_string()));
        }
        serde_urlencoded::to_string(&parts).unwrap_or_default()
    }

    /// The sort link of a column header: ascending first, then descending.
    pub fn sort_link(&self, column: CodeSort) -> String {
        let desc = self.sort == Some(column) && !self.desc;
        self.to_query(1, Some((column, desc)))
    }

    pub fn is_filtered(&self) -> bool {
        self.q.is_some()
            || self.status.is_some()
            || self.partner.is_some()
            || self.code_type.is_some()
            || self.match_mode.is_some()
            || self.credit_rule.is_some()
            || self.deal.is_some()
            || self.program.is_some()
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn query_strings_parse_and_round_trip() {
        let f = CodeQueryForm {
            q: " summer ".into(),
            status: "active".into(),
            code_type: "tracking".into(),
            partner: "x".into(),
            sort: "-code".into(),
            page: "3".into(),
            ..Default::default()
        };
        let q = f.parse();
        assert_eq!(q.q.as_deref(), Some("summer"));
        assert_eq!(q.status, Some(CodeStatus::Active));
        assert_eq!(q.code_type, Some(CodeType::Tracking));
        assert_eq!(q.partner, None, "a bad id is ignored");
        assert_eq!((q.sort, q.desc, q.page), (Some(CodeSort::Code), true, 3));
        assert_eq!(
            q.to_query(2, None),
            "q=summer&status=active&type=TRACKING&sort=-code&page=2"
        );
        assert_eq!(
            q.sort_link(CodeSort::Code),
            "q=summer&status=active&type=TRACKING&sort=code"
        );
        assert_eq!(
            q.sort_link(CodeSort::Start),
            "q=summer&status=active&type=TRACKING&sort=start"
        );
        assert!(q.is_filtered());
        assert_eq!(
            CodeQueryForm {
                page: "0".into(),
                ..Default::default()
            }
            .parse()
            .page,
            1
        );
    }
}
