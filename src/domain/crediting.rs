//! Crediting (SPEC §6 "Crediting"): which partner, if any, earns one conversion, and why.
//!
//! [`credit`] is a pure function of the conversion, its journey, the program's codes, the
//! partners and whether promo code tracking is on. It does no I/O and takes no clock reading,
//! so the same inputs always give the same [`Decision`]. It allocates only the decision's two
//! small vectors (involved partners, misuse; neither allocates when empty) and, for an order
//! with more than 16 entered codes, a set to skip repeated ones.
//!
//! [`ProgramCodes`] is built once per version of a program's codes and shared by all workers.
//! The matcher knows each code by its index in the program's table (ids sorted ascending, so
//! the matcher's "lowest id" tie-break is kept), and a match reads a 32-byte row of that table.
//!
//! ## The rules, in order (SPEC §6)
//!
//! * **Journey.** The winner is the partner of the last click among the partners of the highest
//!   credit group present (`PREFERRED > STANDARD > NON_PREFERRED`); "last" is the latest
//!   `clicked_at`, and of clicks at the same instant the one later in the slice, so the caller
//!   should pass clicks oldest first but a wrong order cannot change the winner. Involved
//!   partners are all partners with a click, in order of their first click. The engine does not
//!   filter clicks by time: the journey is whatever the caller gives (the store applies the
//!   referral window).
//! * **Step 1.** Entered codes are taken in order; each is trimmed, and an empty one is not a
//!   code at all (no lookup, no misuse). The first entered code that matches a code active at
//!   the event instant decides (exact before regex, case rules, longest then oldest regex, active
//!   windows as UTC instants: start inclusive, end exclusive; all in [`Matcher`]).
//! * **Misuse.** Every entered code that matches nothing (`unknown`) or only a code outside its
//!   dates (`expired` / `not_yet_active`, with that code) is recorded, *whether it comes before
//!   or after the deciding code*: a later code does not change the result, but an unknown or
//!   expired code on an order is a monitoring signal either way (SPEC §8). The same text
//!   entered twice on one order (after trimming) is recorded once.
//! * **Step 2.** A `RESTRICTED` code: nobody is credited (`restricted_code`, valid).
//! * **Step 3.** A `TRACKING` code of partner X: if the journey's highest credit group is above
//!   X's, the winner is credited by click (`credit_group`), even against `ALWAYS`. Otherwise
//!   the rule decides: `ALWAYS` (`code_always`), `INVOLVED` if X has a click (`code_involved`),
//!   `WINNER` if X is the winner (`code_winner`).
//! * **Step 4.** The rule does not hold: with a winner W the conversion is invalid
//!   (`code_owned_by_other_partner`; W in [`Decision::winner`], nobody credited); with no
//!   winner, `unattributed`.
//! * **Step 5.** No entered code matched: the winner by click (`click_winner`), else
//!   `unattributed`.
//! * **Step 6.** The partner chosen by steps 1–5 is inactive: invalid (`partner_inactive`).
//!   [`Decision::credited`] is then `None`, so that nothing that sums or counts by credited
//!   partner can count it; the partner that was refused is kept in [`Decision::chosen`] and
//!   how it was chosen in [`Decision::chosen_by`].
//! * **Tracking disabled.** Codes are not looked up at all (no matched code, no misuse: the
//!   codes of such a program are not in use, and every code would otherwise show up as
//!   unknown). An order that carries a (non-empty) code goes to the journey's winner with
//!   reason `tracking_disabled` (no winner: nobody, same reason); an order without a code is
//!   credited as in step 5. Step 6 applies as always.
//!
//! A partner missing from the [`PartnerDirectory`] (a caller bug, e.g. a stale cache) is
//! treated as a `PREFERRED` (the schema's default) but **inactive** partner with no payout:
//! whatever it would have won is invalid (`partner_inactive`) and pays nothing, instead of
//! paying an unknown partner or silently dropping its click.
//!
//! ## Payout
//!
//! Only a valid decision that credits a partner pays; everything else pays exactly zero. The
//! code's payout override applies when the partner is credited *by the code* (`code_always`,
//! `code_involved`, `code_winner`); otherwise (by click, by credit group, tracking disabled)
//! the credited partner's default applies. A percent payout is `sale × percent / 100`, rounded
//! to cents **half away from zero** (`0.005 → 0.01`), as PostgreSQL's `round(numeric, 2)` and
//! spreadsheets' `ROUND` do, so a manager recomputing a payout gets the same cents (banker's
//! rounding would give `0.00`). A flat payout is the amount per action. The result is never
//! negative, and fits `actions.payout NUMERIC(14, 2)`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use super::code::{CodeType, CreditRule, MatchMode};
use super::matcher::{Lookup, MatchKind, Matcher, MatcherCode, RegexCodeError};
use super::partner::{CreditGroup, PartnerStatus, Payout};
use super::{CodeId, PartnerId};

// ---------------------------------------------------------------------------------------------
// Reasons and misuse kinds (the schema's names)

/// Why a conversion was (or was not) credited: `actions.credit_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreditReason {
    /// A `TRACKING` code with rule `ALWAYS`: its partner.
    CodeAlways,
    /// A `TRACKING` code with rule `INVOLVED`, its partner had a click.
    CodeInvolved,
    /// A `TRACKING` code with rule `WINNER`, its partner won the journey.
    CodeWinner,
    /// A partner of a higher credit group than the code's partner had a click: the winner.
    CreditGroup,
    /// No entered code matched: the journey's winner.
    ClickWinner,
    /// A `RESTRICTED` code: nobody.
    RestrictedCode,
    /// The code's rule did not hold and another partner won: invalid, nobody.
    CodeOwnedByOtherPartner,
    /// The chosen partner is inactive: invalid, nobody.
    PartnerInactive,
    /// Nobody: no winner (and no code that credits).
    Unattributed,
    /// Tracking is off and the order carries a code: the journey's winner, if any.
    TrackingDisabled,
}

impl CreditReason {
    pub const ALL: [CreditReason; 10] = [
        CreditReason::CodeAlways,
        CreditReason::CodeInvolved,
        CreditReason::CodeWinner,
        CreditReason::CreditGroup,
        CreditReason::ClickWinner,
        CreditReason::RestrictedCode,
        CreditReason::CodeOwnedByOtherPartner,
        CreditReason::PartnerInactive,
        CreditReason::Unattributed,
        CreditReason::TrackingDisabled,
    ];

    /// The name stored in `actions.credit_reason` (and sent as `CreditReason`).
    pub fn as_str(self) -> &'static str {
        match self {
            CreditReason::CodeAlways => "code_always",
            CreditReason::CodeInvolved => "code_involved",
            CreditReason::CodeWinner => "code_winner",
            CreditReason::CreditGroup => "credit_group",
            CreditReason::ClickWinner => "click_winner",
            CreditReason::RestrictedCode => "restricted_code",
            CreditReason::CodeOwnedByOtherPartner => "code_owned_by_other_partner",
            CreditReason::PartnerInactive => "partner_inactive",
            CreditReason::Unattributed => "unattributed",
            CreditReason::TrackingDisabled => "tracking_disabled",
        }
    }

    /// Reads a stored name (surrounding whitespace and ASCII case are ignored).
    pub fn parse(s: &str) -> Option<CreditReason> {
        let s = s.trim();
        CreditReason::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// False for the reasons that refuse credit (`actions.valid`).
    pub fn is_valid(self) -> bool {
        !matches!(
            self,
            CreditReason::CodeOwnedByOtherPartner | CreditReason::PartnerInactive
        )
    }

    /// True for the reasons where the partner is credited by the matched code's rule (the
    /// code's payout override applies).
    pub fn is_by_code(self) -> bool {
        matches!(
            self,
            CreditReason::CodeAlways | CreditReason::CodeInvolved | CreditReason::CodeWinner
        )
    }
}

impl fmt::Display for CreditReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an entered code was recorded for monitoring: `code_misuse.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MisuseKind {
    /// Matches no code of the program.
    Unknown,
    /// Matches only a code whose active window ended at or before the event.
    Expired,
    /// Matches only a code whose active window starts after the event.
    NotYetActive,
}

impl MisuseKind {
    pub const ALL: [MisuseKind; 3] = [
        MisuseKind::Unknown,
        MisuseKind::Expired,
        MisuseKind::NotYetActive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MisuseKind::Unknown => "unknown",
            MisuseKind::Expired => "expired",
            MisuseKind::NotYetActive => "not_yet_active",
        }
    }

    pub fn parse(s: &str) -> Option<MisuseKind> {
        let s = s.trim();
        MisuseKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for MisuseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// The program's codes

/// What a code does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// `TRACKING`: credits `partner` when `rule` holds.
    Tracking {
        partner: PartnerId,
        rule: CreditRule,
    },
    /// `RESTRICTED`: may not earn any partner credit.
    Restricted,
}

impl CodeKind {
    /// From the stored columns; `None` for a combination the schema forbids (a tracking code
    /// without partner or rule). A restricted code's partner and rule are ignored.
    pub fn from_parts(
        code_type: CodeType,
        partner: Option<PartnerId>,
        rule: Option<CreditRule>,
    ) -> Option<CodeKind> {
        match code_type {
            CodeType::Restricted => Some(CodeKind::Restricted),
            CodeType::Tracking => Some(CodeKind::Tracking {
                partner: partner?,
                rule: rule?,
            }),
        }
    }

    pub fn code_type(self) -> CodeType {
        match self {
            CodeKind::Tracking { .. } => CodeType::Tracking,
            CodeKind::Restricted => CodeType::Restricted,
        }
    }

    pub fn partner(self) -> Option<PartnerId> {
        match self {
            CodeKind::Tracking { partner, .. } => Some(partner),
            CodeKind::Restricted => None,
        }
    }

    pub fn rule(self) -> Option<CreditRule> {
        match self {
            CodeKind::Tracking { rule, .. } => Some(rule),
            CodeKind::Restricted => None,
        }
    }
}

/// One code of the program as crediting needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFacts {
    pub id: CodeId,
    /// The code as stored (exact value or regex pattern).
    pub value: String,
    pub match_mode: MatchMode,
    pub kind: CodeKind,
    /// The code's payout override (an exception to the partner's default; 0 allowed).
    pub payout: Option<Payout>,
    /// Inclusive start of the active window (a UTC instant; the code's zone was applied when
    /// the date was entered); `None` = since always.
    pub active_start: Option<DateTime<Utc>>,
    /// Exclusive end of the active window; `None` = never ends.
    pub active_end: Option<DateTime<Utc>>,
    /// Ranks regex codes of equal length (oldest first).
    pub created_at: DateTime<Utc>,
}

/// One program's codes, indexed for crediting. Built once per version of the program's codes
/// and shared (it is `Send + Sync`; put it in an `Arc`) by all workers.
pub struct ProgramCodes {
    matcher: Matcher,
    /// Sorted by id. The matcher knows each code by its index here (not by its id): a lookup
    /// gives the facts with one array read. Indexes ascend with ids, so the matcher's last
    /// tie-break ("lowest id") is unchanged.
    codes: Vec<CodeFacts>,
    /// What crediting reads after a match, by the same index: 32 bytes a code (a tenth of
    /// [`CodeFacts`]), so that the table of a large program mostly stays in the CPU's cache.
    hot: Vec<HotCode>,
    /// Payout overrides, referenced by [`HotCode::payout`].
    payouts: Vec<Payout>,
}

#[derive(Debug, Clone, Copy)]
struct HotCode {
    id: CodeId,
    kind: CodeKind,
    /// 1 + index into `ProgramCodes::payouts`; 0: no override.
    payout: u32,
    match_mode: MatchMode,
}

impl fmt::Debug for ProgramCodes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgramCodes")
            .field("codes", &self.codes.len())
            .field("matcher", &self.matcher)
            .finish()
    }
}

impl ProgramCodes {
    /// Indexes the codes. Regex codes that do not compile are left out and reported with
    /// their id (the form and the upload refuse them, so this means stored data predates a
    /// rule). Of several codes with one id, the first is kept.
    pub fn build(mut codes: Vec<CodeFacts>) -> (ProgramCodes, Vec<(CodeId, RegexCodeError)>) {
        codes.sort_by_key(|c| c.id);
        codes.dedup_by_key(|c| c.id);
        let for_matcher = codes
            .iter()
            .enumerate()
            .map(|(index, c)| MatcherCode {
                id: index as i64,
                value: c.value.clone(),
                kind: match c.match_mode {
                    MatchMode::Literal => MatchKind::Literal,
                    MatchMode::Regex => MatchKind::Regex,
                },
                active_start: c.active_start,
                active_end: c.active_end,
                created_at: c.created_at,
            })
            .collect();
        let (matcher, errors) = Matcher::build(for_matcher);
        let errors = errors
            .into_iter()
            .filter_map(|(index, e)| Some((codes.get(usize::try_from(index).ok()?)?.id, e)))
            .collect();
        let mut payouts = Vec::new();
        let hot = codes
            .iter()
            .map(|c| HotCode {
                id: c.id,
                kind: c.kind,
                payout: match c.payout {
                    Some(p) => {
                        payouts.push(p);
                        u32::try_from(payouts.len()).expect("fewer than 2^32 codes")
                    }
                    None => 0,
                },
                match_mode: c.match_mode,
            })
            .collect();
        (
            ProgramCodes {
                matcher,
                codes,
                hot,
                payouts,
            },
            errors,
        )
    }

    /// The code with this id (for the decision's explanation and the API reply).
    pub fn code(&self, id: CodeId) -> Option<&CodeFacts> {
        self.codes
            .binary_search_by_key(&id, |c| c.id)
            .ok()
            .map(|i| &self.codes[i])
    }

    /// Number of codes (including regex codes that did not compile).
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The code `entered` stands for at `at`, with its facts.
    fn lookup(&self, entered: &str, at: DateTime<Utc>) -> CodeLookup {
        let facts = |index: i64| usize::try_from(index).ok().and_then(|i| self.hot.get(i));
        match self.matcher.lookup(entered, at) {
            Lookup::Matched(index) => {
                facts(index).map_or(CodeLookup::NoMatch, |&c| CodeLookup::Active(c))
            }
            Lookup::OutsideWindow {
                code_id,
                not_yet_active,
            } => facts(code_id).map_or(CodeLookup::NoMatch, |c| {
                CodeLookup::Outside(c.id, not_yet_active)
            }),
            Lookup::NoMatch => CodeLookup::NoMatch,
        }
    }

    /// A code's payout override.
    fn payout_of(&self, code: &HotCode) -> Option<Payout> {
        let i = usize::try_from(code.payout).ok()?.checked_sub(1)?;
        self.payouts.get(i).copied()
    }
}

enum CodeLookup {
    Active(HotCode),
    Outside(CodeId, bool),
    NoMatch,
}

// ---------------------------------------------------------------------------------------------
// Partners

/// One partner as crediting needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerFacts {
    pub credit_group: CreditGroup,
    pub status: PartnerStatus,
    /// The partner's default payout; `None` = pays nothing unless a code overrides it.
    pub payout: Option<Payout>,
    /// The partner's Media Id (not used by crediting; the API reply sends it).
    pub media_id: i64,
}

impl PartnerFacts {
    /// What a partner missing from the directory counts as (see the module documentation).
    pub const UNKNOWN: PartnerFacts = PartnerFacts {
        credit_group: CreditGroup::Preferred,
        status: PartnerStatus::Inactive,
        payout: None,
        media_id: 0,
    };
}

/// Where crediting finds partners: the partners of the journey and of the matched code.
pub trait PartnerDirectory {
    fn partner(&self, id: PartnerId) -> Option<PartnerFacts>;
}

impl<S: BuildHasher> PartnerDirectory for HashMap<PartnerId, PartnerFacts, S> {
    #[inline]
    fn partner(&self, id: PartnerId) -> Option<PartnerFacts> {
        self.get(&id).copied()
    }
}

impl<D: PartnerDirectory + ?Sized> PartnerDirectory for &D {
    #[inline]
    fn partner(&self, id: PartnerId) -> Option<PartnerFacts> {
        (**self).partner(id)
    }
}

/// A brand's partners in memory, keyed by id with a cheap integer hash (ids come from the
/// database, not from users, so no keyed hash is needed).
#[derive(Debug, Clone, Default)]
pub struct Partners {
    map: HashMap<PartnerId, PartnerFacts, BuildHasherDefault<IdHasher>>,
}

impl Partners {
    pub fn new() -> Partners {
        Partners::default()
    }

    pub fn with_capacity(n: usize) -> Partners {
        Partners {
            map: HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default()),
        }
    }

    pub fn insert(&mut self, id: PartnerId, facts: PartnerFacts) {
        self.map.insert(id, facts);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl FromIterator<(PartnerId, PartnerFacts)> for Partners {
    fn from_iter<I: IntoIterator<Item = (PartnerId, PartnerFacts)>>(iter: I) -> Partners {
        Partners {
            map: iter.into_iter().collect(),
        }
    }
}

impl PartnerDirectory for Partners {
    #[inline]
    fn partner(&self, id: PartnerId) -> Option<PartnerFacts> {
        self.map.get(&id).copied()
    }
}

/// Multiplicative hash of one integer (ids); bytes are folded in FNV style.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }
    #[inline]
    fn write_i64(&mut self, i: i64) {
        self.0 = (self.0 ^ i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.write_i64(i as i64);
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs and the decision

/// One click of the journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Click {
    pub partner: PartnerId,
    pub clicked_at: DateTime<Utc>,
}

/// The conversion as crediting needs it. `S` is `String` or `&str`.
#[derive(Debug)]
pub struct Conversion<'a, S = String> {
    /// The event instant: code windows are compared with it.
    pub event_date: DateTime<Utc>,
    /// The entered codes, already split, in the order given (untrimmed is fine).
    pub entered_codes: &'a [S],
    /// The sale amount, for percent payouts.
    pub sale_amount: Decimal,
}

impl<S> Clone for Conversion<'_, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Conversion<'_, S> {}

/// The entered code that decided, and what its code is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedCode {
    pub code: CodeId,
    /// Index into [`Conversion::entered_codes`] of the entered code that matched.
    pub entered_index: usize,
    pub kind: CodeKind,
    pub match_mode: MatchMode,
    /// For a tracking code: index into the journey of its partner's last click (`None`: the
    /// partner was not involved).
    pub partner_last_click: Option<usize>,
}

impl MatchedCode {
    /// For a tracking code: whether its partner had a click in the journey.
    pub fn partner_involved(&self) -> bool {
        self.partner_last_click.is_some()
    }
}

/// An entered code recorded for monitoring (a `code_misuse` row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misuse {
    /// Index into [`Conversion::entered_codes`].
    pub entered_index: usize,
    pub kind: MisuseKind,
    /// The code it matches outside its dates (`None` for `unknown`).
    pub code: Option<CodeId>,
}

/// Where the payout came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutBasis {
    /// Nobody credited (or the decision is invalid): zero.
    NotCredited,
    /// The matched code's override.
    CodeOverride(Payout),
    /// The credited partner's default.
    PartnerDefault(Payout),
    /// The credited partner has no default payout and no override applies: zero.
    NoPayoutSet,
}

/// What [`credit`] decided, with what is needed to store and to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `actions.credit_reason`.
    pub reason: CreditReason,
    /// `actions.valid`: false for `code_owned_by_other_partner` and `partner_inactive`.
    pub valid: bool,
    /// `actions.credited_partner_id`: the partner that earns this conversion. Always `None`
    /// when `valid` is false.
    pub credited: Option<PartnerId>,
    /// The partner steps 1–5 chose, before step 6: equal to `credited` except for
    /// `partner_inactive`, where it is the inactive partner that was refused.
    pub chosen: Option<PartnerId>,
    /// Why steps 1–5 chose `chosen` (or nobody): equal to `reason` except for
    /// `partner_inactive`, where it is e.g. `code_always` or `click_winner`.
    pub chosen_by: CreditReason,
    /// Exact decimal, rounded to cents; zero unless `credited` is set.
    pub payout: Decimal,
    pub payout_basis: PayoutBasis,
    /// The deciding entered code and its code (`None` when no code matched or tracking is off).
    pub matched: Option<MatchedCode>,
    /// `actions.winning_partner_id`: the journey's winner, whatever the outcome.
    pub winner: Option<PartnerId>,
    /// Index into the journey of the winning click.
    pub winning_click: Option<usize>,
    /// `actions.involved_partner_ids`: every partner with a click, in order of first click.
    pub involved: Vec<PartnerId>,
    /// Entered codes that were unknown or outside their dates (`code_misuse` rows), in order.
    pub misuse: Vec<Misuse>,
}

impl Decision {
    /// The entered code that decided (as entered, untrimmed).
    pub fn entered_code<'a, S: AsRef<str>>(
        &self,
        conversion: &Conversion<'a, S>,
    ) -> Option<&'a str> {
        let m = self.matched?;
        conversion
            .entered_codes
            .get(m.entered_index)
            .map(AsRef::as_ref)
    }
}

/// The journey's winner and involved partners.
struct JourneyFacts {
    /// (partner, index of its winning click, its credit group)
    winner: Option<(PartnerId, usize, CreditGroup)>,
    involved: Vec<PartnerId>,
}

fn facts_of<P: PartnerDirectory + ?Sized>(partners: &P, id: PartnerId) -> PartnerFacts {
    partners.partner(id).unwrap_or(PartnerFacts::UNKNOWN)
}

fn analyse_journey<P: PartnerDirectory + ?Sized>(journey: &[Click], partners: &P) -> JourneyFacts {
    let mut best: Option<(CreditGroup, DateTime<Utc>, usize, PartnerId)> = None;
    let mut involved: Vec<PartnerId> = Vec::new();
    for (i, click) in journey.iter().enumerate() {
        let group = facts_of(partners, click.partner).credit_group;
        // `>=`: of clicks of one group at the same instant, the later in the list wins.
        if best.is_none_or(|(g, t, _, _)| (group, click.clicked_at) >= (g, t)) {
            best = Some((group, click.clicked_at, i, click.partner));
        }
        if !involved.contains(&click.partner) {
            if involved.capacity() == 0 {
                involved.reserve_exact(journey.len().min(8));
            }
            involved.push(click.partner);
        }
    }
    JourneyFacts {
        winner: best.map(|(g, _, i, p)| (p, i, g)),
        involved,
    }
}

/// Index of the last click of `partner` (latest instant, then later in the list).
fn last_click_of(journey: &[Click], partner: PartnerId) -> Option<usize> {
    let mut best: Option<(DateTime<Utc>, usize)> = None;
    for (i, c) in journey.iter().enumerate() {
        if c.partner == partner && best.is_none_or(|(t, _)| c.clicked_at >= t) {
            best = Some((c.clicked_at, i));
        }
    }
    best.map(|(_, i)| i)
}

/// Entered codes above this count are deduplicated through a hash set instead of a scan.
const DEDUP_SCAN_MAX: usize = 16;

/// Step 1: the first entered code that matches an active code, and the misuse of all of them.
fn match_entered<S: AsRef<str>>(
    entered: &[S],
    at: DateTime<Utc>,
    codes: &ProgramCodes,
) -> (Option<(usize, HotCode)>, Vec<Misuse>) {
    let mut matched = None;
    let mut misuse = Vec::new();
    let mut seen: Option<HashSet<&str>> = (entered.len() > DEDUP_SCAN_MAX).then(HashSet::new);
    for (i, raw) in entered.iter().enumerate() {
        let e = raw.as_ref().trim();
        if e.is_empty() {
            continue;
        }
        let repeated = match &mut seen {
            Some(set) => !set.insert(e),
            None => entered[..i].iter().any(|p| p.as_ref().trim() == e),
        };
        if repeated {
            continue;
        }
        match codes.lookup(e, at) {
            CodeLookup::Active(facts) => {
                if matched.is_none() {
                    matched = Some((i, facts));
                }
            }
            CodeLookup::Outside(code, not_yet_active) => misuse.push(Misuse {
                entered_index: i,
                kind: if not_yet_active {
                    MisuseKind::NotYetActive
                } else {
                    MisuseKind::Expired
                },
                code: Some(code),
            }),
            CodeLookup::NoMatch => misuse.push(Misuse {
                entered_index: i,
                kind: MisuseKind::Unknown,
                code: None,
            }),
        }
    }
    (matched, misuse)
}

/// The payout of `payout` on a sale of `sale`: percent rounded to cents half away from zero,
/// or the flat amount (rounded the same way if it has more than two decimals); never negative.
pub fn payout_amount(payout: Payout, sale: Decimal) -> Decimal {
    match payout {
        Payout::Percent(percent) => percent_of(sale, percent),
        Payout::Flat(amount) => amount
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
            .max(Decimal::ZERO),
    }
}

/// `sale × percent / 100` in cents, rounded half away from zero; zero for a negative input.
///
/// Integer arithmetic on the mantissas (exact: `Decimal`'s own multiply, divide and round
/// were a seventh of a decision's time): with `sale = a / 10^s` and `percent = b / 10^t`, the
/// payout is `a·b / 10^(s+t+2)` and its cents `a·b / 10^(s+t)`. A product beyond 128 bits
/// (far beyond `NUMERIC(14, 2)` × `NUMERIC(7, 4)`) takes [`percent_of_slow`].
fn percent_of(sale: Decimal, percent: Decimal) -> Decimal {
    if sale.is_sign_negative() || percent.is_sign_negative() {
        return Decimal::ZERO;
    }
    let (Ok(a), Ok(b)) = (
        u128::try_from(sale.mantissa()),
        u128::try_from(percent.mantissa()),
    ) else {
        return Decimal::ZERO;
    };
    let Some(product) = a.checked_mul(b) else {
        return percent_of_slow(sale, percent);
    };
    let k = sale.scale() + percent.scale();
    let cents = match (u64::try_from(product), 10u64.checked_pow(k)) {
        (Ok(m), Some(d)) => {
            let (q, r) = (m / d, m % d);
            u128::from(q) + u128::from(r >= d - r)
        }
        _ => match 10u128.checked_pow(k) {
            Some(d) => {
                let (q, r) = (product / d, product % d);
                q + u128::from(r >= d - r)
            }
            // 10^k > 2^128 > 2 × product: less than half a cent.
            None => 0,
        },
    };
    i128::try_from(cents)
        .ok()
        .and_then(|c| Decimal::try_from_i128_with_scale(c, 2).ok())
        .unwrap_or_else(|| percent_of_slow(sale, percent))
}

/// [`percent_of`] with `Decimal` arithmetic; out of `Decimal`'s range: zero, not a panic.
fn percent_of_slow(sale: Decimal, percent: Decimal) -> Decimal {
    sale.checked_mul(percent)
        .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
        .unwrap_or(Decimal::ZERO)
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        .max(Decimal::ZERO)
}

/// Credits one conversion (SPEC §6; the rules are in the module documentation).
///
/// `journey`: the conversion's clicks, oldest first. `tracking_enabled`: the program's
/// "Enable promo code tracking".
pub fn credit<S, P>(
    conversion: &Conversion<'_, S>,
    journey: &[Click],
    codes: &ProgramCodes,
    partners: &P,
    tracking_enabled: bool,
) -> Decision
where
    S: AsRef<str>,
    P: PartnerDirectory + ?Sized,
{
    let j = analyse_journey(journey, partners);
    let winner = j.winner.map(|(p, _, _)| p);
    let by_click = |with_code: bool| {
        let reason = match (with_code, winner) {
            (true, _) => CreditReason::TrackingDisabled,
            (false, Some(_)) => CreditReason::ClickWinner,
            (false, None) => CreditReason::Unattributed,
        };
        (winner, reason)
    };

    let mut matched = None;
    let mut misuse = Vec::new();
    let mut code_payout = None;
    let (chosen, chosen_by) = if !tracking_enabled {
        let carries_code = conversion
            .entered_codes
            .iter()
            .any(|c| !c.as_ref().trim().is_empty());
        by_click(carries_code)
    } else {
        let (found, found_misuse) =
            match_entered(conversion.entered_codes, conversion.event_date, codes);
        misuse = found_misuse;
        match found {
            None => by_click(false),
            Some((entered_index, code)) => {
                let partner_last_click =
                    code.kind.partner().and_then(|x| last_click_of(journey, x));
                matched = Some(MatchedCode {
                    code: code.id,
                    entered_index,
                    kind: code.kind,
                    match_mode: code.match_mode,
                    partner_last_click,
                });
                match code.kind {
                    CodeKind::Restricted => (None, CreditReason::RestrictedCode),
                    CodeKind::Tracking { partner: x, rule } => {
                        let x_group = facts_of(partners, x).credit_group;
                        match j.winner {
                            Some((w, _, w_group)) if w_group > x_group => {
                                (Some(w), CreditReason::CreditGroup)
                            }
                            _ => {
                                let holds = match rule {
                                    CreditRule::Always => Some(CreditReason::CodeAlways),
                                    CreditRule::Involved => partner_last_click
                                        .is_some()
                                        .then_some(CreditReason::CodeInvolved),
                                    CreditRule::Winner => {
                                        (winner == Some(x)).then_some(CreditReason::CodeWinner)
                                    }
                                };
                                match (holds, winner) {
                                    (Some(reason), _) => {
                                        code_payout = codes.payout_of(&code);
                                        (Some(x), reason)
                                    }
                                    (None, Some(_)) => {
                                        (None, CreditReason::CodeOwnedByOtherPartner)
                                    }
                                    (None, None) => (None, CreditReason::Unattributed),
                                }
                            }
                        }
                    }
                }
            }
        }
    };

    // Step 6.
    let chosen_facts = chosen.map(|p| facts_of(partners, p));
    let (reason, credited) = match chosen_facts {
        Some(f) if f.status == PartnerStatus::Inactive => (CreditReason::PartnerInactive, None),
        _ => (chosen_by, chosen),
    };
    let valid = reason.is_valid();
    let credited = if valid { credited } else { None };

    let payout_basis = match (credited, chosen_facts) {
        (Some(_), Some(f)) => match code_payout {
            Some(p) => PayoutBasis::CodeOverride(p),
            None => f
                .payout
                .map_or(PayoutBasis::NoPayoutSet, PayoutBasis::PartnerDefault),
        },
        _ => PayoutBasis::NotCredited,
    };
    let payout = match payout_basis {
        PayoutBasis::CodeOverride(p) | PayoutBasis::PartnerDefault(p) => {
            payout_amount(p, conversion.sale_amount)
        }
        PayoutBasis::NotCredited | PayoutBasis::NoPayoutSet => Decimal::ZERO,
    };

    Decision {
        reason,
        valid,
        credited,
        chosen,
        chosen_by,
        payout,
        payout_basis,
        matched,
        winner,
        winning_click: j.winner.map(|(_, i, _)| i),
        involved: j.involved,
        misuse,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod props;
