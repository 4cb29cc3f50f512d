//! Action states (SPEC §6 "Action states") and the rules of changing them:
//! an action arrives `PENDING`, is `APPROVED` by a manager or automatically
//! once its locking date has passed, or `REVERSED` with a reason.
//!
//! * Only a `PENDING` action can be approved (an approved one is already
//!   approved, a reversed one stays reversed).
//! * A `PENDING` or `APPROVED` action can be reversed until its locking
//!   date; from then on it is locked (its payout is settled) and stays as it
//!   is. An action approved before its locking date can still be reversed
//!   until then: approving early is not a promise the order will not be
//!   returned. A reversed action stays reversed.
//! * Automatic approval takes `PENDING` actions whose locking date has
//!   passed (the store's batch statement applies the same condition).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt;

/// `actions.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionState {
    Pending,
    Approved,
    Reversed,
}

impl ActionState {
    pub const ALL: [ActionState; 3] = [
        ActionState::Pending,
        ActionState::Approved,
        ActionState::Reversed,
    ];

    /// The stored (and reference API) name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Pending => "PENDING",
            ActionState::Approved => "APPROVED",
            ActionState::Reversed => "REVERSED",
        }
    }

    /// For people: "Pending".
    pub fn label(self) -> &'static str {
        match self {
            ActionState::Pending => "Pending",
            ActionState::Approved => "Approved",
            ActionState::Reversed => "Reversed",
        }
    }

    pub fn parse(s: &str) -> Option<ActionState> {
        let s = s.trim();
        ActionState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for ActionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an action is reversed: the reference product's disposition codes
/// (its reverse and modify endpoints; reference-api.md §2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReversalReason {
    OrderUpdate,
    ItemReturned,
    ItemOutOfStock,
    OrderError,
    ConsFraud,
    ConsError,
    ConsInfoInvalid,
    TestAction,
    CreditedDifferentMp,
    PartnerNotActive,
    NotComplianceTerms,
    PubActDispute,
    AdvActDispute,
    Rejected,
    Other,
}

impl ReversalReason {
    /// In the order the reverse form lists them.
    pub const ALL: [ReversalReason; 15] = [
        ReversalReason::ItemReturned,
        ReversalReason::OrderUpdate,
        ReversalReason::OrderError,
        ReversalReason::ItemOutOfStock,
        ReversalReason::ConsFraud,
        ReversalReason::ConsError,
        ReversalReason::ConsInfoInvalid,
        ReversalReason::TestAction,
        ReversalReason::CreditedDifferentMp,
        ReversalReason::PartnerNotActive,
        ReversalReason::NotComplianceTerms,
        ReversalReason::PubActDispute,
        ReversalReason::AdvActDispute,
        ReversalReason::Rejected,
        ReversalReason::Other,
    ];

    /// The code as stored in `actions.reversal_reason` and sent by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ReversalReason::OrderUpdate => "ORDER_UPDATE",
            ReversalReason::ItemReturned => "ITEM_RETURNED",
            ReversalReason::ItemOutOfStock => "ITEM_OUT_OF_STOCK",
            ReversalReason::OrderError => "ORDER_ERROR",
            ReversalReason::ConsFraud => "CONS_FRAUD",
            ReversalReason::ConsError => "CONS_ERROR",
            ReversalReason::ConsInfoInvalid => "CONS_INFO_INVALID",
            ReversalReason::TestAction => "TEST_ACTION",
            ReversalReason::CreditedDifferentMp => "CREDITED_DIFFERENT_MP",
            ReversalReason::PartnerNotActive => "PARTNER_NOT_ACTIVE",
            ReversalReason::NotComplianceTerms => "NOT_COMPLIANCE_TERMS",
            ReversalReason::PubActDispute => "PUB_ACT_DISPUTE",
            ReversalReason::AdvActDispute => "ADV_ACT_DISPUTE",
            ReversalReason::Rejected => "REJECTED",
            ReversalReason::Other => "OTHER",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            ReversalReason::OrderUpdate => "Order updated",
            ReversalReason::ItemReturned => "Item returned",
            ReversalReason::ItemOutOfStock => "Item out of stock",
            ReversalReason::OrderError => "Order error",
            ReversalReason::ConsFraud => "Customer fraud",
            ReversalReason::ConsError => "Customer error",
            ReversalReason::ConsInfoInvalid => "Customer information invalid",
            ReversalReason::TestAction => "Test order",
            ReversalReason::CreditedDifferentMp => "Credited to a different partner",
            ReversalReason::PartnerNotActive => "Partner not active",
            ReversalReason::NotComplianceTerms => "Not compliant with the program's terms",
            ReversalReason::PubActDispute => "Disputed by the partner",
            ReversalReason::AdvActDispute => "Disputed by the brand",
            ReversalReason::Rejected => "Rejected",
            ReversalReason::Other => "Other",
        }
    }

    /// A code as sent (case and surrounding spaces ignored).
    pub fn parse(s: &str) -> Option<ReversalReason> {
        let s = s.trim();
        ReversalReason::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// How a stored reason reads: the label of a known code, else the text
    /// as stored (older rows and imports may hold free text).
    pub fn describe(stored: &str) -> String {
        match ReversalReason::parse(stored) {
            Some(r) => format!("{} ({})", r.label(), r.as_str()),
            None => stored.to_string(),
        }
    }
}

impl fmt::Display for ReversalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest note a reversal may carry.
pub const MAX_NOTE_CHARS: usize = 500;

/// Why a state change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Approve: the action is not pending.
    NotPending(ActionState),
    /// Reverse: it is reversed already.
    AlreadyReversed,
    /// Reverse: its locking date has passed.
    Locked(DateTime<Utc>),
}

impl Refusal {
    /// The reason, with dates in `tz`.
    pub fn message(self, tz: Tz) -> String {
        match self {
            Refusal::NotPending(ActionState::Approved) => {
                "This action is approved already.".to_string()
            }
            Refusal::NotPending(ActionState::Reversed) => {
                "This action is reversed: a reversed action cannot be approved.".to_string()
            }
            Refusal::NotPending(ActionState::Pending) => "This action is pending.".to_string(),
            Refusal::AlreadyReversed => "This action is reversed already.".to_string(),
            Refusal::Locked(at) => format!(
                "This action is locked since {}: its locking period has ended, so it can no \
                 longer be reversed.",
                super::code::format_human(at, tz)
            ),
        }
    }
}

/// Whether a manager may approve an action in `state`.
pub fn check_approve(state: ActionState) -> Result<(), Refusal> {
    match state {
        ActionState::Pending => Ok(()),
        other => Err(Refusal::NotPending(other)),
    }
}

/// Whether an action in `state` with this locking date may be reversed at
/// `now`. Locked from the locking instant on (inclusive), the instant the
/// automatic approval takes it.
pub fn check_reverse(
    state: ActionState,
    locking_date: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    match state {
        ActionState::Reversed => Err(Refusal::AlreadyReversed),
        _ if is_locked(locking_date, now) => Err(Refusal::Locked(locking_date)),
        ActionState::Pending | ActionState::Approved => Ok(()),
    }
}

/// True once the locking date has come.
pub fn is_locked(locking_date: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    locking_date <= now
}

/// Whether automatic approval takes an action at `now`.
pub fn auto_approves(state: ActionState, locking_date: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    state == ActionState::Pending && is_locked(locking_date, now)
}

/// The reverse form's note: trimmed, empty = none, at most
/// [`MAX_NOTE_CHARS`] characters, no control characters but line breaks.
pub fn parse_note(raw: &str) -> Result<Option<String>, String> {
    let note = raw.trim();
    if note.is_empty() {
        return Ok(None);
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(format!(
            "The note is too long: at most {MAX_NOTE_CHARS} characters."
        ));
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("The note contains control characters.".to_string());
    }
    Ok(Some(note.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, h, m, s).unwrap()
    }

    #[test]
    fn states_read_and_print_as_stored() {
        for s in ActionState::ALL {
            assert_eq!(ActionState::parse(s.as_str()), Some(s));
            assert_eq!(ActionState::parse(&s.as_str().to_lowercase()), Some(s));
        }
        assert_eq!(
            ActionState::parse(" approved "),
            Some(ActionState::Approved)
        );
        assert_eq!(ActionState::parse("REJECTED"), None);
        assert_eq!(ActionState::Reversed.label(), "Reversed");
    }

    #[test]
    fn every_reason_has_a_code_and_a_label_and_reads_back() {
        let mut codes = std::collections::HashSet::new();
        for r in ReversalReason::ALL {
            assert!(codes.insert(r.as_str()), "{r} twice");
            assert_eq!(ReversalReason::parse(r.as_str()), Some(r));
            assert!(!r.label().is_empty());
        }
        for code in [
            "ORDER_UPDATE",
            "ITEM_RETURNED",
            "CONS_FRAUD",
            "CONS_ERROR",
            "ORDER_ERROR",
            "TEST_ACTION",
            "OTHER",
        ] {
            assert!(ReversalReason::parse(code).is_some(), "{code}");
        }
        assert_eq!(
            ReversalReason::parse(" cons_fraud "),
            Some(ReversalReason::ConsFraud)
        );
        assert_eq!(ReversalReason::parse("FRAUD"), None);
        assert_eq!(ReversalReason::parse(""), None);
        assert_eq!(
            ReversalReason::describe("ITEM_RETURNED"),
            "Item returned (ITEM_RETURNED)"
        );
        assert_eq!(
            ReversalReason::describe("Returned by customer"),
            "Returned by customer"
        );
    }

    #[test]
    fn only_pending_actions_can_be_approved() {
        assert_eq!(check_approve(ActionState::Pending), Ok(()));
        assert_eq!(
            check_approve(ActionState::Approved),
            Err(Refusal::NotPending(ActionState::Approved))
        );
        assert_eq!(
            check_approve(ActionState::Reversed),
            Err(Refusal::NotPending(ActionState::Reversed))
        );
    }

    #[test]
    fn pending_and_approved_actions_can_be_reversed_until_locked() {
        let lock = t(12, 0, 0);
        let before = t(11, 59, 59);
        for state in [ActionState::Pending, ActionState::Approved] {
            assert_eq!(check_reverse(state, lock, before), Ok(()), "{state}");
            // From the locking instant on: locked.
            assert_eq!(
                check_reverse(state, lock, lock),
                Err(Refusal::Locked(lock)),
                "{state}"
            );
            assert_eq!(
                check_reverse(state, lock, t(13, 0, 0)),
                Err(Refusal::Locked(lock))
            );
        }
        // Reversed stays reversed, locked or not.
        assert_eq!(
            check_reverse(ActionState::Reversed, lock, before),
            Err(Refusal::AlreadyReversed)
        );
        assert_eq!(
            check_reverse(ActionState::Reversed, lock, t(13, 0, 0)),
            Err(Refusal::AlreadyReversed)
        );
    }

    #[test]
    fn automatic_approval_takes_pending_actions_from_their_locking_instant() {
        let lock = t(12, 0, 0);
        assert!(!auto_approves(ActionState::Pending, lock, t(11, 59, 59)));
        assert!(auto_approves(ActionState::Pending, lock, lock));
        assert!(!auto_approves(ActionState::Reversed, lock, t(13, 0, 0)));
        assert!(!auto_approves(ActionState::Approved, lock, t(13, 0, 0)));
    }

    #[test]
    fn a_locked_refusal_names_the_instant_in_the_programs_zone() {
        let m = Refusal::Locked(t(4, 0, 0)).message(chrono_tz::America::New_York);
        assert!(m.contains("locked since 2026-06-01 00:00 EDT"), "{m}");
        assert!(Refusal::NotPending(ActionState::Reversed)
            .message(Tz::UTC)
            .contains("reversed"));
    }

    #[test]
    fn notes_are_trimmed_bounded_and_plain() {
        assert_eq!(parse_note("   "), Ok(None));
        assert_eq!(
            parse_note(" returned on 2 June \n"),
            Ok(Some("returned on 2 June".into()))
        );
        assert_eq!(
            parse_note("line one\nline two"),
            Ok(Some("line one\nline two".into()))
        );
        assert!(parse_note(&"x".repeat(MAX_NOTE_CHARS)).is_ok());
        assert!(parse_note(&"x".repeat(MAX_NOTE_CHARS + 1)).is_err());
        assert!(parse_note("bell\u{7}").is_err());
    }
}
