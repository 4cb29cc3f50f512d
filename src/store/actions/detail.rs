//! Everything the action page shows of one action: the row, its program,
//! the matched code, the partners it names (credited, winning, chosen,
//! involved, in the journey, owning a code), the click it named, its misuse
//! rows and its updates. Brand-scoped: another brand's action is not found.

use std::collections::BTreeSet;

use super::{get, ActionRow};
use crate::db::schema::{action_updates, clicks, code_misuse, partners, promo_codes};
use crate::domain::explain::parse_journey;
use crate::domain::{ActionId, BrandId, ProgramId};
use crate::store::programs::{self, Program};
use crate::store::StoreResult;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// A code as the action page names it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = promo_codes)]
pub struct CodeRef {
    pub id: i64,
    pub code: String,
    pub code_type: String,
    pub match_mode: String,
    pub credit_rule: Option<String>,
    pub partner_id: Option<i64>,
    pub active_start: Option<DateTime<Utc>>,
    pub active_end: Option<DateTime<Utc>>,
}

/// A partner as the action page names it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct PartnerRef {
    pub id: i64,
    pub media_id: i64,
    pub name: String,
    pub status: String,
    pub credit_group: String,
}

/// The click the conversion named (`actions.click_id`).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = clicks)]
pub struct ClickRef {
    pub id: i64,
    pub partner_id: i64,
    pub clicked_at: DateTime<Utc>,
    pub token: String,
    pub referrer: Option<String>,
}

/// An entered code recorded for monitoring, with the code it matched
/// outside its dates.
#[derive(Debug, Clone, PartialEq)]
pub struct MisuseRef {
    pub entered_code: String,
    pub kind: String,
    pub code: Option<CodeRef>,
}

/// One change of the action after its arrival.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = action_updates)]
pub struct UpdateRow {
    pub id: i64,
    pub changed_at: DateTime<Utc>,
    pub kind: String,
    pub reason: Option<String>,
    pub author: String,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    /// `{"field": [from, to], ...}`
    pub changes: serde_json::Value,
}

/// The action page's data.
#[derive(Debug, Clone)]
pub struct ActionDetail {
    pub action: ActionRow,
    pub program: Program,
    pub code: Option<CodeRef>,
    pub partners: Vec<PartnerRef>,
    pub click: Option<ClickRef>,
    pub misuse: Vec<MisuseRef>,
    /// Oldest first.
    pub updates: Vec<UpdateRow>,
}

impl ActionDetail {
    pub fn partner(&self, id: i64) -> Option<&PartnerRef> {
        self.partners.iter().find(|p| p.id == id)
    }
}

/// The updates of one action, oldest first.
pub fn updates(
    conn: &mut PgConnection,
    brand: BrandId,
    id: ActionId,
) -> StoreResult<Vec<UpdateRow>> {
    Ok(action_updates::table
        .filter(action_updates::brand_id.eq(brand.0))
        .filter(action_updates::action_id.eq(id.0))
        .order((action_updates::changed_at.asc(), action_updates::id.asc()))
        .select(UpdateRow::as_select())
        .load(conn)?)
}

/// One action of the brand with everything its page shows.
pub fn detail(conn: &mut PgConnection, brand: BrandId, id: ActionId) -> StoreResult<ActionDetail> {
    let action = get(conn, brand, id)?;
    let program = programs::get(conn, brand, ProgramId(action.program_id))?;

    let misuse_rows: Vec<(String, String, Option<i64>)> = code_misuse::table
        .filter(code_misuse::brand_id.eq(brand.0))
        .filter(code_misuse::action_id.eq(id.0))
        .order(code_misuse::id.asc())
        .select((
            code_misuse::entered_code,
            code_misuse::kind,
            code_misuse::code_id,
        ))
        .load(conn)?;

    let mut code_ids: BTreeSet<i64> = misuse_rows.iter().filter_map(|m| m.2).collect();
    code_ids.extend(action.matched_code_id);
    let codes: Vec<CodeRef> = if code_ids.is_empty() {
        Vec::new()
    } else {
        promo_codes::table
            .filter(promo_codes::brand_id.eq(brand.0))
            .filter(promo_codes::id.eq_any(code_ids.into_iter().collect::<Vec<_>>()))
            .select(CodeRef::as_select())
            .load(conn)?
    };
    let code_of = |id: Option<i64>| id.and_then(|id| codes.iter().find(|c| c.id == id).cloned());

    let click = match action.click_id {
        Some(click_id) => clicks::table
            .filter(clicks::brand_id.eq(brand.0))
            .filter(clicks::id.eq(click_id))
            .select(ClickRef::as_select())
            .first(conn)
            .optional()?,
        None => None,
    };

    let mut partner_ids: BTreeSet<i64> = BTreeSet::new();
    partner_ids.extend(action.credited_partner_id);
    partner_ids.extend(action.winning_partner_id);
    partner_ids.extend(action.chosen_partner_id);
    partner_ids.extend(action.involved_partner_ids.iter().copied());
    partner_ids.extend(parse_journey(&action.journey).iter().map(|c| c.partner_id));
    partner_ids.extend(codes.iter().filter_map(|c| c.partner_id));
    partner_ids.extend(click.as_ref().map(|c| c.partner_id));
    let partners: Vec<PartnerRef> = if partner_ids.is_empty() {
        Vec::new()
    } else {
        partners::table
            .filter(partners::brand_id.eq(brand.0))
            .filter(partners::id.eq_any(partner_ids.into_iter().collect::<Vec<_>>()))
            .select(PartnerRef::as_select())
            .load(conn)?
    };

    let misuse = misuse_rows
        .into_iter()
        .map(|(entered_code, kind, code_id)| MisuseRef {
            entered_code,
            kind,
            code: code_of(code_id),
        })
        .collect();
    Ok(ActionDetail {
        code: code_of(action.matched_code_id),
        updates: updates(conn, brand, id)?,
        action,
        program,
        partners,
        click,
        misuse,
    })
}
