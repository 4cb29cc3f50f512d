//! Why an action was credited as it was, in words a program manager
//! understands: a pure function of the stored decision (reason, credited,
//! winning and chosen partners, matched and entered codes, the journey, the
//! misuse rows) and the names of what it refers to (partners, codes).
//!
//! The decision is explained as it was made (SPEC §6 "Crediting"); what is
//! read now (names, credit groups, status) only names things. Where the
//! partners' current groups or status no longer show why (a group changed
//! since), the sentence says what held when the order arrived instead of
//! contradicting the stored decision.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::code::{CodeType, CreditRule, MatchMode};
use super::crediting::{CreditReason, MisuseKind};
use super::partner::{CreditGroup, PartnerStatus};
use super::{CodeId, PartnerId};

/// One click of a stored journey (`actions.journey`, oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JourneyClick {
    pub partner_id: i64,
    #[serde(default)]
    pub media_id: Option<i64>,
    pub clicked_at: DateTime<Utc>,
    /// The click's id (`clicks.id`) when the journey came from recorded
    /// clicks; none for a journey given by an orders CSV.
    #[serde(default)]
    pub click_id: Option<ClickRef>,
}

/// A click's id as stored: its row id, or its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClickRef {
    Id(i64),
    Token(String),
}

impl JourneyClick {
    pub fn partner(&self) -> PartnerId {
        PartnerId(self.partner_id)
    }
}

/// The clicks of a stored journey; entries that are not clicks (a hand-made
/// row) are left out rather than failing the page.
pub fn parse_journey(json: &serde_json::Value) -> Vec<JourneyClick> {
    json.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// What the explanation says of a partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerInfo {
    pub name: String,
    pub credit_group: CreditGroup,
    pub status: PartnerStatus,
}

/// What the explanation says of a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeInfo {
    pub id: CodeId,
    /// The exact value or the regex pattern.
    pub value: String,
    pub match_mode: MatchMode,
    pub code_type: CodeType,
    pub credit_rule: Option<CreditRule>,
    pub partner: Option<PartnerId>,
    pub active_start: Option<DateTime<Utc>>,
    pub active_end: Option<DateTime<Utc>>,
}

/// An entered code recorded for monitoring (a `code_misuse` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misused {
    pub entered: String,
    pub kind: MisuseKind,
    /// The code it matched outside its dates.
    pub code: Option<CodeInfo>,
}

/// The stored decision of one action.
#[derive(Debug, Clone)]
pub struct Stored<'a> {
    pub reason: CreditReason,
    pub event_date: DateTime<Utc>,
    pub credited: Option<PartnerId>,
    pub winner: Option<PartnerId>,
    /// The partner refused under `partner_inactive`.
    pub chosen: Option<PartnerId>,
    pub entered_codes: &'a [String],
    /// The entered code that decided.
    pub entered_code: Option<&'a str>,
    /// The matched code.
    pub code: Option<&'a CodeInfo>,
    pub journey: &'a [JourneyClick],
    pub misuse: &'a [Misused],
}

/// How the decision came out, for its badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A partner earns the order.
    Credited,
    /// Refused credit: an invalid conversion.
    NotCredited,
    /// Valid, and nobody earns it.
    NobodyCredited,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Credited => "credited",
            Verdict::NotCredited => "invalid",
            Verdict::NobodyCredited => "uncredited",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Credited => "Credited",
            Verdict::NotCredited => "Not credited (invalid)",
            Verdict::NobodyCredited => "No partner credited",
        }
    }
}

/// The decision in words: one summary sentence and the details that follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub verdict: Verdict,
    pub summary: String,
    pub details: Vec<String>,
}

/// A credit group for people.
pub fn group_label(g: CreditGroup) -> &'static str {
    match g {
        CreditGroup::Preferred => "Preferred",
        CreditGroup::Standard => "Standard",
        CreditGroup::NonPreferred => "Non-preferred",
    }
}

/// A short time for sentences: "3 May 14:02" (with the year when it is not
/// the event's).
pub fn short_time(t: DateTime<Utc>, tz: Tz, event: DateTime<Utc>) -> String {
    let l = t.with_timezone(&tz);
    if l.year() == event.with_timezone(&tz).year() {
        l.format("%-d %b %H:%M").to_string()
    } else {
        l.format("%-d %b %Y %H:%M").to_string()
    }
}

struct Ctx<'a> {
    s: &'a Stored<'a>,
    partners: &'a HashMap<PartnerId, PartnerInfo>,
    tz: Tz,
}

impl Ctx<'_> {
    fn name(&self, p: PartnerId) -> String {
        self.partners
            .get(&p)
            .map(|i| i.name.clone())
            .unwrap_or_else(|| format!("partner #{p}"))
    }

    fn group(&self, p: PartnerId) -> Option<CreditGroup> {
        self.partners.get(&p).map(|i| i.credit_group)
    }

    fn time(&self, t: DateTime<Utc>) -> String {
        short_time(t, self.tz, self.s.event_date)
    }

    /// The partner's last click in the journey (latest instant, then later
    /// in the list, as crediting counts it).
    fn last_click(&self, p: PartnerId) -> Option<&JourneyClick> {
        let mut best: Option<&JourneyClick> = None;
        for c in self.s.journey {
            if c.partner() == p && best.is_none_or(|b| c.clicked_at >= b.clicked_at) {
                best = Some(c);
            }
        }
        best
    }

    /// "Acme Deals won the journey with its click on 3 May 14:02".
    fn won(&self, w: PartnerId) -> String {
        match self.last_click(w) {
            Some(c) => format!(
                "{} won the journey with its click on {}",
                self.name(w),
                self.time(c.clicked_at)
            ),
            None => format!("{} won the journey", self.name(w)),
        }
    }

    /// The matched code as the sentences name it: "code SUMMER10 (exact,
    /// rule INVOLVED)", "code SUMMER-77 (regex ^SUMMER-[0-9]+$, rule
    /// ALWAYS)", "code BLOCK10 (exact)".
    fn code_phrase(&self) -> String {
        let entered = self.s.entered_code.map(str::trim).filter(|e| !e.is_empty());
        let Some(code) = self.s.code else {
            return match entered {
                Some(e) => format!("code {e}"),
                None => "the entered code".to_string(),
            };
        };
        let mode = match code.match_mode {
            MatchMode::Literal => "exact".to_string(),
            MatchMode::Regex => format!("regex {}", code.value),
        };
        let shown = match code.match_mode {
            MatchMode::Literal => code.value.as_str(),
            MatchMode::Regex => entered.unwrap_or(code.value.as_str()),
        };
        match (code.code_type, code.credit_rule) {
            (CodeType::Tracking, Some(rule)) => {
                format!("code {shown} ({mode}, rule {})", rule.as_str())
            }
            _ => format!("code {shown} ({mode})"),
        }
    }

    /// "The matched code: SUMMER10 (exact, rule ALWAYS), of Acme Deals."
    fn code_detail(&self) -> String {
        let phrase = self.code_phrase();
        let phrase = phrase.strip_prefix("code ").unwrap_or(&phrase);
        match self.owner() {
            Some(x) => format!("The matched code: {phrase}, of {}.", self.name(x)),
            None => format!("The matched code: {phrase}."),
        }
    }

    /// The code's value as entered or stored, alone: "SUMMER10".
    fn code_value(&self) -> String {
        match (self.s.code, self.s.entered_code.map(str::trim)) {
            (Some(c), _) if c.match_mode == MatchMode::Literal => c.value.clone(),
            (_, Some(e)) if !e.is_empty() => e.to_string(),
            (Some(c), _) => c.value.clone(),
            (None, _) => "the entered code".to_string(),
        }
    }

    fn owner(&self) -> Option<PartnerId> {
        self.s.code.and_then(|c| c.partner)
    }

    fn rule(&self) -> Option<CreditRule> {
        self.s.code.and_then(|c| c.credit_rule)
    }

    /// The non-empty entered codes, trimmed, each once.
    fn entered(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in self.s.entered_codes {
            let e = e.trim();
            if !e.is_empty() && !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }

    /// "by click: the order carried no promo code" or "none of the entered
    /// codes matched an active code of the program".
    fn no_code_matched(&self) -> String {
        match self.entered().len() {
            0 => "the order carried no promo code".to_string(),
            1 => "the entered code matched no active code of the program".to_string(),
            _ => "none of the entered codes matched an active code of the program".to_string(),
        }
    }

    fn codes_list(&self) -> String {
        join_and(&self.entered())
    }

    /// A click of the winner's journey that came later, of a lower group:
    /// why it did not win.
    fn later_lower_clicks(&self, w: PartnerId) -> Option<String> {
        let won_at = self.last_click(w)?.clicked_at;
        let wg = self.group(w)?;
        let later: Vec<String> = self
            .s
            .journey
            .iter()
            .filter(|c| c.partner() != w && c.clicked_at > won_at)
            .filter_map(|c| {
                let g = self.group(c.partner())?;
                (g < wg).then(|| {
                    format!(
                        "{} ({}) on {}",
                        self.name(c.partner()),
                        group_label(g),
                        self.time(c.clicked_at)
                    )
                })
            })
            .collect();
        if later.is_empty() {
            return None;
        }
        Some(format!(
            "Later clicks of partners in a lower credit group than {} ({}) do not win the \
             journey: {}.",
            self.name(w),
            group_label(wg),
            later.join(", ")
        ))
    }

    /// The winner had the last click but does not outrank the code's owner.
    fn winner_not_above_owner(&self, owner: PartnerId) -> Option<String> {
        let w = self.s.winner.filter(|w| *w != owner)?;
        Some(format!(
            "{}, but it is not in a higher credit group than {}, so the code's rule decides.",
            self.won(w),
            self.name(owner)
        ))
    }

    fn misuse_sentence(&self, m: &Misused) -> String {
        let entered = m.entered.trim();
        match m.kind {
            MisuseKind::Unknown => format!(
                "{entered} was entered but matches no code of the program: it is recorded \
                 as an unknown code."
            ),
            MisuseKind::Expired => {
                let code = match &m.code {
                    Some(c) => match c.active_end {
                        Some(end) => format!("code {}, which ended on {}", c.value, self.time(end)),
                        None => format!("code {}, which had expired", c.value),
                    },
                    None => "a code that had expired".to_string(),
                };
                format!(
                    "{entered} was entered but matches only {code}: it is recorded as use of \
                     an expired code."
                )
            }
            MisuseKind::NotYetActive => {
                let code = match &m.code {
                    Some(c) => match c.active_start {
                        Some(start) => {
                            format!(
                                "code {}, which starts only on {}",
                                c.value,
                                self.time(start)
                            )
                        }
                        None => format!("code {}, which was not active yet", c.value),
                    },
                    None => "a code that was not active yet".to_string(),
                };
                format!(
                    "{entered} was entered but matches only {code}: it is recorded as use of \
                     a code not yet active."
                )
            }
        }
    }

    /// Entered codes after the deciding one that matched but did not count.
    fn later_matches(&self) -> Vec<String> {
        let Some(decided) = self.s.entered_code.map(str::trim) else {
            return Vec::new();
        };
        let entered = self.entered();
        let Some(at) = entered.iter().position(|e| *e == decided) else {
            return Vec::new();
        };
        entered[at + 1..]
            .iter()
            .filter(|e| !self.s.misuse.iter().any(|m| m.entered.trim() == **e))
            .map(|e| {
                format!(
                    "{e} was also entered; only the first entered code that matches decides, so \
                     it did not change the result."
                )
            })
            .collect()
    }
}

/// "A", "A and B", "A, B and C".
fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Explains a stored decision. `partners` names the partners it refers to
/// (a missing one reads "partner #id"); dates read in `tz`.
pub fn explain(
    stored: &Stored<'_>,
    partners: &HashMap<PartnerId, PartnerInfo>,
    tz: Tz,
) -> Explanation {
    let cx = Ctx {
        s: stored,
        partners,
        tz,
    };
    let s = stored;
    let mut details = Vec::new();
    let credited = |verdict_partner: Option<PartnerId>| {
        verdict_partner.map_or("nobody".to_string(), |p| cx.name(p))
    };
    let (verdict, summary) = match s.reason {
        CreditReason::CodeAlways => {
            let x = s.credited.or(cx.owner());
            if let Some(sentence) = x.and_then(|x| cx.winner_not_above_owner(x)) {
                details.push(sentence);
            }
            (
                Verdict::Credited,
                format!(
                    "Credited to {}: {} was entered, and a code with rule ALWAYS credits its \
                     partner whatever the journey.",
                    credited(x),
                    cx.code_phrase()
                ),
            )
        }
        CreditReason::CodeInvolved => {
            let x = s.credited.or(cx.owner());
            let click = x
                .and_then(|x| cx.last_click(x))
                .map(|c| format!(" on {}", cx.time(c.clicked_at)))
                .unwrap_or_default();
            if let Some(sentence) = x.and_then(|x| cx.winner_not_above_owner(x)) {
                details.push(sentence);
            }
            (
                Verdict::Credited,
                format!(
                    "Credited to {}: {} was entered and {} had a click{click} in the journey.",
                    credited(x),
                    cx.code_phrase(),
                    credited(x)
                ),
            )
        }
        CreditReason::CodeWinner => {
            let x = s.credited.or(cx.owner());
            if let Some(sentence) = x.and_then(|x| cx.later_lower_clicks(x)) {
                details.push(sentence);
            }
            (
                Verdict::Credited,
                format!(
                    "Credited to {}: {} was entered and {}.",
                    credited(x),
                    cx.code_phrase(),
                    x.map_or("its partner won the journey".to_string(), |x| cx.won(x))
                ),
            )
        }
        CreditReason::CreditGroup => {
            let w = s.credited.or(s.winner);
            let owner = cx.owner();
            let value = cx.code_value();
            let summary = match (w, owner) {
                (Some(w), Some(x)) => match (cx.group(w), cx.group(x)) {
                    (Some(gw), Some(gx)) if gw > gx => format!(
                        "Credited to {w_name}: {w_name} ({}) had a click in the journey and \
                         outranks {x_name} ({}), whose code {value} was entered: the winner of \
                         the journey is credited.",
                        group_label(gw),
                        group_label(gx),
                        w_name = cx.name(w),
                        x_name = cx.name(x),
                    ),
                    _ => format!(
                        "Credited to {w_name}: when the order arrived, {w_name} had a click in \
                         the journey and was in a higher credit group than {x_name}, whose code \
                         {value} was entered: the winner of the journey is credited. (Their \
                         credit groups have changed since.)",
                        w_name = cx.name(w),
                        x_name = cx.name(x),
                    ),
                },
                (w, _) => format!(
                    "Credited to {}: a partner of a higher credit group than the owner of code \
                     {value} had a click in the journey: the winner of the journey is credited.",
                    credited(w)
                ),
            };
            if let Some(w) = w {
                details.push(format!("{}.", cx.won(w)));
            }
            details.push(
                "A click of a partner in a higher credit group wins over a code of a lower \
                 group, even a code with rule ALWAYS."
                    .to_string(),
            );
            details.push(cx.code_detail());
            (Verdict::Credited, summary)
        }
        CreditReason::ClickWinner => {
            let w = s.credited.or(s.winner);
            if let Some(sentence) = w.and_then(|w| cx.later_lower_clicks(w)) {
                details.push(sentence);
            }
            (
                Verdict::Credited,
                format!(
                    "Credited to {} by click: {}, and {}.",
                    credited(w),
                    cx.no_code_matched(),
                    w.map_or("its partner won the journey".to_string(), |w| cx.won(w))
                ),
            )
        }
        CreditReason::RestrictedCode => {
            if let Some(w) = s.winner {
                details.push(format!(
                    "{}, but earns nothing on this order either.",
                    cx.won(w)
                ));
            }
            (
                Verdict::NobodyCredited,
                format!(
                    "No partner credited: {} is RESTRICTED, and a restricted code may not earn \
                     any partner credit.",
                    cx.code_phrase()
                ),
            )
        }
        CreditReason::CodeOwnedByOtherPartner => {
            let owner = cx.owner();
            let owner_name = credited(owner);
            let w = s.winner;
            match (cx.rule(), owner) {
                (Some(CreditRule::Involved), Some(x)) => details.push(format!(
                    "The code's rule is INVOLVED, and {} had no click in the journey, so the \
                     code could not credit {}.",
                    cx.name(x),
                    cx.name(x)
                )),
                (Some(CreditRule::Winner), Some(x)) => details.push(match cx.last_click(x) {
                    Some(c) => format!(
                        "The code's rule is WINNER, and the click of {} on {} did not win the \
                         journey, so the code could not credit {}.",
                        cx.name(x),
                        cx.time(c.clicked_at),
                        cx.name(x)
                    ),
                    None => format!(
                        "The code's rule is WINNER, and {} had no click in the journey, so the \
                         code could not credit {}.",
                        cx.name(x),
                        cx.name(x)
                    ),
                }),
                _ => {}
            }
            if let Some(w) = w {
                details.push(format!("{}.", cx.won(w)));
            }
            details.push(cx.code_detail());
            (
                Verdict::NotCredited,
                format!(
                    "Not credited: {} belongs to {owner_name}, but {} won the journey, and a \
                     partner may not earn on another partner's code.",
                    cx.code_value(),
                    w.map_or("another partner".to_string(), |w| cx.name(w)),
                ),
            )
        }
        CreditReason::PartnerInactive => {
            let summary = match s.chosen {
                Some(c) => {
                    let how = match (cx.owner(), s.winner) {
                        (Some(x), _) if x == c && s.code.is_some() => {
                            format!(", whose {} was entered,", cx.code_phrase())
                        }
                        (_, Some(w)) if w == c => match cx.last_click(w) {
                            Some(click) => format!(
                                ", which won the journey with its click on {},",
                                cx.time(click.clicked_at)
                            ),
                            None => ", which won the journey,".to_string(),
                        },
                        _ => String::new(),
                    };
                    if cx
                        .partners
                        .get(&c)
                        .is_some_and(|p| p.status == PartnerStatus::Active)
                    {
                        details.push(format!(
                            "{} is active again now; the decision stands as it was made when \
                             the order arrived.",
                            cx.name(c)
                        ));
                    }
                    format!(
                        "Not credited: the rules chose {name}{how} but {name} is inactive, and \
                         an inactive partner earns nothing.",
                        name = cx.name(c)
                    )
                }
                None => "Not credited: the partner the rules chose is inactive, and an inactive \
                         partner earns nothing."
                    .to_string(),
            };
            (Verdict::NotCredited, summary)
        }
        CreditReason::Unattributed => {
            let summary = match (s.code, cx.owner()) {
                (Some(_), Some(x)) => {
                    let needs = match cx.rule() {
                        Some(CreditRule::Winner) => format!(
                            "rule WINNER credits {} only when it wins the journey",
                            cx.name(x)
                        ),
                        _ => format!(
                            "rule INVOLVED credits {} only with a click of its own",
                            cx.name(x)
                        ),
                    };
                    format!(
                        "No partner credited: {} of {} was entered, but the journey has no \
                         clicks, and {needs}.",
                        cx.code_phrase(),
                        cx.name(x)
                    )
                }
                _ => format!(
                    "No partner credited: {}, and the journey has no clicks.",
                    cx.no_code_matched()
                ),
            };
            (Verdict::NobodyCredited, summary)
        }
        CreditReason::TrackingDisabled => {
            let entered = cx.entered();
            let codes = match entered.len() {
                0 => "the entered code was".to_string(),
                1 => format!("the entered code {} was", cx.codes_list()),
                _ => format!("the entered codes {} were", cx.codes_list()),
            };
            match s.credited.or(s.winner) {
                Some(w) => (
                    Verdict::Credited,
                    format!(
                        "Credited to {} by click: promo code tracking was off for this program, \
                         so {codes} not used, and {}.",
                        cx.name(w),
                        cx.won(w)
                    ),
                ),
                None => (
                    Verdict::NobodyCredited,
                    format!(
                        "No partner credited: promo code tracking was off for this program, so \
                         {codes} not used, and the journey has no clicks."
                    ),
                ),
            }
        }
    };
    details.extend(s.misuse.iter().map(|m| cx.misuse_sentence(m)));
    details.extend(cx.later_matches());
    Explanation {
        verdict,
        summary,
        details,
    }
}

#[cfg(test)]
mod tests;
