//! Every reason explained, from stored decisions as the engine makes them.

use super::*;
use chrono::TimeZone;
use chrono_tz::America::New_York;

const ACME: PartnerId = PartnerId(1); // Standard
const HUB: PartnerId = PartnerId(2); // Preferred
const BLOG: PartnerId = PartnerId(3); // Non-preferred
const SLEEPY: PartnerId = PartnerId(4); // Standard, inactive

fn partners() -> HashMap<PartnerId, PartnerInfo> {
    let p = |name: &str, credit_group, status| PartnerInfo {
        name: name.into(),
        credit_group,
        status,
    };
    HashMap::from([
        (
            ACME,
            p("Acme Deals", CreditGroup::Standard, PartnerStatus::Active),
        ),
        (
            HUB,
            p("Coupon Hub", CreditGroup::Preferred, PartnerStatus::Active),
        ),
        (
            BLOG,
            p("Blog Co", CreditGroup::NonPreferred, PartnerStatus::Active),
        ),
        (
            SLEEPY,
            p(
                "Sleepy Media",
                CreditGroup::Standard,
                PartnerStatus::Inactive,
            ),
        ),
    ])
}

/// A New York wall-clock time in May 2026.
fn may(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    New_York
        .with_ymd_and_hms(2026, 5, day, h, m, 0)
        .single()
        .expect("a New York time")
        .with_timezone(&Utc)
}

fn code(value: &str, owner: Option<PartnerId>, rule: Option<CreditRule>) -> CodeInfo {
    CodeInfo {
        id: CodeId(10),
        value: value.into(),
        match_mode: MatchMode::Literal,
        code_type: if owner.is_some() {
            CodeType::Tracking
        } else {
            CodeType::Restricted
        },
        credit_rule: rule,
        partner: owner,
        active_start: None,
        active_end: None,
    }
}

/// A stored decision to explain.
struct Case {
    reason: CreditReason,
    credited: Option<PartnerId>,
    winner: Option<PartnerId>,
    chosen: Option<PartnerId>,
    entered: Vec<String>,
    entered_code: Option<String>,
    code: Option<CodeInfo>,
    journey: Vec<JourneyClick>,
    misuse: Vec<Misused>,
}

fn case(reason: CreditReason) -> Case {
    Case {
        reason,
        credited: None,
        winner: None,
        chosen: None,
        entered: Vec::new(),
        entered_code: None,
        code: None,
        journey: Vec::new(),
        misuse: Vec::new(),
    }
}

impl Case {
    fn credited(mut self, p: PartnerId) -> Self {
        self.credited = Some(p);
        self
    }
    fn winner(mut self, p: PartnerId) -> Self {
        self.winner = Some(p);
        self
    }
    fn chosen(mut self, p: PartnerId) -> Self {
        self.chosen = Some(p);
        self
    }
    fn entered(mut self, codes: &[&str]) -> Self {
        self.entered = codes.iter().map(|c| c.to_string()).collect();
        self
    }
    /// The deciding entered code and its code.
    fn matched(mut self, entered: &str, code: CodeInfo) -> Self {
        if !self.entered.iter().any(|e| e == entered) {
            self.entered.push(entered.into());
        }
        self.entered_code = Some(entered.into());
        self.code = Some(code);
        self
    }
    fn click(mut self, p: PartnerId, at: DateTime<Utc>) -> Self {
        self.journey.push(JourneyClick {
            partner_id: p.0,
            media_id: Some(1000 + p.0),
            clicked_at: at,
            click_id: Some(ClickRef::Id(500 + self.journey.len() as i64)),
        });
        self
    }
    fn misuse(mut self, entered: &str, kind: MisuseKind, code: Option<CodeInfo>) -> Self {
        self.misuse.push(Misused {
            entered: entered.into(),
            kind,
            code,
        });
        self
    }
    fn explain(&self) -> Explanation {
        let stored = Stored {
            reason: self.reason,
            event_date: may(5, 10, 0),
            credited: self.credited,
            winner: self.winner,
            chosen: self.chosen,
            entered_codes: &self.entered,
            entered_code: self.entered_code.as_deref(),
            code: self.code.as_ref(),
            journey: &self.journey,
            misuse: &self.misuse,
        };
        explain(&stored, &partners(), New_York)
    }
}

fn summer(rule: CreditRule) -> CodeInfo {
    code("SUMMER10", Some(ACME), Some(rule))
}

fn has(e: &Explanation, text: &str) {
    let all = format!("{}\n{}", e.summary, e.details.join("\n"));
    assert!(all.contains(text), "{text:?} not in:\n{all}");
}

#[test]
fn code_involved_names_the_code_its_rule_and_the_partners_click() {
    let e = case(CreditReason::CodeInvolved)
        .credited(ACME)
        .winner(ACME)
        .matched("summer10", summer(CreditRule::Involved))
        .click(ACME, may(3, 14, 2))
        .explain();
    assert_eq!(e.verdict, Verdict::Credited);
    assert_eq!(
        e.summary,
        "Credited to Acme Deals: code SUMMER10 (exact, rule INVOLVED) was entered and Acme \
         Deals had a click on 3 May 14:02 in the journey."
    );
    assert!(e.details.is_empty(), "{:?}", e.details);
}

#[test]
fn code_involved_when_another_partner_had_the_last_click() {
    let e = case(CreditReason::CodeInvolved)
        .credited(ACME)
        .winner(BLOG)
        .matched("SUMMER10", summer(CreditRule::Involved))
        .click(ACME, may(3, 14, 2))
        .click(BLOG, may(4, 9, 30))
        .explain();
    has(&e, "Acme Deals had a click on 3 May 14:02 in the journey");
    has(
        &e,
        "Blog Co won the journey with its click on 4 May 09:30, but it is not in a higher \
         credit group than Acme Deals, so the code's rule decides.",
    );
}

#[test]
fn code_always_credits_the_codes_partner_whatever_the_journey() {
    let e = case(CreditReason::CodeAlways)
        .credited(ACME)
        .matched("SUMMER10", summer(CreditRule::Always))
        .explain();
    assert_eq!(e.verdict, Verdict::Credited);
    assert_eq!(
        e.summary,
        "Credited to Acme Deals: code SUMMER10 (exact, rule ALWAYS) was entered, and a code \
         with rule ALWAYS credits its partner whatever the journey."
    );
    let e = case(CreditReason::CodeAlways)
        .credited(ACME)
        .winner(BLOG)
        .matched("SUMMER10", summer(CreditRule::Always))
        .click(BLOG, may(4, 9, 30))
        .explain();
    has(&e, "Blog Co won the journey with its click on 4 May 09:30, but it is not in a higher credit group than Acme Deals");
}

#[test]
fn code_winner_says_the_partner_won_with_which_click() {
    let e = case(CreditReason::CodeWinner)
        .credited(ACME)
        .winner(ACME)
        .matched("SUMMER10", summer(CreditRule::Winner))
        .click(BLOG, may(2, 8, 0))
        .click(ACME, may(3, 14, 2))
        .explain();
    assert_eq!(
        e.summary,
        "Credited to Acme Deals: code SUMMER10 (exact, rule WINNER) was entered and Acme Deals \
         won the journey with its click on 3 May 14:02."
    );
    // A later click of a lower group did not take the journey.
    let e = case(CreditReason::CodeWinner)
        .credited(ACME)
        .winner(ACME)
        .matched("SUMMER10", summer(CreditRule::Winner))
        .click(ACME, may(3, 14, 2))
        .click(BLOG, may(4, 8, 0))
        .explain();
    has(
        &e,
        "Later clicks of partners in a lower credit group than Acme Deals (Standard) do not win \
         the journey: Blog Co (Non-preferred) on 4 May 08:00.",
    );
}

#[test]
fn credit_group_names_both_groups_and_the_rule() {
    let e = case(CreditReason::CreditGroup)
        .credited(HUB)
        .winner(HUB)
        .matched("SUMMER10", summer(CreditRule::Always))
        .click(HUB, may(3, 14, 2))
        .click(ACME, may(4, 9, 0))
        .explain();
    assert_eq!(e.verdict, Verdict::Credited);
    assert_eq!(
        e.summary,
        "Credited to Coupon Hub: Coupon Hub (Preferred) had a click in the journey and outranks \
         Acme Deals (Standard), whose code SUMMER10 was entered: the winner of the journey is \
         credited."
    );
    has(
        &e,
        "Coupon Hub won the journey with its click on 3 May 14:02.",
    );
    has(&e, "even a code with rule ALWAYS");
    has(
        &e,
        "The matched code: SUMMER10 (exact, rule ALWAYS), of Acme Deals.",
    );
}

#[test]
fn credit_group_does_not_contradict_groups_that_changed_since() {
    let mut names = partners();
    names.get_mut(&HUB).expect("hub").credit_group = CreditGroup::Standard;
    let c = case(CreditReason::CreditGroup)
        .credited(HUB)
        .winner(HUB)
        .matched("SUMMER10", summer(CreditRule::Always))
        .click(HUB, may(3, 14, 2));
    let stored = Stored {
        reason: c.reason,
        event_date: may(5, 10, 0),
        credited: c.credited,
        winner: c.winner,
        chosen: None,
        entered_codes: &c.entered,
        entered_code: c.entered_code.as_deref(),
        code: c.code.as_ref(),
        journey: &c.journey,
        misuse: &[],
    };
    let e = explain(&stored, &names, New_York);
    assert!(
        e.summary.contains("when the order arrived, Coupon Hub had a click in the journey and was in a higher credit group than Acme Deals")
            && e.summary.contains("have changed since"),
        "{}",
        e.summary
    );
    assert!(!e.summary.contains("(Standard)"), "{}", e.summary);
}

#[test]
fn click_winner_without_a_code_and_with_only_unknown_codes() {
    let e = case(CreditReason::ClickWinner)
        .credited(HUB)
        .winner(HUB)
        .click(HUB, may(3, 14, 2))
        .explain();
    assert_eq!(e.verdict, Verdict::Credited);
    assert_eq!(
        e.summary,
        "Credited to Coupon Hub by click: the order carried no promo code, and Coupon Hub won \
         the journey with its click on 3 May 14:02."
    );
    let e = case(CreditReason::ClickWinner)
        .credited(HUB)
        .winner(HUB)
        .entered(&["NOPE5", "OLD10"])
        .misuse("NOPE5", MisuseKind::Unknown, None)
        .misuse(
            "OLD10",
            MisuseKind::Expired,
            Some(CodeInfo {
                active_end: Some(may(1, 0, 0)),
                ..code("OLD10", Some(ACME), Some(CreditRule::Always))
            }),
        )
        .click(HUB, may(3, 14, 2))
        .explain();
    has(
        &e,
        "Credited to Coupon Hub by click: none of the entered codes matched an active code of \
         the program, and Coupon Hub won the journey with its click on 3 May 14:02.",
    );
    has(
        &e,
        "NOPE5 was entered but matches no code of the program: it is recorded as an unknown code.",
    );
    has(
        &e,
        "OLD10 was entered but matches only code OLD10, which ended on 1 May 00:00: it is \
         recorded as use of an expired code.",
    );
}

#[test]
fn restricted_code_credits_nobody() {
    let e = case(CreditReason::RestrictedCode)
        .winner(HUB)
        .matched("STAFF50", code("STAFF50", None, None))
        .click(HUB, may(3, 14, 2))
        .explain();
    assert_eq!(e.verdict, Verdict::NobodyCredited);
    assert_eq!(
        e.summary,
        "No partner credited: code STAFF50 (exact) is RESTRICTED, and a restricted code may not \
         earn any partner credit."
    );
    has(&e, "Coupon Hub won the journey with its click on 3 May 14:02, but earns nothing on this order either.");
}

#[test]
fn code_owned_by_other_partner_names_owner_winner_and_why_the_rule_failed() {
    let e = case(CreditReason::CodeOwnedByOtherPartner)
        .winner(HUB)
        .matched("SUMMER10", summer(CreditRule::Involved))
        .click(HUB, may(3, 14, 2))
        .explain();
    assert_eq!(e.verdict, Verdict::NotCredited);
    assert_eq!(
        e.summary,
        "Not credited: SUMMER10 belongs to Acme Deals, but Coupon Hub won the journey, and a \
         partner may not earn on another partner's code."
    );
    has(
        &e,
        "The code's rule is INVOLVED, and Acme Deals had no click in the journey, so the code \
         could not credit Acme Deals.",
    );
    // WINNER: the owner's click lost.
    let e = case(CreditReason::CodeOwnedByOtherPartner)
        .winner(BLOG)
        .matched("SUMMER10", summer(CreditRule::Winner))
        .click(ACME, may(2, 11, 0))
        .click(BLOG, may(3, 14, 2))
        .explain();
    has(&e, "The code's rule is WINNER, and the click of Acme Deals on 2 May 11:00 did not win the journey");
    has(&e, "Blog Co won the journey with its click on 3 May 14:02.");
    // WINNER without a click of the owner.
    let e = case(CreditReason::CodeOwnedByOtherPartner)
        .winner(BLOG)
        .matched("SUMMER10", summer(CreditRule::Winner))
        .click(BLOG, may(3, 14, 2))
        .explain();
    has(
        &e,
        "The code's rule is WINNER, and Acme Deals had no click in the journey",
    );
}

#[test]
fn partner_inactive_names_the_chosen_partner_and_how_it_was_chosen() {
    // By its code.
    let e = case(CreditReason::PartnerInactive)
        .chosen(SLEEPY)
        .matched(
            "SLEEPY5",
            code("SLEEPY5", Some(SLEEPY), Some(CreditRule::Always)),
        )
        .explain();
    assert_eq!(e.verdict, Verdict::NotCredited);
    assert_eq!(
        e.summary,
        "Not credited: the rules chose Sleepy Media, whose code SLEEPY5 (exact, rule ALWAYS) \
         was entered, but Sleepy Media is inactive, and an inactive partner earns nothing."
    );
    // By click.
    let e = case(CreditReason::PartnerInactive)
        .chosen(SLEEPY)
        .winner(SLEEPY)
        .click(SLEEPY, may(3, 14, 2))
        .explain();
    assert_eq!(
        e.summary,
        "Not credited: the rules chose Sleepy Media, which won the journey with its click on 3 \
         May 14:02, but Sleepy Media is inactive, and an inactive partner earns nothing."
    );
    // Active again since: said, and the decision stands.
    let e = case(CreditReason::PartnerInactive)
        .chosen(ACME)
        .winner(ACME)
        .click(ACME, may(3, 14, 2))
        .explain();
    has(&e, "Acme Deals is active again now");
}

#[test]
fn unattributed_without_clicks() {
    let e = case(CreditReason::Unattributed).explain();
    assert_eq!(e.verdict, Verdict::NobodyCredited);
    assert_eq!(
        e.summary,
        "No partner credited: the order carried no promo code, and the journey has no clicks."
    );
    let e = case(CreditReason::Unattributed)
        .entered(&["NOPE5"])
        .misuse("NOPE5", MisuseKind::Unknown, None)
        .explain();
    assert_eq!(
        e.summary,
        "No partner credited: the entered code matched no active code of the program, and the \
         journey has no clicks."
    );
    has(&e, "NOPE5 was entered but matches no code of the program");
    let e = case(CreditReason::Unattributed)
        .matched("SUMMER10", summer(CreditRule::Involved))
        .explain();
    assert_eq!(
        e.summary,
        "No partner credited: code SUMMER10 (exact, rule INVOLVED) of Acme Deals was entered, \
         but the journey has no clicks, and rule INVOLVED credits Acme Deals only with a click \
         of its own."
    );
    let e = case(CreditReason::Unattributed)
        .matched("SUMMER10", summer(CreditRule::Winner))
        .explain();
    has(
        &e,
        "rule WINNER credits Acme Deals only when it wins the journey",
    );
}

#[test]
fn tracking_disabled_credits_the_winner_or_nobody() {
    let e = case(CreditReason::TrackingDisabled)
        .credited(HUB)
        .winner(HUB)
        .entered(&["SUMMER10"])
        .click(HUB, may(3, 14, 2))
        .explain();
    assert_eq!(e.verdict, Verdict::Credited);
    assert_eq!(
        e.summary,
        "Credited to Coupon Hub by click: promo code tracking was off for this program, so the \
         entered code SUMMER10 was not used, and Coupon Hub won the journey with its click on 3 \
         May 14:02."
    );
    let e = case(CreditReason::TrackingDisabled)
        .entered(&["SUMMER10", " FALL5 "])
        .explain();
    assert_eq!(e.verdict, Verdict::NobodyCredited);
    assert_eq!(
        e.summary,
        "No partner credited: promo code tracking was off for this program, so the entered \
         codes SUMMER10 and FALL5 were not used, and the journey has no clicks."
    );
}

#[test]
fn misused_codes_are_named_with_what_happened() {
    let scheduled = CodeInfo {
        active_start: Some(may(20, 0, 0)),
        ..code("FALL5", Some(ACME), Some(CreditRule::Always))
    };
    let e = case(CreditReason::CodeAlways)
        .credited(ACME)
        .entered(&["NOPE5", "FALL5", "GONE1"])
        .misuse("NOPE5", MisuseKind::Unknown, None)
        .misuse("FALL5", MisuseKind::NotYetActive, Some(scheduled))
        .misuse("GONE1", MisuseKind::Expired, None)
        .matched("SUMMER10", summer(CreditRule::Always))
        .explain();
    has(
        &e,
        "NOPE5 was entered but matches no code of the program: it is recorded as an unknown code.",
    );
    has(
        &e,
        "FALL5 was entered but matches only code FALL5, which starts only on 20 May 00:00: it \
         is recorded as use of a code not yet active.",
    );
    has(
        &e,
        "GONE1 was entered but matches only a code that had expired",
    );
}

#[test]
fn later_matching_codes_did_not_change_the_result() {
    let e = case(CreditReason::CodeAlways)
        .credited(ACME)
        .entered(&["SUMMER10", "WINTER20", "NOPE5"])
        .matched("SUMMER10", summer(CreditRule::Always))
        .misuse("NOPE5", MisuseKind::Unknown, None)
        .explain();
    has(
        &e,
        "WINTER20 was also entered; only the first entered code that matches decides, so it did \
         not change the result.",
    );
    assert!(
        !e.details
            .iter()
            .any(|d| d.contains("NOPE5 was also entered")),
        "{:?}",
        e.details
    );
}

#[test]
fn a_regex_code_shows_the_code_entered_and_its_pattern() {
    let re = CodeInfo {
        match_mode: MatchMode::Regex,
        ..code("^SUMMER-[0-9]+$", Some(ACME), Some(CreditRule::Always))
    };
    let e = case(CreditReason::CodeAlways)
        .credited(ACME)
        .matched("SUMMER-77", re)
        .explain();
    has(
        &e,
        "code SUMMER-77 (regex ^SUMMER-[0-9]+$, rule ALWAYS) was entered",
    );
}

#[test]
fn a_partner_missing_from_the_names_reads_by_id_and_other_years_show_theirs() {
    let e = case(CreditReason::ClickWinner)
        .credited(PartnerId(99))
        .winner(PartnerId(99))
        .click(
            PartnerId(99),
            Utc.with_ymd_and_hms(2025, 12, 31, 23, 0, 0).unwrap(),
        )
        .explain();
    has(&e, "Credited to partner #99 by click");
    has(&e, "its click on 31 Dec 2025 18:00");
}

#[test]
fn every_reason_reads_and_its_verdict_follows_validity() {
    for reason in CreditReason::ALL {
        let e = case(reason).explain();
        assert!(!e.summary.is_empty(), "{reason}");
        if !reason.is_valid() {
            assert_eq!(e.verdict, Verdict::NotCredited, "{reason}");
            assert!(
                e.summary.starts_with("Not credited"),
                "{reason}: {}",
                e.summary
            );
        } else {
            assert_ne!(e.verdict, Verdict::NotCredited, "{reason}");
        }
    }
}

#[test]
fn stored_journeys_read_tolerantly() {
    let json = serde_json::json!([
        {"partner_id": 2, "media_id": 1002, "clicked_at": "2026-05-03T18:02:00Z", "click_id": 55},
        {"partner_id": 1, "clicked_at": "2026-05-04T09:00:00+00:00"},
        {"partner_id": 3, "media_id": 1003, "clicked_at": "2026-05-04T10:00:00Z", "click_id": "AbCdEfGhIjKlMnOp"},
        {"partner": "not a click"},
        7
    ]);
    let clicks = parse_journey(&json);
    assert_eq!(clicks.len(), 3);
    assert_eq!(clicks[0].click_id, Some(ClickRef::Id(55)));
    assert_eq!(clicks[1].media_id, None);
    assert_eq!(
        clicks[2].click_id,
        Some(ClickRef::Token("AbCdEfGhIjKlMnOp".into()))
    );
    assert!(parse_journey(&serde_json::json!({})).is_empty());
    // What is written reads back.
    let again = serde_json::to_value(&clicks).expect("json");
    assert_eq!(parse_journey(&again), clicks);
}
