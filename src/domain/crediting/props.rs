//! Property tests of [`credit`] against a plain reading of SPEC §6.

use super::tests::{dec, utc};
use super::*;
use crate::domain::matcher::{compile_code_regex, normalize_literal, pattern_length};
use chrono::TimeDelta;
use proptest::prelude::*;

const LITERALS: &[&str] = &["ALPHA", "BETA", "Gamma", "alpha", "DELTA1"];
const PATTERNS: &[&str] = &[
    "AL.*",
    "ALPHA[0-9]?",
    "B.*",
    "^(?i)gamma$",
    "[A-Z]+1",
    "DEL.*",
];
const ENTERED: &[&str] = &[
    "ALPHA", "alpha", " Alpha ", "ALPHA1", "ALX", "BETA", "beta", "BX", "GAMMA", "gamma", "DELTA1",
    "delta1", "DELTA2", "ZZZ1", "zzz", "", "  ",
];
/// Partners 1..=6 are in the directory; 7 is not.
const PARTNER_IDS: i64 = 7;

fn at() -> DateTime<Utc> {
    utc("2026-06-15T12:00:00Z")
}

fn offsets() -> impl Strategy<Value = Option<DateTime<Utc>>> {
    prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(vec![-172_800i64, -1, 0, 1, 172_800])
            .prop_map(|s| Some(at() + TimeDelta::seconds(s))),
    ]
}

fn payouts() -> impl Strategy<Value = Option<Payout>> {
    prop_oneof![
        2 => Just(None),
        1 => (0i64..=10_000).prop_map(|bp| Some(Payout::Percent(Decimal::new(bp, 2)))),
        1 => (0i64..=5_000).prop_map(|c| Some(Payout::Flat(Decimal::new(c, 2)))),
    ]
}

fn partner_facts() -> impl Strategy<Value = PartnerFacts> {
    (
        prop::sample::select(CreditGroup::ALL.to_vec()),
        prop::bool::weighted(0.8),
        payouts(),
    )
        .prop_map(|(credit_group, active, payout)| PartnerFacts {
            credit_group,
            status: if active {
                PartnerStatus::Active
            } else {
                PartnerStatus::Inactive
            },
            payout,
            media_id: 0,
        })
}

fn code_kinds() -> impl Strategy<Value = CodeKind> {
    prop_oneof![
        1 => Just(CodeKind::Restricted),
        4 => (1..=PARTNER_IDS, prop::sample::select(CreditRule::ALL.to_vec()))
            .prop_map(|(p, rule)| CodeKind::Tracking { partner: PartnerId(p), rule }),
    ]
}

fn code_facts(id: i64) -> impl Strategy<Value = CodeFacts> {
    (
        prop::bool::ANY,
        0..LITERALS.len().max(PATTERNS.len()),
        code_kinds(),
        payouts(),
        offsets(),
        offsets(),
        0i64..3,
    )
        .prop_map(move |(regex, v, kind, payout, start, end, age)| {
            let (value, match_mode) = if regex {
                (PATTERNS[v % PATTERNS.len()], MatchMode::Regex)
            } else {
                (LITERALS[v % LITERALS.len()], MatchMode::Literal)
            };
            // The schema forbids an end before the start.
            let end = match (start, end) {
                (Some(s), Some(e)) if e < s => Some(s),
                _ => end,
            };
            CodeFacts {
                id: CodeId(id),
                value: value.to_owned(),
                match_mode,
                kind,
                payout,
                active_start: start,
                active_end: end,
                created_at: at() - TimeDelta::days(100 - age),
            }
        })
}

#[derive(Debug, Clone)]
struct World {
    partners: Vec<(PartnerId, PartnerFacts)>,
    codes: Vec<CodeFacts>,
    entered: Vec<String>,
    journey: Vec<Click>,
    tracking: bool,
    sale: Decimal,
}

fn worlds() -> impl Strategy<Value = World> {
    let partners = prop::collection::vec(partner_facts(), 6).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, f)| (PartnerId(i as i64 + 1), f))
            .collect::<Vec<_>>()
    });
    let codes = (0usize..=8).prop_flat_map(|n| (1..=n as i64).map(code_facts).collect::<Vec<_>>());
    let entered = prop::collection::vec(prop::sample::select(ENTERED.to_vec()), 0..4)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
    let journey = prop::collection::vec((1..=PARTNER_IDS, 0i64..40), 0..6).prop_map(|v| {
        let mut clicks: Vec<Click> = v
            .into_iter()
            .map(|(p, m)| Click {
                partner: PartnerId(p),
                clicked_at: at() - TimeDelta::minutes(m),
            })
            .collect();
        clicks.sort_by_key(|c| c.clicked_at);
        clicks
    });
    (
        partners,
        codes,
        entered,
        journey,
        prop::bool::weighted(0.8),
        0i64..10_000_000,
    )
        .prop_map(
            |(partners, codes, entered, journey, tracking, cents)| World {
                partners,
                codes,
                entered,
                journey,
                tracking,
                sale: Decimal::new(cents, 2),
            },
        )
}

impl World {
    fn directory(&self) -> Partners {
        self.partners.iter().copied().collect()
    }
    fn decide(&self, codes: &ProgramCodes, entered: &[String]) -> Decision {
        let conversion = Conversion {
            event_date: at(),
            entered_codes: entered,
            sale_amount: self.sale,
        };
        credit(
            &conversion,
            &self.journey,
            codes,
            &self.directory(),
            self.tracking,
        )
    }
}

/// The journey's winner, read plainly: the highest group present, then its last click.
fn winner_of(journey: &[Click], partners: &Partners) -> Option<(PartnerId, usize)> {
    let group = |p| {
        partners
            .partner(p)
            .map_or(CreditGroup::Preferred, |f| f.credit_group)
    };
    let top = journey.iter().map(|c| group(c.partner)).max()?;
    journey
        .iter()
        .enumerate()
        .filter(|(_, c)| group(c.partner) == top)
        .max_by_key(|(i, c)| (c.clicked_at, *i))
        .map(|(i, c)| (c.partner, i))
}

fn pays(p: Option<Payout>, sale: Decimal) -> Decimal {
    match p {
        None => Decimal::ZERO,
        Some(Payout::Flat(f)) => f,
        Some(Payout::Percent(pct)) => (sale * pct / Decimal::ONE_HUNDRED)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
    }
}

/// Crediting by clicks alone (step 5 and 6).
fn by_clicks(
    journey: &[Click],
    partners: &Partners,
    sale: Decimal,
) -> (CreditReason, Option<PartnerId>, Decimal) {
    match winner_of(journey, partners) {
        None => (CreditReason::Unattributed, None, Decimal::ZERO),
        Some((w, _)) => match partners.partner(w) {
            Some(f) if f.status == PartnerStatus::Active => {
                (CreditReason::ClickWinner, Some(w), pays(f.payout, sale))
            }
            _ => (CreditReason::PartnerInactive, None, Decimal::ZERO),
        },
    }
}

#[derive(Debug, PartialEq)]
enum Found {
    Active(CodeId),
    Outside,
    Nothing,
}

/// Step 1 for one entered code, read plainly.
fn find(codes: &[CodeFacts], entered: &str) -> Found {
    let e = entered.trim();
    let active = |c: &&&CodeFacts| {
        c.active_start.is_none_or(|s| s <= at()) && c.active_end.is_none_or(|end| at() < end)
    };
    let exact: Vec<&CodeFacts> = codes
        .iter()
        .filter(|c| {
            c.match_mode == MatchMode::Literal
                && normalize_literal(&c.value) == normalize_literal(e)
        })
        .collect();
    let regex: Vec<&CodeFacts> = codes
        .iter()
        .filter(|c| {
            c.match_mode == MatchMode::Regex && compile_code_regex(&c.value).unwrap().is_match(e)
        })
        .collect();
    if let Some(c) = exact
        .iter()
        .filter(active)
        .min_by_key(|c| (c.created_at, c.id))
    {
        return Found::Active(c.id);
    }
    if let Some(c) = regex.iter().filter(active).min_by_key(|c| {
        (
            std::cmp::Reverse(pattern_length(&c.value)),
            c.created_at,
            c.id,
        )
    }) {
        return Found::Active(c.id);
    }
    if exact.is_empty() && regex.is_empty() {
        Found::Nothing
    } else {
        Found::Outside
    }
}

/// (reason, credited, winner, matched code, payout, misuse: entered index and whether it
/// matched a code outside its dates).
type Expected = (
    CreditReason,
    Option<PartnerId>,
    Option<PartnerId>,
    Option<CodeId>,
    Decimal,
    Vec<(usize, bool)>,
);

/// SPEC §6, read plainly.
fn reference(w: &World) -> Expected {
    let partners = w.directory();
    let winner = winner_of(&w.journey, &partners).map(|(p, _)| p);
    let has_code = w.entered.iter().any(|e| !e.trim().is_empty());
    if !w.tracking {
        let (reason, credited, payout) = by_clicks(&w.journey, &partners, w.sale);
        let reason = match reason {
            CreditReason::ClickWinner | CreditReason::Unattributed if has_code => {
                CreditReason::TrackingDisabled
            }
            other => other,
        };
        return (reason, credited, winner, None, payout, vec![]);
    }
    let mut matched: Option<&CodeFacts> = None;
    let mut misuse = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, e) in w.entered.iter().enumerate() {
        let t = e.trim();
        if t.is_empty() || seen.contains(&t) {
            continue;
        }
        seen.push(t);
        match find(&w.codes, t) {
            Found::Active(id) => {
                if matched.is_none() {
                    matched = w.codes.iter().find(|c| c.id == id);
                }
            }
            Found::Outside => misuse.push((i, true)),
            Found::Nothing => misuse.push((i, false)),
        }
    }
    let Some(code) = matched else {
        let (reason, credited, payout) = by_clicks(&w.journey, &partners, w.sale);
        return (reason, credited, winner, None, payout, misuse);
    };
    let group = |p| {
        partners
            .partner(p)
            .map_or(CreditGroup::Preferred, |f| f.credit_group)
    };
    let (chosen, reason, override_payout) = match code.kind {
        CodeKind::Restricted => (None, CreditReason::RestrictedCode, None),
        CodeKind::Tracking { partner: x, rule } => {
            let higher = w.journey.iter().any(|c| group(c.partner) > group(x));
            let involved = w.journey.iter().any(|c| c.partner == x);
            if higher {
                (winner, CreditReason::CreditGroup, None)
            } else if rule == CreditRule::Always {
                (Some(x), CreditReason::CodeAlways, code.payout)
            } else if rule == CreditRule::Involved && involved {
                (Some(x), CreditReason::CodeInvolved, code.payout)
            } else if rule == CreditRule::Winner && winner == Some(x) {
                (Some(x), CreditReason::CodeWinner, code.payout)
            } else if winner.is_some() {
                (None, CreditReason::CodeOwnedByOtherPartner, None)
            } else {
                (None, CreditReason::Unattributed, None)
            }
        }
    };
    let (reason, credited, payout) = match chosen.map(|p| (p, partners.partner(p))) {
        Some((p, Some(f))) if f.status == PartnerStatus::Active => {
            (reason, Some(p), pays(override_payout.or(f.payout), w.sale))
        }
        Some(_) => (CreditReason::PartnerInactive, None, Decimal::ZERO),
        None => (reason, None, Decimal::ZERO),
    };
    (reason, credited, winner, Some(code.id), payout, misuse)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn agrees_with_a_plain_reading_of_the_spec(w in worlds()) {
        let (codes, errors) = ProgramCodes::build(w.codes.clone());
        prop_assert!(errors.is_empty());
        let d = w.decide(&codes, &w.entered);
        let (reason, credited, winner, matched, payout, misuse) = reference(&w);
        prop_assert_eq!(d.reason, reason);
        prop_assert_eq!(d.credited, credited);
        prop_assert_eq!(d.winner, winner);
        prop_assert_eq!(d.matched.map(|m| m.code), matched);
        prop_assert_eq!(d.payout, payout);
        let got: Vec<(usize, bool)> = d.misuse.iter().map(|m| (m.entered_index, m.kind != MisuseKind::Unknown)).collect();
        prop_assert_eq!(got, misuse);
        // An outside-window misuse names a code that matches the text and is outside its dates.
        for m in &d.misuse {
            let text = w.entered[m.entered_index].trim();
            match (m.kind, m.code.and_then(|id| codes.code(id))) {
                (MisuseKind::Unknown, None) => {}
                (kind, Some(c)) => {
                    let matches = match c.match_mode {
                        MatchMode::Literal => normalize_literal(&c.value) == normalize_literal(text),
                        MatchMode::Regex => compile_code_regex(&c.value).unwrap().is_match(text),
                    };
                    prop_assert!(matches);
                    match kind {
                        MisuseKind::NotYetActive => prop_assert!(c.active_start.is_some_and(|s| at() < s)),
                        MisuseKind::Expired => prop_assert!(c.active_end.is_some_and(|e| e <= at())),
                        MisuseKind::Unknown => prop_assert!(false, "unknown with a code"),
                    }
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
        let involved: Vec<PartnerId> = {
            let mut v = Vec::new();
            for c in &w.journey {
                if !v.contains(&c.partner) { v.push(c.partner); }
            }
            v
        };
        prop_assert_eq!(&d.involved, &involved);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn is_deterministic_and_independent_of_the_order_codes_are_given(w in worlds(), seed in any::<u64>()) {
        let (codes, _) = ProgramCodes::build(w.codes.clone());
        let first = w.decide(&codes, &w.entered);
        prop_assert_eq!(&first, &w.decide(&codes, &w.entered));
        let mut shuffled = w.codes.clone();
        let n = shuffled.len();
        if n > 1 {
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
        }
        let (again, _) = ProgramCodes::build(shuffled);
        prop_assert_eq!(&first, &w.decide(&again, &w.entered));
    }

    #[test]
    fn credits_only_the_code_owner_or_the_winner(w in worlds()) {
        let (codes, _) = ProgramCodes::build(w.codes.clone());
        let d = w.decide(&codes, &w.entered);
        if let Some(p) = d.credited {
            let owner = d.matched.and_then(|m| m.kind.partner());
            prop_assert!(Some(p) == owner || Some(p) == d.winner, "{:?}", d);
            if Some(p) != d.winner {
                prop_assert!(d.reason.is_by_code(), "{:?}", d);
            }
            prop_assert!(d.valid);
        }
    }

    #[test]
    fn without_an_entered_code_it_is_credited_by_clicks_alone(w in worlds(), blanks in 0usize..3) {
        let (codes, _) = ProgramCodes::build(w.codes.clone());
        let (empty, _) = ProgramCodes::build(Vec::new());
        let partners = w.directory();
        let blank: Vec<String> = (0..blanks).map(|i| " ".repeat(i)).collect();
        let (reason, credited, payout) = by_clicks(&w.journey, &partners, w.sale);
        for entered in [&[][..], &blank[..]] {
            for tracking in [true, false] {
                let w = World { tracking, ..w.clone() };
                let d = w.decide(&codes, entered);
                prop_assert_eq!(d.reason, reason);
                prop_assert_eq!(d.credited, credited);
                prop_assert_eq!(d.payout, payout);
                prop_assert!(d.matched.is_none() && d.misuse.is_empty());
                prop_assert_eq!(&d, &w.decide(&empty, entered));
            }
        }
    }

    #[test]
    fn payout_is_never_negative_and_zero_unless_credited(w in worlds()) {
        let (codes, _) = ProgramCodes::build(w.codes.clone());
        let d = w.decide(&codes, &w.entered);
        prop_assert!(d.payout >= Decimal::ZERO && !d.payout.is_sign_negative());
        prop_assert!(d.payout.scale() <= 2);
        if d.credited.is_none() || !d.valid {
            prop_assert!(d.payout.is_zero());
            prop_assert_eq!(d.payout_basis, PayoutBasis::NotCredited);
        }
    }
}

#[test]
fn the_reference_helpers_round_like_the_engine() {
    assert_eq!(
        pays(Some(Payout::Percent(dec("10"))), dec("0.05")),
        dec("0.01")
    );
}

/// The generator is worth something only if it reaches every outcome often.
#[test]
fn the_generated_worlds_cover_every_reason_and_misuse_kind() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut reasons: HashMap<CreditReason, usize> = HashMap::new();
    let mut kinds: HashMap<MisuseKind, usize> = HashMap::new();
    let mut inactive_by: HashSet<CreditReason> = HashSet::new();
    let n = 2_000;
    for _ in 0..n {
        let w = worlds().new_tree(&mut runner).unwrap().current();
        let (codes, _) = ProgramCodes::build(w.codes.clone());
        let d = w.decide(&codes, &w.entered);
        *reasons.entry(d.reason).or_default() += 1;
        for m in &d.misuse {
            *kinds.entry(m.kind).or_default() += 1;
        }
        if d.reason == CreditReason::PartnerInactive {
            inactive_by.insert(d.chosen_by);
        }
    }
    for r in CreditReason::ALL {
        let k = reasons.get(&r).copied().unwrap_or(0);
        assert!(k >= n / 200, "{r}: {k} of {n} ({reasons:?})");
    }
    for kind in MisuseKind::ALL {
        let k = kinds.get(&kind).copied().unwrap_or(0);
        assert!(k >= n / 200, "{kind}: {k} ({kinds:?})");
    }
    assert!(inactive_by.len() >= 5, "{inactive_by:?}");
}

fn decimals(max_mantissa: i64, max_scale: u32) -> impl Strategy<Value = Decimal> {
    (0..=max_mantissa, 0..=max_scale).prop_map(|(m, s)| Decimal::new(m, s))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    /// The integer fast path gives exactly what `Decimal` arithmetic gives.
    #[test]
    fn percent_payouts_equal_decimal_arithmetic(
        sale in prop_oneof![decimals(100_000_000_000_000, 2), decimals(i64::MAX, 8)],
        percent in prop_oneof![decimals(1_000_000, 4), decimals(100_000, 0), decimals(1_000_000_000, 12)],
    ) {
        // Where `Decimal`'s multiply is exact (its mantissa has 96 bits; beyond, it rounds, and
        // the fast path stays exact). NUMERIC(14, 2) x NUMERIC(7, 4) is below 10^20.
        let product = sale.mantissa().unsigned_abs().checked_mul(percent.mantissa().unsigned_abs());
        prop_assume!(product.is_some_and(|p| p < 1u128 << 96));
        let got = payout_amount(Payout::Percent(percent), sale);
        prop_assert_eq!(got, percent_of_slow(sale, percent));
        prop_assert!(!got.is_sign_negative() && got.scale() <= 2);
    }

    /// Whatever the input, a payout is a non-negative amount in cents, and no panic.
    #[test]
    fn payouts_of_any_decimal_are_cents(
        (lo, mid, hi, negative, scale) in (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28),
        (lo2, mid2, hi2, negative2, scale2) in (any::<u32>(), any::<u32>(), any::<u32>(), any::<bool>(), 0u32..=28),
    ) {
        let a = Decimal::from_parts(lo, mid, hi, negative, scale);
        let b = Decimal::from_parts(lo2, mid2, hi2, negative2, scale2);
        for p in [Payout::Percent(b), Payout::Flat(b)] {
            let got = payout_amount(p, a);
            prop_assert!(got >= Decimal::ZERO && !got.is_sign_negative() && got.scale() <= 2);
        }
    }
}
