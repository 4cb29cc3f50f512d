//! Table-driven tests of [`credit`] (SPEC §6), on one fixed program.

use super::*;
use crate::domain::code::parse_local;
use chrono::{TimeDelta, TimeZone};
use chrono_tz::America::New_York;
use std::str::FromStr;

// Partners.
const ACME: i64 = 1; // PREFERRED, 10 %
const HUB: i64 = 2; // PREFERRED, flat 5
const STD: i64 = 3; // STANDARD, 8 %
const STD2: i64 = 4; // STANDARD, 6 %
const LOW: i64 = 5; // NON_PREFERRED, flat 2
const GONE: i64 = 6; // PREFERRED, inactive
const NOPAY: i64 = 7; // PREFERRED, no default payout
const STRANGER: i64 = 99; // not in the directory

pub(super) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The default event instant.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 15, 12, 0, 0).unwrap()
}

fn ny(local: &str) -> DateTime<Utc> {
    parse_local(local, New_York).unwrap().unwrap()
}

fn partners() -> Partners {
    let p = |group, status, payout| PartnerFacts {
        credit_group: group,
        status,
        payout,
        media_id: 0,
    };
    use CreditGroup::*;
    use PartnerStatus::*;
    [
        (ACME, p(Preferred, Active, Some(Payout::Percent(dec("10"))))),
        (HUB, p(Preferred, Active, Some(Payout::Flat(dec("5.00"))))),
        (STD, p(Standard, Active, Some(Payout::Percent(dec("8"))))),
        (STD2, p(Standard, Active, Some(Payout::Percent(dec("6"))))),
        (LOW, p(NonPreferred, Active, Some(Payout::Flat(dec("2"))))),
        (
            GONE,
            p(Preferred, Inactive, Some(Payout::Percent(dec("10")))),
        ),
        (NOPAY, p(Preferred, Active, None)),
    ]
    .into_iter()
    .map(|(id, f)| {
        (
            PartnerId(id),
            PartnerFacts {
                media_id: 1000 + id,
                ..f
            },
        )
    })
    .collect()
}

fn code(id: i64, value: &str, mode: MatchMode, kind: CodeKind) -> CodeFacts {
    CodeFacts {
        id: CodeId(id),
        value: value.to_owned(),
        match_mode: mode,
        kind,
        payout: None,
        active_start: None,
        active_end: None,
        created_at: utc("2025-01-01T00:00:00Z"),
    }
}

fn tracking(partner: i64, rule: CreditRule) -> CodeKind {
    CodeKind::Tracking {
        partner: PartnerId(partner),
        rule,
    }
}

fn program() -> ProgramCodes {
    use CreditRule::*;
    use MatchMode::{Literal as LI, Regex as RE};
    let mut codes = vec![
        code(1, "ALWAYS1", LI, tracking(ACME, Always)),
        code(2, "INVOLVED1", LI, tracking(ACME, Involved)),
        code(3, "WINNER1", LI, tracking(ACME, Winner)),
        code(4, "STDALWAYS", LI, tracking(STD, Always)),
        code(5, "STDINVOLVED", LI, tracking(STD, Involved)),
        code(6, "LOWALWAYS", LI, tracking(LOW, Always)),
        code(7, "STAFF", LI, CodeKind::Restricted),
        code(8, "GONE1", LI, tracking(GONE, Always)),
        code(9, "SUMMER10", LI, tracking(HUB, Always)),
        code(10, "SUMMER.*", RE, tracking(ACME, Always)),
        code(11, "SUM.*", RE, tracking(STD, Always)),
        code(12, "SUMMER2[0-9]", RE, tracking(STD2, Always)),
        code(13, "R[0-9]+", RE, tracking(LOW, Always)),
        code(14, "^(?i)vip[0-9]{2}$", RE, tracking(HUB, Always)),
        CodeFacts {
            payout: Some(Payout::Percent(dec("20"))),
            ..code(15, "OVERRIDE", LI, tracking(ACME, Always))
        },
        CodeFacts {
            payout: Some(Payout::Flat(dec("3.50"))),
            ..code(16, "FLATCODE", LI, tracking(ACME, Always))
        },
        CodeFacts {
            payout: Some(Payout::Percent(dec("0"))),
            ..code(17, "ZERO", LI, tracking(ACME, Always))
        },
        // Dates typed in New York; the spring window ends the day the clocks go forward.
        CodeFacts {
            active_start: Some(ny("2026-03-01T00:00")),
            active_end: Some(ny("2026-03-08T03:00")),
            ..code(18, "SPRING", LI, tracking(ACME, Always))
        },
        // Ends at 01:30 on the day the clocks go back (01:30 happens twice: the first one).
        CodeFacts {
            active_start: Some(ny("2026-10-01")),
            active_end: Some(ny("2026-11-01T01:30")),
            ..code(19, "FALLBACK", LI, tracking(HUB, Always))
        },
        code(20, "STDWINNER", LI, tracking(STD, Winner)),
        code(21, "NOPAY1", LI, tracking(NOPAY, Always)),
        CodeFacts {
            payout: Some(Payout::Percent(dec("50"))),
            ..code(22, "STDOVERRIDE", LI, tracking(STD, Always))
        },
        code(23, "STRANGER1", LI, tracking(STRANGER, Always)),
    ];
    // Given in no particular order.
    codes.reverse();
    let (p, errors) = ProgramCodes::build(codes);
    assert!(errors.is_empty(), "{errors:?}");
    p
}

#[test]
fn the_boundaries_are_what_the_cases_assume() {
    // 00:00 EST = 05:00 UTC; 03:00 EDT (clocks went 02:00 -> 03:00) = 07:00 UTC.
    assert_eq!(ny("2026-03-01T00:00"), utc("2026-03-01T05:00:00Z"));
    assert_eq!(ny("2026-03-08T03:00"), utc("2026-03-08T07:00:00Z"));
    // The first 01:30 of 1 November is still EDT: 05:30 UTC (the second is 06:30 UTC).
    assert_eq!(ny("2026-11-01T01:30"), utc("2026-11-01T05:30:00Z"));
}

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    entered: &'static [&'static str],
    /// (partner, minutes before the event), oldest first.
    clicks: &'static [(i64, i64)],
    /// RFC 3339; empty: [`t0`].
    at: &'static str,
    tracking: bool,
    sale: &'static str,
    reason: CreditReason,
    credited: Option<i64>,
    /// `None`: not checked.
    winner: Option<Option<i64>>,
    matched: Option<i64>,
    valid: bool,
    /// For `partner_inactive`: the refused partner and how it was chosen.
    chosen: Option<(i64, CreditReason)>,
    misuse: &'static [(usize, MisuseKind, Option<i64>)],
    /// `""`: not checked.
    payout: &'static str,
}

const BASE: Case = Case {
    name: "",
    entered: &[],
    clicks: &[],
    at: "",
    tracking: true,
    sale: "100.00",
    reason: CreditReason::Unattributed,
    credited: None,
    winner: None,
    matched: None,
    valid: true,
    chosen: None,
    misuse: &[],
    payout: "",
};

use CreditReason as R;
use MisuseKind::{Expired, NotYetActive, Unknown};

const NO_CLICK: &[(i64, i64)] = &[];
const OWN_WON: &[(i64, i64)] = &[(HUB, 30), (ACME, 10)];
const OWN_LOST: &[(i64, i64)] = &[(ACME, 30), (HUB, 10)];
const OTHER_WON: &[(i64, i64)] = &[(HUB, 10)];

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- Each rule x {no click, own click won, own click involved but lost, another won}.
    Case { name: "always / no click", entered: &["ALWAYS1"], clicks: NO_CLICK, reason: R::CodeAlways, credited: Some(ACME), winner: Some(None), matched: Some(1), payout: "10.00", ..BASE },
    Case { name: "always / own click won", entered: &["ALWAYS1"], clicks: OWN_WON, reason: R::CodeAlways, credited: Some(ACME), winner: Some(Some(ACME)), matched: Some(1), ..BASE },
    Case { name: "always / own click lost", entered: &["ALWAYS1"], clicks: OWN_LOST, reason: R::CodeAlways, credited: Some(ACME), winner: Some(Some(HUB)), matched: Some(1), payout: "10.00", ..BASE },
    Case { name: "always / other won", entered: &["ALWAYS1"], clicks: OTHER_WON, reason: R::CodeAlways, credited: Some(ACME), winner: Some(Some(HUB)), matched: Some(1), ..BASE },
    Case { name: "involved / no click", entered: &["INVOLVED1"], clicks: NO_CLICK, reason: R::Unattributed, credited: None, winner: Some(None), matched: Some(2), payout: "0", ..BASE },
    Case { name: "involved / own click won", entered: &["INVOLVED1"], clicks: OWN_WON, reason: R::CodeInvolved, credited: Some(ACME), winner: Some(Some(ACME)), matched: Some(2), ..BASE },
    Case { name: "involved / own click lost", entered: &["INVOLVED1"], clicks: OWN_LOST, reason: R::CodeInvolved, credited: Some(ACME), winner: Some(Some(HUB)), matched: Some(2), payout: "10.00", ..BASE },
    Case { name: "involved / other won", entered: &["INVOLVED1"], clicks: OTHER_WON, reason: R::CodeOwnedByOtherPartner, credited: None, winner: Some(Some(HUB)), matched: Some(2), valid: false, payout: "0", ..BASE },
    Case { name: "winner / no click", entered: &["WINNER1"], clicks: NO_CLICK, reason: R::Unattributed, credited: None, winner: Some(None), matched: Some(3), ..BASE },
    Case { name: "winner / own click won", entered: &["WINNER1"], clicks: OWN_WON, reason: R::CodeWinner, credited: Some(ACME), winner: Some(Some(ACME)), matched: Some(3), payout: "10.00", ..BASE },
    Case { name: "winner / own click lost", entered: &["WINNER1"], clicks: OWN_LOST, reason: R::CodeOwnedByOtherPartner, credited: None, winner: Some(Some(HUB)), matched: Some(3), valid: false, payout: "0", ..BASE },
    Case { name: "winner / other won", entered: &["WINNER1"], clicks: OTHER_WON, reason: R::CodeOwnedByOtherPartner, credited: None, winner: Some(Some(HUB)), matched: Some(3), valid: false, ..BASE },
    // --- Credit groups come first.
    Case { name: "standard ALWAYS code against a preferred click", entered: &["STDALWAYS"], clicks: &[(ACME, 10)], reason: R::CreditGroup, credited: Some(ACME), winner: Some(Some(ACME)), matched: Some(4), payout: "10.00", ..BASE },
    Case { name: "standard ALWAYS code, own later click, preferred earlier", entered: &["STDALWAYS"], clicks: &[(ACME, 30), (STD, 10)], reason: R::CreditGroup, credited: Some(ACME), winner: Some(Some(ACME)), matched: Some(4), ..BASE },
    Case { name: "standard ALWAYS code against an equal group click", entered: &["STDALWAYS"], clicks: &[(STD2, 10)], reason: R::CodeAlways, credited: Some(STD), winner: Some(Some(STD2)), matched: Some(4), payout: "8.00", ..BASE },
    Case { name: "standard ALWAYS code against a lower group click", entered: &["STDALWAYS"], clicks: &[(LOW, 10)], reason: R::CodeAlways, credited: Some(STD), winner: Some(Some(LOW)), matched: Some(4), ..BASE },
    Case { name: "standard INVOLVED code, only a lower group click", entered: &["STDINVOLVED"], clicks: &[(LOW, 10)], reason: R::CodeOwnedByOtherPartner, credited: None, winner: Some(Some(LOW)), matched: Some(5), valid: false, ..BASE },
    Case { name: "standard INVOLVED code, own click then a lower group click", entered: &["STDINVOLVED"], clicks: &[(STD, 30), (LOW, 10)], reason: R::CodeInvolved, credited: Some(STD), winner: Some(Some(STD)), matched: Some(5), ..BASE },
    Case { name: "standard INVOLVED code, own click and a preferred click", entered: &["STDINVOLVED"], clicks: &[(STD, 5), (ACME, 30)], reason: R::CreditGroup, credited: Some(ACME), winner: Some(Some(ACME)), matched: Some(5), ..BASE },
    Case { name: "non-preferred ALWAYS code against a standard click", entered: &["LOWALWAYS"], clicks: &[(STD, 10)], reason: R::CreditGroup, credited: Some(STD), winner: Some(Some(STD)), matched: Some(6), payout: "8.00", ..BASE },
    Case { name: "preferred WINNER code: own earlier click beats a later standard click", entered: &["WINNER1"], clicks: &[(ACME, 30), (STD, 10)], reason: R::CodeWinner, credited: Some(ACME), winner: Some(Some(ACME)), matched: Some(3), ..BASE },
    Case { name: "standard WINNER code: own click beats a later lower click", entered: &["STDWINNER"], clicks: &[(STD, 30), (LOW, 10)], reason: R::CodeWinner, credited: Some(STD), winner: Some(Some(STD)), matched: Some(20), ..BASE },
    Case { name: "no code: the highest group's last click wins", entered: &[], clicks: &[(ACME, 30), (STD, 20), (LOW, 10)], reason: R::ClickWinner, credited: Some(ACME), winner: Some(Some(ACME)), payout: "10.00", ..BASE },
    Case { name: "no code: equal groups, the last click wins", entered: &[], clicks: &[(ACME, 30), (HUB, 10)], reason: R::ClickWinner, credited: Some(HUB), winner: Some(Some(HUB)), payout: "5.00", ..BASE },
    Case { name: "no code, no click", entered: &[], clicks: NO_CLICK, reason: R::Unattributed, credited: None, winner: Some(None), payout: "0", ..BASE },
    // --- Restricted codes.
    Case { name: "restricted code, no click", entered: &["STAFF"], reason: R::RestrictedCode, credited: None, winner: Some(None), matched: Some(7), payout: "0", ..BASE },
    Case { name: "restricted code against a click", entered: &["STAFF"], clicks: &[(ACME, 10)], reason: R::RestrictedCode, credited: None, winner: Some(Some(ACME)), matched: Some(7), payout: "0", ..BASE },
    Case { name: "restricted code first, tracking code second", entered: &["STAFF", "ALWAYS1"], reason: R::RestrictedCode, credited: None, matched: Some(7), ..BASE },
    Case { name: "unknown code, then restricted code", entered: &["NOPE", "staff"], clicks: &[(ACME, 10)], reason: R::RestrictedCode, credited: None, matched: Some(7), misuse: &[(0, Unknown, None)], ..BASE },
    // --- Scheduled and expired codes at the exact boundaries (dates typed in New York).
    Case { name: "spring code one second before its start", entered: &["SPRING"], clicks: &[(HUB, 10)], at: "2026-03-01T04:59:59Z", reason: R::ClickWinner, credited: Some(HUB), misuse: &[(0, NotYetActive, Some(18))], ..BASE },
    Case { name: "spring code at its start", entered: &["SPRING"], clicks: &[(HUB, 10)], at: "2026-03-01T05:00:00Z", reason: R::CodeAlways, credited: Some(ACME), matched: Some(18), ..BASE },
    Case { name: "spring code one second after its start", entered: &["SPRING"], at: "2026-03-01T05:00:01Z", reason: R::CodeAlways, credited: Some(ACME), matched: Some(18), ..BASE },
    Case { name: "spring code one second before its end", entered: &["SPRING"], at: "2026-03-08T06:59:59Z", reason: R::CodeAlways, credited: Some(ACME), matched: Some(18), ..BASE },
    Case { name: "spring code at its end", entered: &["SPRING"], at: "2026-03-08T07:00:00Z", reason: R::Unattributed, credited: None, misuse: &[(0, Expired, Some(18))], ..BASE },
    Case { name: "spring code one second after its end", entered: &["SPRING"], clicks: &[(HUB, 10)], at: "2026-03-08T07:00:01Z", reason: R::ClickWinner, credited: Some(HUB), misuse: &[(0, Expired, Some(18))], ..BASE },
    Case { name: "fall code one second before its end (01:29:59 EDT)", entered: &["FALLBACK"], at: "2026-11-01T05:29:59Z", reason: R::CodeAlways, credited: Some(HUB), matched: Some(19), ..BASE },
    Case { name: "fall code at its end (01:30 EDT)", entered: &["FALLBACK"], at: "2026-11-01T05:30:00Z", reason: R::Unattributed, misuse: &[(0, Expired, Some(19))], ..BASE },
    Case { name: "fall code at the second 01:29:59 (EST) is expired", entered: &["FALLBACK"], at: "2026-11-01T06:29:59Z", reason: R::Unattributed, misuse: &[(0, Expired, Some(19))], ..BASE },
    // --- Several entered codes.
    Case { name: "unknown then tracking code", entered: &["NOPE", "ALWAYS1"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), misuse: &[(0, Unknown, None)], ..BASE },
    Case { name: "unknown, expired, then tracking code", entered: &["NOPE", "spring", "INVOLVED1"], clicks: &[(ACME, 10)], reason: R::CodeInvolved, credited: Some(ACME), matched: Some(2), misuse: &[(0, Unknown, None), (1, Expired, Some(18))], ..BASE },
    Case { name: "unknown, unknown, then tracking code", entered: &["NOPE", "NADA", "WINNER1"], clicks: &[(ACME, 10)], reason: R::CodeWinner, credited: Some(ACME), matched: Some(3), misuse: &[(0, Unknown, None), (1, Unknown, None)], ..BASE },
    Case { name: "tracking code then unknown: the later one is still recorded", entered: &["ALWAYS1", "NOPE"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), misuse: &[(1, Unknown, None)], ..BASE },
    Case { name: "the first matching code decides (against the second)", entered: &["WINNER1", "ALWAYS1"], clicks: OTHER_WON, reason: R::CodeOwnedByOtherPartner, credited: None, winner: Some(Some(HUB)), matched: Some(3), valid: false, ..BASE },
    Case { name: "the first matching code decides (for the second)", entered: &["ALWAYS1", "WINNER1"], clicks: OTHER_WON, reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), ..BASE },
    Case { name: "the same unknown text twice is one misuse", entered: &["NOPE", " NOPE ", "NOPE2"], reason: R::Unattributed, misuse: &[(0, Unknown, None), (2, Unknown, None)], ..BASE },
    Case { name: "empty entered codes are not codes", entered: &["", "  ", "ALWAYS1"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), ..BASE },
    // --- Case and whitespace.
    Case { name: "exact code trimmed and in lower case", entered: &["  always1\t"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), ..BASE },
    Case { name: "exact code in mixed case", entered: &["Always1"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), ..BASE },
    Case { name: "regex code is case-sensitive", entered: &["r12"], reason: R::Unattributed, misuse: &[(0, Unknown, None)], ..BASE },
    Case { name: "regex code matches in its case", entered: &[" R12 "], reason: R::CodeAlways, credited: Some(LOW), matched: Some(13), payout: "2.00", ..BASE },
    Case { name: "(?i) regex code in lower case", entered: &["vip12"], reason: R::CodeAlways, credited: Some(HUB), matched: Some(14), ..BASE },
    Case { name: "(?i) regex code in upper case", entered: &["VIP12"], reason: R::CodeAlways, credited: Some(HUB), matched: Some(14), ..BASE },
    Case { name: "regex must match the whole code", entered: &["VIP123"], reason: R::Unattributed, misuse: &[(0, Unknown, None)], ..BASE },
    // --- Exact before regex; longest regex first.
    Case { name: "exact code wins over a matching regex", entered: &["SUMMER10"], reason: R::CodeAlways, credited: Some(HUB), matched: Some(9), ..BASE },
    Case { name: "exact code wins over a regex, in lower case", entered: &["summer10"], reason: R::CodeAlways, credited: Some(HUB), matched: Some(9), ..BASE },
    Case { name: "longer regex wins (SUMMER.* over SUM.*)", entered: &["SUMMERX"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(10), ..BASE },
    Case { name: "longest regex wins (SUMMER2[0-9] over SUMMER.* and SUM.*)", entered: &["SUMMER25"], reason: R::CodeAlways, credited: Some(STD2), matched: Some(12), payout: "6.00", ..BASE },
    Case { name: "only the short regex matches", entered: &["SUMX"], reason: R::CodeAlways, credited: Some(STD), matched: Some(11), ..BASE },
    // --- Inactive partners.
    Case { name: "code of an inactive partner", entered: &["GONE1"], reason: R::PartnerInactive, credited: None, matched: Some(8), valid: false, chosen: Some((GONE, R::CodeAlways)), payout: "0", ..BASE },
    Case { name: "inactive partner wins by click", entered: &[], clicks: &[(ACME, 30), (GONE, 10)], reason: R::PartnerInactive, credited: None, winner: Some(Some(GONE)), valid: false, chosen: Some((GONE, R::ClickWinner)), payout: "0", ..BASE },
    Case { name: "ALWAYS code against an inactive partner's click", entered: &["ALWAYS1"], clicks: &[(GONE, 10)], reason: R::CodeAlways, credited: Some(ACME), winner: Some(Some(GONE)), matched: Some(1), ..BASE },
    Case { name: "credit group sends it to an inactive partner", entered: &["STDALWAYS"], clicks: &[(GONE, 10)], reason: R::PartnerInactive, credited: None, winner: Some(Some(GONE)), matched: Some(4), valid: false, chosen: Some((GONE, R::CreditGroup)), ..BASE },
    Case { name: "a partner missing from the directory counts as inactive", entered: &[], clicks: &[(STRANGER, 10)], reason: R::PartnerInactive, credited: None, winner: Some(Some(STRANGER)), valid: false, chosen: Some((STRANGER, R::ClickWinner)), payout: "0", ..BASE },
    Case { name: "a code of a partner missing from the directory", entered: &["STRANGER1"], reason: R::PartnerInactive, credited: None, matched: Some(23), valid: false, chosen: Some((STRANGER, R::CodeAlways)), ..BASE },
    // --- Tracking disabled.
    Case { name: "tracking off: code and a winner", entered: &["ALWAYS1"], clicks: OTHER_WON, tracking: false, reason: R::TrackingDisabled, credited: Some(HUB), winner: Some(Some(HUB)), matched: None, payout: "5.00", ..BASE },
    Case { name: "tracking off: code and no click", entered: &["ALWAYS1"], tracking: false, reason: R::TrackingDisabled, credited: None, winner: Some(None), payout: "0", ..BASE },
    Case { name: "tracking off: no code", entered: &[], clicks: OTHER_WON, tracking: false, reason: R::ClickWinner, credited: Some(HUB), ..BASE },
    Case { name: "tracking off: a blank code is no code", entered: &["  "], clicks: OTHER_WON, tracking: false, reason: R::ClickWinner, credited: Some(HUB), ..BASE },
    Case { name: "tracking off: no code, no click", entered: &[], tracking: false, reason: R::Unattributed, ..BASE },
    Case { name: "tracking off: unknown codes are not recorded", entered: &["NOPE", "SPRING"], clicks: OTHER_WON, tracking: false, reason: R::TrackingDisabled, credited: Some(HUB), ..BASE },
    Case { name: "tracking off: inactive winner", entered: &["ALWAYS1"], clicks: &[(GONE, 10)], tracking: false, reason: R::PartnerInactive, credited: None, valid: false, chosen: Some((GONE, R::TrackingDisabled)), payout: "0", ..BASE },
    Case { name: "tracking off: the code's override does not apply", entered: &["OVERRIDE"], clicks: &[(ACME, 10)], tracking: false, reason: R::TrackingDisabled, credited: Some(ACME), payout: "10.00", ..BASE },
    // --- Payout.
    Case { name: "payout: code override percent", entered: &["OVERRIDE"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(15), payout: "20.00", ..BASE },
    Case { name: "payout: code override flat", entered: &["FLATCODE"], sale: "999.99", reason: R::CodeAlways, credited: Some(ACME), matched: Some(16), payout: "3.50", ..BASE },
    Case { name: "payout: code override zero", entered: &["ZERO"], reason: R::CodeAlways, credited: Some(ACME), matched: Some(17), payout: "0", ..BASE },
    Case { name: "payout: partner default flat", entered: &["SUMMER10"], sale: "12.34", reason: R::CodeAlways, credited: Some(HUB), matched: Some(9), payout: "5.00", ..BASE },
    Case { name: "payout: half a cent rounds up (0.005)", entered: &["ALWAYS1"], sale: "0.05", reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), payout: "0.01", ..BASE },
    Case { name: "payout: half a cent rounds up, not to even (0.025)", entered: &["ALWAYS1"], sale: "0.25", reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), payout: "0.03", ..BASE },
    Case { name: "payout: 12.345 rounds to 12.35", entered: &["ALWAYS1"], sale: "123.45", reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), payout: "12.35", ..BASE },
    Case { name: "payout: below half a cent rounds down (6% of 0.08)", entered: &["SUMMER25"], sale: "0.08", reason: R::CodeAlways, credited: Some(STD2), matched: Some(12), payout: "0.00", ..BASE },
    Case { name: "payout: credit group pays the winner's default, not the code's override", entered: &["STDOVERRIDE"], clicks: &[(ACME, 10)], reason: R::CreditGroup, credited: Some(ACME), matched: Some(22), payout: "10.00", ..BASE },
    Case { name: "payout: partner without a default payout", entered: &["NOPAY1"], reason: R::CodeAlways, credited: Some(NOPAY), matched: Some(21), payout: "0", ..BASE },
    Case { name: "payout: zero sale", entered: &["ALWAYS1"], sale: "0", reason: R::CodeAlways, credited: Some(ACME), matched: Some(1), payout: "0", ..BASE },
];

fn run(case: &Case, codes: &ProgramCodes, partners: &Partners) -> Decision {
    let at = if case.at.is_empty() {
        t0()
    } else {
        utc(case.at)
    };
    let journey: Vec<Click> = case
        .clicks
        .iter()
        .map(|&(p, minutes)| Click {
            partner: PartnerId(p),
            clicked_at: at - TimeDelta::minutes(minutes),
        })
        .collect();
    let conversion = Conversion {
        event_date: at,
        entered_codes: case.entered,
        sale_amount: dec(case.sale),
    };
    credit(&conversion, &journey, codes, partners, case.tracking)
}

/// Returns what is wrong with the decision for `case`, if anything.
fn check(case: &Case, d: &Decision) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut expect = |what: &str, ok: bool, got: String| {
        if !ok {
            wrong.push(format!("{what}: got {got}"));
        }
    };
    expect("reason", d.reason == case.reason, format!("{:?}", d.reason));
    expect(
        "credited",
        d.credited == case.credited.map(PartnerId),
        format!("{:?}", d.credited),
    );
    if let Some(w) = case.winner {
        expect(
            "winner",
            d.winner == w.map(PartnerId),
            format!("{:?}", d.winner),
        );
    }
    if case.tracking {
        expect(
            "matched",
            d.matched.map(|m| m.code) == case.matched.map(CodeId),
            format!("{:?}", d.matched),
        );
    } else {
        expect(
            "matched (tracking off)",
            d.matched.is_none(),
            format!("{:?}", d.matched),
        );
    }
    expect("valid", d.valid == case.valid, d.valid.to_string());
    match case.chosen {
        Some((p, by)) => expect(
            "chosen",
            d.chosen == Some(PartnerId(p)) && d.chosen_by == by,
            format!("{:?} by {:?}", d.chosen, d.chosen_by),
        ),
        None => expect(
            "chosen = credited",
            d.chosen == d.credited && d.chosen_by == d.reason,
            format!("{:?} by {:?}", d.chosen, d.chosen_by),
        ),
    }
    let misuse: Vec<(usize, MisuseKind, Option<i64>)> = d
        .misuse
        .iter()
        .map(|m| (m.entered_index, m.kind, m.code.map(|c| c.0)))
        .collect();
    expect("misuse", misuse == case.misuse, format!("{misuse:?}"));
    if !case.payout.is_empty() {
        expect(
            "payout",
            d.payout == dec(case.payout) && d.payout.scale() <= 2,
            d.payout.to_string(),
        );
    }
    // Invariants of every decision.
    expect(
        "invalid decisions credit nobody and pay nothing",
        d.valid || (d.credited.is_none() && d.payout.is_zero()),
        format!("{d:?}"),
    );
    expect(
        "nobody credited pays nothing",
        d.credited.is_some() || d.payout.is_zero(),
        d.payout.to_string(),
    );
    expect(
        "valid matches the reason",
        d.valid == d.reason.is_valid(),
        d.valid.to_string(),
    );
    wrong
}

#[test]
fn credits_each_case_as_the_spec_says() {
    assert!(CASES.len() >= 40, "{} cases", CASES.len());
    let codes = program();
    let partners = partners();
    let mut failures = Vec::new();
    for case in CASES {
        let d = run(case, &codes, &partners);
        let wrong = check(case, &d);
        if !wrong.is_empty() {
            failures.push(format!("{}:\n    {}", case.name, wrong.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn case_names_are_distinct() {
    let mut names: Vec<&str> = CASES.iter().map(|c| c.name).collect();
    names.sort();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n);
}

#[test]
fn the_decision_carries_what_an_explanation_needs() {
    let codes = program();
    let partners = partners();
    // INVOLVED code of Acme; Acme clicked first, Hub won.
    let at = t0();
    let journey = [
        Click {
            partner: PartnerId(ACME),
            clicked_at: at - TimeDelta::minutes(50),
        },
        Click {
            partner: PartnerId(ACME),
            clicked_at: at - TimeDelta::minutes(30),
        },
        Click {
            partner: PartnerId(HUB),
            clicked_at: at - TimeDelta::minutes(10),
        },
    ];
    let entered = ["NOPE".to_string(), " involved1 ".to_string()];
    let conversion = Conversion {
        event_date: at,
        entered_codes: &entered,
        sale_amount: dec("50"),
    };
    let d = credit(&conversion, &journey, &codes, &partners, true);
    assert_eq!(d.reason, CreditReason::CodeInvolved);
    let m = d.matched.expect("matched");
    assert_eq!(m.code, CodeId(2));
    assert_eq!(m.entered_index, 1);
    assert_eq!(d.entered_code(&conversion), Some(" involved1 "));
    assert_eq!(m.kind, tracking(ACME, CreditRule::Involved));
    assert_eq!(m.match_mode, MatchMode::Literal);
    assert_eq!(m.partner_last_click, Some(1));
    assert!(m.partner_involved());
    assert_eq!(d.winner, Some(PartnerId(HUB)));
    assert_eq!(d.winning_click, Some(2));
    assert_eq!(d.involved, vec![PartnerId(ACME), PartnerId(HUB)]);
    assert_eq!(d.payout, dec("5.00"));
    assert_eq!(
        d.payout_basis,
        PayoutBasis::PartnerDefault(Payout::Percent(dec("10")))
    );
    assert_eq!(
        codes.code(m.code).map(|c| c.value.as_str()),
        Some("INVOLVED1")
    );
    assert_eq!(
        partners.partner(PartnerId(ACME)).map(|p| p.media_id),
        Some(1001)
    );

    let entered = ["OVERRIDE"];
    let conversion = Conversion {
        event_date: at,
        entered_codes: &entered[..],
        sale_amount: dec("50"),
    };
    let d = credit(&conversion, &[], &codes, &partners, true);
    assert_eq!(
        d.payout_basis,
        PayoutBasis::CodeOverride(Payout::Percent(dec("20")))
    );
    assert_eq!(d.matched.map(|m| m.partner_involved()), Some(false));
    let d = credit(
        &Conversion {
            entered_codes: &["NOPAY1"][..],
            ..conversion
        },
        &[],
        &codes,
        &partners,
        true,
    );
    assert_eq!(d.payout_basis, PayoutBasis::NoPayoutSet);
    let d = credit(
        &Conversion {
            entered_codes: &["STAFF"][..],
            ..conversion
        },
        &[],
        &codes,
        &partners,
        true,
    );
    assert_eq!(d.payout_basis, PayoutBasis::NotCredited);
    assert_eq!(d.matched.map(|m| m.kind), Some(CodeKind::Restricted));
}

#[test]
fn the_winner_is_the_latest_click_whatever_the_order_given() {
    let partners = partners();
    let codes = program();
    let at = t0();
    let journey = [
        Click {
            partner: PartnerId(HUB),
            clicked_at: at - TimeDelta::minutes(5),
        },
        Click {
            partner: PartnerId(ACME),
            clicked_at: at - TimeDelta::minutes(50),
        },
        Click {
            partner: PartnerId(STD),
            clicked_at: at - TimeDelta::minutes(1),
        },
    ];
    let conversion = Conversion {
        event_date: at,
        entered_codes: &[] as &[&str],
        sale_amount: dec("1"),
    };
    let d = credit(&conversion, &journey, &codes, &partners, true);
    assert_eq!(d.winner, Some(PartnerId(HUB)));
    assert_eq!(d.winning_click, Some(0));
    assert_eq!(
        d.involved,
        vec![PartnerId(HUB), PartnerId(ACME), PartnerId(STD)]
    );
    // Same instant: the later in the list.
    let same = [
        Click {
            partner: PartnerId(HUB),
            clicked_at: at,
        },
        Click {
            partner: PartnerId(ACME),
            clicked_at: at,
        },
    ];
    let d = credit(&conversion, &same, &codes, &partners, true);
    assert_eq!(d.winner, Some(PartnerId(ACME)));
}

#[test]
fn equal_regexes_rank_oldest_then_lowest_id() {
    let mk = |id: i64, partner: i64, created: &str| CodeFacts {
        created_at: utc(created),
        ..code(
            id,
            "PROMO[0-9]",
            MatchMode::Regex,
            tracking(partner, CreditRule::Always),
        )
    };
    let partners = partners();
    let at = t0();
    let conversion = Conversion {
        event_date: at,
        entered_codes: &["PROMO1"][..],
        sale_amount: dec("1"),
    };
    // Oldest first, whatever the ids.
    let (codes, _) = ProgramCodes::build(vec![
        mk(5, ACME, "2025-02-01T00:00:00Z"),
        mk(9, HUB, "2025-01-01T00:00:00Z"),
    ]);
    assert_eq!(
        credit(&conversion, &[], &codes, &partners, true)
            .matched
            .map(|m| m.code),
        Some(CodeId(9))
    );
    // Same age: the lowest id, whatever the order given.
    let (codes, _) = ProgramCodes::build(vec![
        mk(9, HUB, "2025-01-01T00:00:00Z"),
        mk(5, ACME, "2025-01-01T00:00:00Z"),
    ]);
    assert_eq!(
        credit(&conversion, &[], &codes, &partners, true)
            .matched
            .map(|m| m.code),
        Some(CodeId(5))
    );
}

#[test]
fn build_reports_bad_regexes_by_code_id() {
    let (codes, errors) = ProgramCodes::build(vec![
        code(
            40,
            "OK[0-9]",
            MatchMode::Regex,
            tracking(ACME, CreditRule::Always),
        ),
        code(
            41,
            "BAD(",
            MatchMode::Regex,
            tracking(ACME, CreditRule::Always),
        ),
        code(
            42,
            ".*",
            MatchMode::Regex,
            tracking(ACME, CreditRule::Always),
        ),
        code(43, "PLAIN", MatchMode::Literal, CodeKind::Restricted),
    ]);
    let ids: Vec<CodeId> = errors.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![CodeId(41), CodeId(42)]);
    assert_eq!(codes.len(), 4);
    assert!(codes.code(CodeId(41)).is_some());
    assert!(codes.code(CodeId(44)).is_none());
    let partners = partners();
    let conversion = Conversion {
        event_date: t0(),
        entered_codes: &["OK1", "plain"][..],
        sale_amount: dec("1"),
    };
    let d = credit(&conversion, &[], &codes, &partners, true);
    assert_eq!(d.matched.map(|m| m.code), Some(CodeId(40)));
    assert!(d.misuse.is_empty());
}

#[test]
fn many_entered_codes_are_deduplicated_too() {
    let codes = program();
    let partners = partners();
    let mut entered: Vec<String> = (0..40).map(|i| format!("X{}", i % 20)).collect();
    entered.push("ALWAYS1".into());
    let conversion = Conversion {
        event_date: t0(),
        entered_codes: &entered,
        sale_amount: dec("1"),
    };
    let d = credit(&conversion, &[], &codes, &partners, true);
    assert_eq!(d.reason, CreditReason::CodeAlways);
    assert_eq!(d.matched.map(|m| m.entered_index), Some(40));
    let at: Vec<usize> = d.misuse.iter().map(|m| m.entered_index).collect();
    assert_eq!(at, (0..20).collect::<Vec<_>>());
}

#[test]
fn reasons_and_misuse_kinds_are_the_schema_names() {
    let schema = include_str!("../../../migrations/2026-11-24-000001_schema/up.sql");
    let check_list = |table: &str, column: &str| -> Vec<String> {
        let table = schema.find(&format!("CREATE TABLE {table} ")).expect(table);
        let start = table + schema[table..].find(&format!("{column} ")).expect(column);
        let rest = &schema[start..];
        let open = rest.find("IN (").expect("IN (") + 4;
        let close = open + rest[open..].find(')').expect(")");
        rest[open..close]
            .split(',')
            .map(|s| s.trim().trim_matches('\'').to_string())
            .collect()
    };
    let mut reasons = check_list("actions", "credit_reason");
    let mut ours: Vec<String> = CreditReason::ALL
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    reasons.sort();
    ours.sort();
    assert_eq!(ours, reasons);
    for r in CreditReason::ALL {
        assert_eq!(CreditReason::parse(r.as_str()), Some(r));
        assert_eq!(
            CreditReason::parse(&format!(" {} ", r.as_str().to_uppercase())),
            Some(r)
        );
        assert_eq!(r.to_string(), r.as_str());
    }
    assert_eq!(CreditReason::parse("credited"), None);
    let valid: Vec<CreditReason> = CreditReason::ALL
        .into_iter()
        .filter(|r| !r.is_valid())
        .collect();
    assert_eq!(
        valid,
        vec![
            CreditReason::CodeOwnedByOtherPartner,
            CreditReason::PartnerInactive
        ]
    );

    let kinds = check_list("code_misuse", "kind");
    assert_eq!(
        kinds,
        MisuseKind::ALL.map(|k| k.as_str().to_string()).to_vec()
    );
    for k in MisuseKind::ALL {
        assert_eq!(MisuseKind::parse(k.as_str()), Some(k));
    }
    assert_eq!(MisuseKind::parse("stolen"), None);
}

#[test]
fn code_kinds_from_the_stored_columns() {
    let p = Some(PartnerId(1));
    let r = Some(CreditRule::Winner);
    assert_eq!(
        CodeKind::from_parts(CodeType::Tracking, p, r),
        Some(tracking(1, CreditRule::Winner))
    );
    assert_eq!(CodeKind::from_parts(CodeType::Tracking, None, r), None);
    assert_eq!(CodeKind::from_parts(CodeType::Tracking, p, None), None);
    assert_eq!(
        CodeKind::from_parts(CodeType::Restricted, None, None),
        Some(CodeKind::Restricted)
    );
    let k = tracking(1, CreditRule::Winner);
    assert_eq!(
        (k.code_type(), k.partner(), k.rule()),
        (CodeType::Tracking, p, r)
    );
    assert_eq!(CodeKind::Restricted.code_type(), CodeType::Restricted);
}

#[test]
fn payout_amounts() {
    let pct = |p: &str, sale: &str| payout_amount(Payout::Percent(dec(p)), dec(sale));
    assert_eq!(pct("10", "0.05"), dec("0.01"));
    assert_eq!(pct("10", "0.15"), dec("0.02"));
    assert_eq!(pct("10", "0.25"), dec("0.03"));
    assert_eq!(pct("7.5", "19.99"), dec("1.50")); // 1.49925
    assert_eq!(pct("12.3456", "100"), dec("12.35"));
    assert_eq!(pct("100", "123456789012.34"), dec("123456789012.34"));
    assert_eq!(pct("10", "-5"), Decimal::ZERO);
    assert!(!pct("0", "-5").is_sign_negative());
    assert_eq!(
        payout_amount(Payout::Flat(dec("2.345")), dec("1")),
        dec("2.35")
    );
    assert_eq!(
        payout_amount(Payout::Flat(dec("-1")), dec("1")),
        Decimal::ZERO
    );
    // Out of range: zero, not a panic.
    assert_eq!(pct("100", &Decimal::MAX.to_string()), Decimal::ZERO);
}

#[test]
fn the_engine_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<ProgramCodes>();
    assert_send_sync::<Partners>();
    assert_send_sync::<Decision>();
}
