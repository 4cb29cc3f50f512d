//! The action page (the decision explained, the journey, the updates),
//! approve and reverse with their rules, and the automatic approval.
//!
//! Actions are written here as the crediting engine stores them (every
//! column it fills), until the Conversions API makes them in tests.

use crate::helpers::{acme, acme_as, body_of, count, Brand, TestApp};
use crate::html::{assert_says, error_beside, main_of, text_of};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use promodesk::db::schema::{actions, code_misuse};
use promodesk::domain::code::CreditRule;
use promodesk::domain::partner::{CreditGroup, NewPartner, PartnerStatus};
use promodesk::domain::{BrandId, ProgramId, Role};
use promodesk::store::clicks::{self, NewClick};
use promodesk::store::partners;
use rust_decimal::Decimal;
use std::str::FromStr;

// ---------------------------------------------------------------- fixtures

/// A partner of this group and status; its id.
pub fn partner_as(
    app: &TestApp,
    brand: &Brand,
    media_id: i64,
    name: &str,
    group: CreditGroup,
    status: PartnerStatus,
) -> i64 {
    partners::create(
        &mut app.conn(),
        brand.id,
        &NewPartner {
            media_id,
            name: name.into(),
            status,
            credit_group: group,
            payout: None,
            email: None,
        },
    )
    .expect("partner")
    .id
}

/// A recorded click of a partner; its id.
pub fn click(app: &TestApp, brand: &Brand, partner: i64, at: DateTime<Utc>, token: &str) -> i64 {
    let mut c = app.conn();
    clicks::insert(
        &mut c,
        &[NewClick {
            brand_id: brand.id.0,
            program_id: brand.program.0,
            partner_id: partner,
            clicked_at: at,
            token: token.into(),
            visitor_id: "visitor-1".into(),
            user_agent: Some("Mozilla/5.0".into()),
            referrer: None,
        }],
    )
    .expect("click");
    clicks::by_token(&mut c, brand.id, token)
        .expect("read the click")
        .expect("the click")
        .id
}

/// An action as the engine stores it: PENDING, unattributed, no code, no
/// clicks, 100.00 USD, an hour ago, locked in 30 days, unless changed.
pub struct ActionBuilder {
    brand: BrandId,
    program: ProgramId,
    order_id: String,
    event_date: DateTime<Utc>,
    entered_codes: Vec<String>,
    entered_code: Option<String>,
    matched_code_id: Option<i64>,
    credited: Option<i64>,
    winner: Option<i64>,
    chosen: Option<i64>,
    reason: String,
    state: String,
    reversal_reason: Option<String>,
    click_id: Option<i64>,
    click_ref: Option<String>,
    journey: Vec<(i64, i64, DateTime<Utc>, Option<i64>)>,
    sale_amount: Decimal,
    payout: Decimal,
    items: serde_json::Value,
    locking_date: DateTime<Utc>,
    approved_at: Option<DateTime<Utc>>,
    misuse: Vec<(String, String, Option<i64>)>,
}

pub fn action(brand: &Brand, order_id: &str) -> ActionBuilder {
    let now = Utc::now();
    ActionBuilder {
        brand: brand.id,
        program: brand.program,
        order_id: order_id.into(),
        event_date: now - Duration::hours(1),
        entered_codes: Vec::new(),
        entered_code: None,
        matched_code_id: None,
        credited: None,
        winner: None,
        chosen: None,
        reason: "unattributed".into(),
        state: "PENDING".into(),
        reversal_reason: None,
        click_id: None,
        click_ref: None,
        journey: Vec::new(),
        sale_amount: Decimal::new(10000, 2),
        payout: Decimal::ZERO,
        items: serde_json::json!([]),
        locking_date: now + Duration::days(30),
        approved_at: None,
        misuse: Vec::new(),
    }
}

impl ActionBuilder {
    pub fn at(mut self, t: DateTime<Utc>) -> Self {
        self.event_date = t;
        self
    }
    pub fn reason(mut self, r: &str) -> Self {
        self.reason = r.into();
        self
    }
    pub fn credited(mut self, p: i64) -> Self {
        self.credited = Some(p);
        self
    }
    pub fn winner(mut self, p: i64) -> Self {
        self.winner = Some(p);
        self
    }
    pub fn chosen(mut self, p: i64) -> Self {
        self.chosen = Some(p);
        self
    }
    pub fn entered(mut self, codes: &[&str]) -> Self {
        self.entered_codes = codes.iter().map(|c| c.to_string()).collect();
        self
    }
    /// The deciding entered code and its code.
    pub fn matched(mut self, entered: &str, code: i64) -> Self {
        if !self.entered_codes.iter().any(|e| e == entered) {
            self.entered_codes.push(entered.into());
        }
        self.entered_code = Some(entered.into());
        self.matched_code_id = Some(code);
        self
    }
    /// A click of the journey (partner id, its Media Id, when, the click's id).
    pub fn click(mut self, partner: i64, media_id: i64, at: DateTime<Utc>) -> Self {
        self.journey.push((partner, media_id, at, None));
        self
    }
    /// The recorded click the conversion named by ClickId (also in the journey).
    pub fn named_click(
        mut self,
        partner: i64,
        media_id: i64,
        at: DateTime<Utc>,
        id: i64,
        token: &str,
    ) -> Self {
        self.journey.push((partner, media_id, at, Some(id)));
        self.click_id = Some(id);
        self.click_ref = Some(token.into());
        self
    }
    pub fn state(mut self, s: &str) -> Self {
        self.state = s.into();
        if s == "REVERSED" {
            self.reversal_reason.get_or_insert("ITEM_RETURNED".into());
        }
        if s == "APPROVED" {
            self.approved_at
                .get_or_insert(Utc::now() - Duration::minutes(5));
        }
        self
    }
    pub fn locking(mut self, t: DateTime<Utc>) -> Self {
        self.locking_date = t;
        self
    }
    pub fn amounts(mut self, sale: &str, payout: &str) -> Self {
        self.sale_amount = Decimal::from_str(sale).expect("sale");
        self.payout = Decimal::from_str(payout).expect("payout");
        self
    }
    pub fn items(mut self, items: serde_json::Value) -> Self {
        self.items = items;
        self
    }
    pub fn misuse(mut self, entered: &str, kind: &str, code: Option<i64>) -> Self {
        if !self.entered_codes.iter().any(|e| e == entered) {
            self.entered_codes.push(entered.into());
        }
        self.misuse.push((entered.into(), kind.into(), code));
        self
    }

    /// Its id.
    pub fn create(self, app: &TestApp) -> i64 {
        let mut conn = app.conn();
        let mut involved: Vec<i64> = Vec::new();
        for (p, ..) in &self.journey {
            if !involved.contains(p) {
                involved.push(*p);
            }
        }
        let journey: Vec<serde_json::Value> = self
            .journey
            .iter()
            .map(|(p, m, at, id)| {
                serde_json::json!({
                    "partner_id": p, "media_id": m,
                    "clicked_at": at.to_rfc3339(), "click_id": id
                })
            })
            .collect();
        let valid = !matches!(
            self.reason.as_str(),
            "code_owned_by_other_partner" | "partner_inactive"
        );
        let payload = serde_json::json!([
            ["OrderId", self.order_id],
            ["CampaignId", self.program.0.to_string()]
        ]);
        let id: i64 = diesel::insert_into(actions::table)
            .values((
                actions::brand_id.eq(self.brand.0),
                actions::program_id.eq(self.program.0),
                actions::order_id.eq(&self.order_id),
                actions::event_date.eq(self.event_date),
                actions::entered_codes.eq(&self.entered_codes),
                actions::entered_code.eq(&self.entered_code),
                actions::matched_code_id.eq(self.matched_code_id),
                actions::credited_partner_id.eq(self.credited),
                actions::winning_partner_id.eq(self.winner),
                actions::involved_partner_ids.eq(&involved),
                actions::credit_reason.eq(&self.reason),
                actions::valid.eq(valid),
                actions::state.eq(&self.state),
                actions::reversal_reason.eq(&self.reversal_reason),
                actions::click_id.eq(self.click_id),
                actions::customer_id.eq("cust-42"),
                actions::customer_status.eq("New"),
                actions::currency.eq("USD"),
                actions::sale_amount.eq(self.sale_amount),
                actions::payout.eq(self.payout),
                actions::items.eq(&self.items),
                actions::payload.eq(payload),
                actions::click_ref.eq(&self.click_ref),
                actions::visitor_id.eq("visitor-1"),
                actions::journey.eq(serde_json::Value::Array(journey)),
                actions::chosen_partner_id.eq(self.chosen),
                actions::locking_date.eq(self.locking_date),
                actions::approved_at.eq(self.approved_at),
                actions::reversed_at.eq(self
                    .reversal_reason
                    .as_ref()
                    .map(|_| Utc::now() - Duration::minutes(1))),
                actions::source.eq("api"),
            ))
            .returning(actions::id)
            .get_result(&mut conn)
            .expect("insert the action");
        for (entered, kind, code) in &self.misuse {
            diesel::insert_into(code_misuse::table)
                .values((
                    code_misuse::brand_id.eq(self.brand.0),
                    code_misuse::program_id.eq(self.program.0),
                    code_misuse::action_id.eq(id),
                    code_misuse::entered_code.eq(entered),
                    code_misuse::kind.eq(kind),
                    code_misuse::code_id.eq(code),
                    code_misuse::occurred_at.eq(self.event_date),
                ))
                .execute(&mut conn)
                .expect("misuse row");
        }
        id
    }
}

/// The action's state, reversal reason and number of updates.
fn state_of(app: &TestApp, brand: &Brand, id: i64) -> (String, Option<String>, i64) {
    let mut c = app.conn();
    let (state, reason): (String, Option<String>) = actions::table
        .filter(actions::brand_id.eq(brand.id.0))
        .filter(actions::id.eq(id))
        .select((actions::state, actions::reversal_reason))
        .first(&mut c)
        .expect("the action");
    let updates = count(
        &mut c,
        &format!("SELECT count(*) AS n FROM action_updates WHERE action_id = {id}"),
    );
    (state, reason, updates)
}

/// A New York wall-clock time of 2026.
pub fn ny(month: u32, day: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::America::New_York
        .with_ymd_and_hms(2026, month, day, h, m, 0)
        .single()
        .expect("a New York time")
        .with_timezone(&Utc)
}

// ---------------------------------------------------------------- the page

#[actix_web::test]
async fn a_credited_action_shows_everything_and_explains_the_decision() {
    let (app, brand, c) = acme(Role::Viewer).await;
    let acme_deals = partner_as(
        &app,
        &brand,
        1001,
        "Acme Deals",
        CreditGroup::Standard,
        PartnerStatus::Active,
    );
    let blog = partner_as(
        &app,
        &brand,
        1002,
        "Blog Co",
        CreditGroup::NonPreferred,
        PartnerStatus::Active,
    );
    let code = app
        .code(&brand, "SUMMER10")
        .partner(acme_deals)
        .rule(CreditRule::Involved)
        .create();
    let clicked = ny(5, 3, 14, 2);
    let click_id = click(&app, &brand, acme_deals, clicked, "AbCdEfGhIjKlMnOpQr");
    let id = action(&brand, "ORD-1001")
        .at(ny(5, 4, 9, 30))
        .reason("code_involved")
        .credited(acme_deals)
        .winner(blog)
        .entered(&["summer10", "NOPE5"])
        .matched("summer10", code)
        .misuse("NOPE5", "unknown", None)
        .named_click(acme_deals, 1001, clicked, click_id, "AbCdEfGhIjKlMnOpQr")
        .click(blog, 1002, ny(5, 4, 8, 0))
        .amounts("1234.5", "86.42")
        .items(serde_json::json!([
            {"line": 1, "sku": "TEE-RED", "name": "Red tee", "category": "Apparel", "quantity": 2, "price": "617.25", "subtotal": "1234.50"}
        ]))
        .create(&app);

    let body = c.ok(&format!("/actions/{id}")).await;
    let main = main_of(&body);
    assert_says(
        main,
        "Credited to Acme Deals: code SUMMER10 (exact, rule INVOLVED) was entered and Acme \
         Deals had a click on 3 May 14:02 in the journey.",
    );
    assert_says(
        main,
        "Blog Co won the journey with its click on 4 May 08:00",
    );
    assert_says(main, "NOPE5 was entered but matches no code of the program");
    // The order, in the program's zone and currency.
    for text in [
        "ORD-1001",
        "Acme US",
        "2026-05-04 09:30 EDT",
        "1,234.50 USD",
        "86.42 USD",
        "cust-42 · New",
        "Pending",
        "code_involved",
        "TEE-RED",
        "Red tee",
        "AbCdEfGhIjKlMnOpQr",
    ] {
        assert_says(main, text);
    }
    assert!(main.contains(&format!("href=\"/codes/{code}\"")), "{main}");
    // The journey's clicks with partner names and times, the winner marked.
    let journey = main
        .split("id=\"journey\"")
        .nth(1)
        .expect("the journey table");
    let journey = text_of(journey.split("</table>").next().unwrap_or(""));
    assert!(
        journey.contains("2026-05-03 14:02 EDT Acme Deals 1001 owns the code named by ClickId"),
        "{journey}"
    );
    assert!(
        journey.contains("2026-05-04 08:00 EDT Blog Co 1002 won the journey"),
        "{journey}"
    );
    // A viewer sees no forms.
    assert!(
        !main.contains("/approve") && !main.contains("reverse-form"),
        "{main}"
    );
    assert_says(main, "No changes since the order arrived.");
}

#[actix_web::test]
async fn refused_and_uncredited_actions_are_explained_with_names() {
    let (app, brand, c) = acme(Role::Manager).await;
    let acme_deals = partner_as(
        &app,
        &brand,
        1001,
        "Acme Deals",
        CreditGroup::Standard,
        PartnerStatus::Active,
    );
    let hub = partner_as(
        &app,
        &brand,
        1002,
        "Coupon Hub",
        CreditGroup::Preferred,
        PartnerStatus::Active,
    );
    let sleepy = partner_as(
        &app,
        &brand,
        1003,
        "Sleepy Media",
        CreditGroup::Standard,
        PartnerStatus::Inactive,
    );
    let summer = app
        .code(&brand, "SUMMER10")
        .partner(acme_deals)
        .rule(CreditRule::Involved)
        .create();
    let always = app.code(&brand, "ACME20").partner(acme_deals).create();
    let staff = app.code(&brand, "STAFF50").create();
    let expired = app
        .code(&brand, "OLD5")
        .window(Some(ny(1, 1, 0, 0)), Some(ny(2, 1, 0, 0)))
        .create();
    let t = ny(5, 3, 14, 2);
    let cases: Vec<(ActionBuilder, &str, &str)> =
        vec![
        (
            action(&brand, "A-OWNED")
                .reason("code_owned_by_other_partner")
                .winner(hub)
                .matched("SUMMER10", summer)
                .click(hub, 1002, t),
            "Not credited: SUMMER10 belongs to Acme Deals, but Coupon Hub won the journey, and \
             a partner may not earn on another partner's code.",
            "Not credited (invalid)",
        ),
        (
            action(&brand, "A-GROUP")
                .reason("credit_group")
                .credited(hub)
                .winner(hub)
                .matched("ACME20", always)
                .click(hub, 1002, t),
            "Credited to Coupon Hub: Coupon Hub (Preferred) had a click in the journey and \
             outranks Acme Deals (Standard), whose code ACME20 was entered: the winner of the \
             journey is credited.",
            "Credited",
        ),
        (
            action(&brand, "A-INACTIVE")
                .reason("partner_inactive")
                .chosen(sleepy)
                .winner(sleepy)
                .click(sleepy, 1003, t),
            "Not credited: the rules chose Sleepy Media, which won the journey with its click on \
             3 May 14:02, but Sleepy Media is inactive, and an inactive partner earns nothing.",
            "Not credited (invalid)",
        ),
        (
            action(&brand, "A-RESTRICTED")
                .reason("restricted_code")
                .matched("STAFF50", staff),
            "No partner credited: code STAFF50 (exact) is RESTRICTED, and a restricted code may \
             not earn any partner credit.",
            "No partner credited",
        ),
        (
            action(&brand, "A-EXPIRED")
                .reason("unattributed")
                .misuse("OLD5", "expired", Some(expired)),
            "OLD5 was entered but matches only code OLD5, which ended on 1 Feb 00:00: it is \
             recorded as use of an expired code.",
            "No partner credited",
        ),
        (
            action(&brand, "A-OFF")
                .reason("tracking_disabled")
                .credited(hub)
                .winner(hub)
                .entered(&["SUMMER10"])
                .click(hub, 1002, t),
            "Credited to Coupon Hub by click: promo code tracking was off for this program, so \
             the entered code SUMMER10 was not used, and Coupon Hub won the journey with its \
             click on 3 May 14:02.",
            "Credited",
        ),
    ];
    for (builder, says, verdict) in cases {
        let id = builder.create(&app);
        let body = c.ok(&format!("/actions/{id}")).await;
        let main = main_of(&body);
        assert_says(main, says);
        let badge = main
            .split("id=\"action-verdict\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .expect("the verdict badge");
        assert_eq!(badge, verdict, "{says}");
    }
}

#[actix_web::test]
async fn another_brands_action_is_not_found_and_stays_unchanged() {
    let (app, _acme, c) = acme(Role::Admin).await;
    let other = app.brand("Other");
    app.user(&other, "olga@other.test", Role::Admin);
    let theirs = action(&other, "THEIRS-1").create(&app);
    let (status, body) = c.page(&format!("/actions/{theirs}")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("THEIRS-1"), "{body}");
    for path in ["approve", "reverse"] {
        let res = c
            .post(
                &format!("/actions/{theirs}/{path}"),
                &[("reason", "CONS_FRAUD")],
            )
            .await;
        assert_eq!(res.status(), 404, "{path}");
    }
    assert_eq!(
        state_of(&app, &other, theirs),
        ("PENDING".to_string(), None, 0)
    );
    let (status, _) = c.page("/actions/abc").await;
    assert_eq!(status, 404);
}

// ---------------------------------------------------------------- approve and reverse

#[actix_web::test]
async fn a_manager_approves_a_pending_action_once() {
    let (app, brand, uid, c) = acme_as("mia@acme.test", Role::Manager).await;
    let id = action(&brand, "ORD-2").create(&app);
    let body = c.ok(&format!("/actions/{id}")).await;
    assert!(body.contains(&format!("action=\"/actions/{id}/approve\"")));

    let res = c.post(&format!("/actions/{id}/approve"), &[]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(crate::helpers::location(&res), format!("/actions/{id}"));
    assert_eq!(
        state_of(&app, &brand, id),
        ("APPROVED".to_string(), None, 1)
    );
    let mut conn = app.conn();
    #[derive(QueryableByName)]
    struct U {
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        author: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        user_id: Option<i64>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        changes: String,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        approved_at_set: bool,
    }
    let u: U = diesel::sql_query(format!(
        "SELECT u.kind, u.author, u.user_id, u.changes::text AS changes,
                a.approved_at IS NOT NULL AS approved_at_set
         FROM action_updates u JOIN actions a ON a.brand_id = u.brand_id AND a.id = u.action_id
         WHERE u.action_id = {id}"
    ))
    .get_result(&mut conn)
    .expect("the update");
    assert_eq!(
        (
            u.kind.as_str(),
            u.author.as_str(),
            u.user_id,
            u.approved_at_set
        ),
        ("approved", "mia@acme.test", Some(uid.0), true)
    );
    assert_eq!(u.changes, r#"{"state": ["PENDING", "APPROVED"]}"#);
    let body = c.ok(&format!("/actions/{id}")).await;
    let main = main_of(&body);
    assert_says(main, "Action approved.");
    assert_says(main, "mia@acme.test approved");
    assert_says(main, "state Pending Approved");
    assert!(!main.contains("/approve\""), "no second approve button");

    // Again: refused, nothing written.
    let res = c.post(&format!("/actions/{id}/approve"), &[]).await;
    let body = body_of(res, 422).await;
    assert_says(main_of(&body), "This action is approved already.");
    assert_eq!(state_of(&app, &brand, id).2, 1);
}

#[actix_web::test]
async fn concurrent_approvals_write_one_update() {
    let (app, brand, c) = acme(Role::Manager).await;
    let id = action(&brand, "ORD-RACE").create(&app);
    let token = c.csrf().await;
    let path = format!("/actions/{id}/approve");
    let fields = [("csrf_token", token.as_str())];
    let posts = (0..10).map(|_| c.post_raw(&path, &fields));
    let statuses: Vec<u16> = futures_util::future::join_all(posts)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(
        state_of(&app, &brand, id),
        ("APPROVED".to_string(), None, 1)
    );
}

#[actix_web::test]
async fn a_reversed_action_cannot_be_approved_or_reversed_again() {
    let (app, brand, c) = acme(Role::Manager).await;
    let id = action(&brand, "ORD-R").state("REVERSED").create(&app);
    let body = c.ok(&format!("/actions/{id}")).await;
    assert_says(main_of(&body), "A reversed action stays reversed.");
    assert!(!body.contains("reverse-form") && !body.contains("/approve\""));
    let res = c.post(&format!("/actions/{id}/approve"), &[]).await;
    let body = body_of(res, 422).await;
    assert_says(
        main_of(&body),
        "This action is reversed: a reversed action cannot be approved.",
    );
    let res = c
        .post(
            &format!("/actions/{id}/reverse"),
            &[("reason", "CONS_FRAUD")],
        )
        .await;
    let body = body_of(res, 422).await;
    assert_says(main_of(&body), "This action is reversed already.");
    assert_eq!(
        state_of(&app, &brand, id),
        ("REVERSED".to_string(), Some("ITEM_RETURNED".into()), 0)
    );
}

#[actix_web::test]
async fn pending_and_approved_actions_are_reversed_with_a_reason_and_a_note() {
    let (app, brand, _, c) = acme_as("mia@acme.test", Role::Manager).await;
    for state in ["PENDING", "APPROVED"] {
        let id = action(&brand, &format!("ORD-{state}"))
            .state(state)
            .create(&app);
        let body = c.ok(&format!("/actions/{id}")).await;
        assert!(body.contains("id=\"reverse-form\""), "{state}");
        let res = c
            .post(
                &format!("/actions/{id}/reverse"),
                &[
                    ("reason", "CONS_FRAUD"),
                    ("note", "  chargeback on 2 June  "),
                ],
            )
            .await;
        assert_eq!(res.status(), 303, "{state}");
        assert_eq!(
            state_of(&app, &brand, id),
            ("REVERSED".to_string(), Some("CONS_FRAUD".into()), 1),
            "{state}"
        );
        let changes = count(
            &mut app.conn(),
            &format!(
                "SELECT count(*) AS n FROM action_updates WHERE action_id = {id}
                   AND kind = 'reversed' AND reason = 'CONS_FRAUD' AND author = 'mia@acme.test'
                   AND changes = '{{\"state\": [\"{state}\", \"REVERSED\"], \"note\": [null, \"chargeback on 2 June\"]}}'::jsonb"
            ),
        );
        assert_eq!(changes, 1, "{state}");
        let body = c.ok(&format!("/actions/{id}")).await;
        let main = main_of(&body);
        assert_says(main, "Action reversed (Customer fraud).");
        assert_says(main, "mia@acme.test reversed · Customer fraud (CONS_FRAUD)");
        assert_says(main, "chargeback on 2 June");
        assert_says(
            main,
            &format!(
                "state {} Reversed",
                if state == "PENDING" {
                    "Pending"
                } else {
                    "Approved"
                }
            ),
        );
    }
}

#[actix_web::test]
async fn a_locked_action_cannot_be_reversed() {
    let (app, brand, c) = acme(Role::Manager).await;
    // Locked at midnight, New York time (the program's zone).
    let locked_at = ny(3, 1, 0, 0);
    for state in ["PENDING", "APPROVED"] {
        let id = action(&brand, &format!("ORD-LOCKED-{state}"))
            .at(ny(1, 30, 12, 0))
            .locking(locked_at)
            .state(state)
            .create(&app);
        let body = c.ok(&format!("/actions/{id}")).await;
        assert_says(
            main_of(&body),
            "This action is locked since 2026-03-01 00:00 EST",
        );
        assert!(!body.contains("id=\"reverse-form\""), "{state}");
        let res = c
            .post(
                &format!("/actions/{id}/reverse"),
                &[("reason", "ITEM_RETURNED")],
            )
            .await;
        let body = body_of(res, 422).await;
        assert_says(
            main_of(&body),
            "This action is locked since 2026-03-01 00:00 EST: its locking period has ended, so it can no longer be reversed.",
        );
        assert_eq!(state_of(&app, &brand, id), (state.to_string(), None, 0));
    }
}

#[actix_web::test]
async fn a_reversal_needs_a_reason_from_the_list_and_a_short_note() {
    let (app, brand, c) = acme(Role::Manager).await;
    let id = action(&brand, "ORD-F").create(&app);
    let path = format!("/actions/{id}/reverse");
    let long = "x".repeat(501);
    for (fields, field, message) in [
        (
            vec![("note", "why")],
            "reverse-reason",
            "Choose why the action is reversed.",
        ),
        (
            vec![("reason", "BECAUSE")],
            "reverse-reason",
            "BECAUSE is not a reversal reason; choose one from the list.",
        ),
        (
            vec![("reason", "OTHER"), ("note", long.as_str())],
            "reverse-note",
            "The note is too long: at most 500 characters.",
        ),
    ] {
        let res = c.post(&path, &fields).await;
        let body = body_of(res, 422).await;
        assert_eq!(
            error_beside(&body, field).as_deref(),
            Some(message),
            "{fields:?}"
        );
    }
    // The form keeps what was sent.
    let res = c
        .post(&path, &[("reason", "OTHER"), ("note", long.as_str())])
        .await;
    let body = body_of(res, 422).await;
    assert!(body.contains("<option value=\"OTHER\" selected>"), "{body}");
    assert_eq!(state_of(&app, &brand, id), ("PENDING".to_string(), None, 0));
    // Every reason of the list is offered, and one works.
    let body = c.ok(&format!("/actions/{id}")).await;
    for code in [
        "ORDER_UPDATE",
        "ITEM_RETURNED",
        "CONS_FRAUD",
        "CONS_ERROR",
        "ORDER_ERROR",
        "TEST_ACTION",
        "OTHER",
    ] {
        assert!(
            body.contains(&format!("<option value=\"{code}\"")),
            "{code}"
        );
    }
    let res = c.post(&path, &[("reason", "test_action")]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        state_of(&app, &brand, id),
        ("REVERSED".to_string(), Some("TEST_ACTION".into()), 1)
    );
}

#[actix_web::test]
async fn viewers_may_not_approve_or_reverse() {
    let (app, brand, c) = acme(Role::Viewer).await;
    let id = action(&brand, "ORD-V").create(&app);
    let res = c.post(&format!("/actions/{id}/approve"), &[]).await;
    assert_eq!(res.status(), 403);
    let res = c
        .post(
            &format!("/actions/{id}/reverse"),
            &[("reason", "CONS_FRAUD")],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(state_of(&app, &brand, id), ("PENDING".to_string(), None, 0));
}

#[actix_web::test]
async fn approve_and_reverse_need_the_forms_csrf_token() {
    let (app, brand, c) = acme(Role::Admin).await;
    let id = action(&brand, "ORD-C").create(&app);
    let res = c.post_raw(&format!("/actions/{id}/approve"), &[]).await;
    assert_eq!(res.status(), 403);
    let res = c
        .post_raw(
            &format!("/actions/{id}/reverse"),
            &[("reason", "CONS_FRAUD"), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(res.status(), 403);
    // A multipart body (which the guard leaves to its handler) is no form here.
    let form = reqwest::multipart::Form::new().text("reason", "CONS_FRAUD");
    let res = c
        .http
        .post(c.url(&format!("/actions/{id}/reverse")))
        .multipart(form)
        .send()
        .await
        .expect("POST");
    assert_eq!(res.status(), 400);
    assert_eq!(state_of(&app, &brand, id), ("PENDING".to_string(), None, 0));
}

// ---------------------------------------------------------------- automatic approval

/// `n` pending actions of the brand whose locking date passed a day ago.
fn due_actions(app: &TestApp, brand: &Brand, prefix: &str, n: i64) {
    diesel::sql_query(format!(
        "INSERT INTO actions (brand_id, program_id, order_id, event_date, credit_reason, currency,
                              locking_date, source)
         SELECT {b}, {p}, '{prefix}-' || g, now() - interval '31 days', 'unattributed', 'USD',
                now() - interval '1 day', 'api'
         FROM generate_series(1, {n}) g",
        b = brand.id.0,
        p = brand.program.0,
    ))
    .execute(&mut app.conn())
    .expect("due actions");
}

fn updates_per_action(app: &TestApp, kind: &str) -> (i64, i64) {
    let mut c = app.conn();
    let total = count(
        &mut c,
        &format!("SELECT count(*) AS n FROM action_updates WHERE kind = '{kind}'"),
    );
    let most = count(
        &mut c,
        "SELECT coalesce(max(k), 0)::bigint AS n FROM (
           SELECT count(*) AS k FROM action_updates GROUP BY brand_id, action_id) t",
    );
    (total, most)
}

#[actix_web::test]
async fn two_concurrent_passes_approve_each_due_action_exactly_once() {
    use promodesk::jobs::auto_approve::run_pass;
    let app = TestApp::spawn().await;
    let a = app.brand("Alpha");
    let b = app.brand("Beta");
    due_actions(&app, &a, "A", 1_500);
    due_actions(&app, &b, "B", 700);
    let past = Utc::now() - Duration::days(1);
    let reversed = action(&a, "A-REVERSED")
        .locking(past)
        .state("REVERSED")
        .create(&app);
    let approved = action(&a, "A-APPROVED")
        .locking(past)
        .state("APPROVED")
        .create(&app);
    let future = action(&b, "B-FUTURE").create(&app);

    let now = Utc::now();
    let start = std::sync::Arc::new(std::sync::Barrier::new(2));
    let passes: Vec<_> = (0..2)
        .map(|_| {
            let mut conn = app.conn();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                run_pass(&mut conn, now, 100).expect("a pass")
            })
        })
        .collect();
    let approved_by: Vec<u64> = passes
        .into_iter()
        .map(|t| t.join().expect("the pass's thread"))
        .collect();
    assert_eq!(approved_by.iter().sum::<u64>(), 2_200, "{approved_by:?}");
    assert_eq!(updates_per_action(&app, "auto_approved"), (2_200, 1));
    let mut c = app.conn();
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) AS n FROM actions WHERE state = 'APPROVED' AND approved_at IS NOT NULL
               AND order_id ~ '^[AB]-[0-9]+$'"
        ),
        2_200
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) AS n FROM action_updates
             WHERE kind = 'auto_approved' AND author = 'automatic approval' AND user_id IS NULL
               AND changes = '{\"state\": [\"PENDING\", \"APPROVED\"]}'::jsonb"
        ),
        2_200
    );
    // Left alone: reversed, approved already, not due yet.
    assert_eq!(
        state_of(&app, &a, reversed),
        ("REVERSED".to_string(), Some("ITEM_RETURNED".into()), 0)
    );
    assert_eq!(
        state_of(&app, &a, approved),
        ("APPROVED".to_string(), None, 0)
    );
    assert_eq!(state_of(&app, &b, future), ("PENDING".to_string(), None, 0));
    // Nothing left to do.
    assert_eq!(run_pass(&mut c, now, 100).expect("a pass"), 0);
}

#[actix_web::test]
async fn a_pass_leaves_an_action_being_reversed_and_never_approves_it() {
    use promodesk::jobs::auto_approve::{run_pass, BATCH};
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    let past = Utc::now() - Duration::days(1);
    let contested = action(&brand, "ORD-CONTESTED").locking(past).create(&app);
    let other = action(&brand, "ORD-OTHER").locking(past).create(&app);

    // A manager's reversal holds the row, not yet committed.
    let mut manager = app.conn();
    diesel::sql_query("BEGIN")
        .execute(&mut manager)
        .expect("begin");
    diesel::sql_query(format!(
        "UPDATE actions SET state = 'REVERSED', reversal_reason = 'CONS_FRAUD' WHERE id = {contested}"
    ))
    .execute(&mut manager)
    .expect("reverse");
    // The pass does not wait for it: it skips the locked row (a pass that
    // waited would fail here after a second).
    let mut job = app.conn();
    diesel::sql_query("SET lock_timeout = '1s'")
        .execute(&mut job)
        .expect("lock timeout");
    assert_eq!(run_pass(&mut job, Utc::now(), BATCH).expect("a pass"), 1);
    diesel::sql_query("COMMIT")
        .execute(&mut manager)
        .expect("commit");
    assert_eq!(run_pass(&mut job, Utc::now(), BATCH).expect("a pass"), 0);
    assert_eq!(
        state_of(&app, &brand, contested),
        ("REVERSED".to_string(), Some("CONS_FRAUD".into()), 0)
    );
    assert_eq!(
        state_of(&app, &brand, other),
        ("APPROVED".to_string(), None, 1)
    );
}

#[actix_web::test]
async fn the_server_approves_due_actions_by_itself() {
    let app = TestApp::spawn_with(|c| c.auto_approve_interval_secs = 1).await;
    let brand = app.brand("Acme");
    app.user(&brand, "ann@acme.test", Role::Viewer);
    let past = Utc::now() - Duration::minutes(1);
    let due = action(&brand, "ORD-DUE").locking(past).create(&app);
    let reversed = action(&brand, "ORD-REV")
        .locking(past)
        .state("REVERSED")
        .create(&app);
    let later = action(&brand, "ORD-LATER").create(&app);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while state_of(&app, &brand, due).0 != "APPROVED" {
        assert!(
            std::time::Instant::now() < deadline,
            "not approved in 20 s: {:?}",
            state_of(&app, &brand, due)
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        state_of(&app, &brand, due),
        ("APPROVED".to_string(), None, 1)
    );
    let c = app.login("ann@acme.test").await;
    let body = c.ok(&format!("/actions/{due}")).await;
    assert_says(
        main_of(&body),
        "automatic approval approved automatically (locking period over)",
    );
    assert_eq!(
        state_of(&app, &brand, reversed),
        ("REVERSED".to_string(), Some("ITEM_RETURNED".into()), 0)
    );
    assert_eq!(
        state_of(&app, &brand, later),
        ("PENDING".to_string(), None, 0)
    );
}

// ---------------------------------------------------------------- recent actions

#[actix_web::test]
async fn recent_actions_page_newest_first_by_event_date_and_id() {
    use crate::html::{href_of, link_texts};
    let (app, brand, c) = acme(Role::Viewer).await;
    let other = app.brand("Other");
    action(&other, "THEIRS-1").create(&app);
    // 120 actions over 100 hours: 20 pairs share an event date.
    diesel::sql_query(format!(
        "INSERT INTO actions (brand_id, program_id, order_id, event_date, credit_reason, currency,
                              sale_amount, locking_date)
         SELECT {b}, {p}, 'ORD-' || g, timestamptz '2026-05-01 12:00Z' - (g % 100) * interval '1 hour',
                'unattributed', 'USD', 10 + g, now() + interval '30 days'
         FROM generate_series(1, 120) g",
        b = brand.id.0,
        p = brand.program.0
    ))
    .execute(&mut app.conn())
    .expect("actions");
    #[derive(QueryableByName)]
    struct O {
        #[diesel(sql_type = diesel::sql_types::Text)]
        order_id: String,
    }
    let expected: Vec<String> = diesel::sql_query(format!(
        "SELECT order_id FROM actions WHERE brand_id = {} ORDER BY event_date DESC, id DESC",
        brand.id.0
    ))
    .load::<O>(&mut app.conn())
    .expect("order")
    .into_iter()
    .map(|o| o.order_id)
    .collect();

    let first = c.ok("/reports/actions").await;
    let page1 = link_texts(main_of(&first), "/actions/");
    assert_eq!(page1, expected[..50]);
    assert!(href_of(&first, "← Newer").is_none());
    let older = href_of(&first, "Older →").expect("an older page");
    let second = c.ok(&older).await;
    assert_eq!(link_texts(main_of(&second), "/actions/"), expected[50..100]);
    let third = c
        .ok(&href_of(&second, "Older →").expect("a third page"))
        .await;
    assert_eq!(link_texts(main_of(&third), "/actions/"), expected[100..]);
    assert!(href_of(&third, "Older →").is_none());
    // Back: the same pages.
    let back = c
        .ok(&href_of(&third, "← Newer").expect("a newer page"))
        .await;
    assert_eq!(link_texts(main_of(&back), "/actions/"), expected[50..100]);
    let back = c
        .ok(&href_of(&back, "← Newer").expect("the first page"))
        .await;
    assert_eq!(link_texts(main_of(&back), "/actions/"), expected[..50]);
    assert!(href_of(&back, "← Newer").is_none());
    // Only the brand's own.
    assert!(!first.contains("THEIRS-1") && !third.contains("THEIRS-1"));
    // A cursor that is not one of the list's: the first page.
    let by_id = promodesk::store::sql::Cursor {
        key: promodesk::store::sql::KeyValue::Int(5),
        id: 5,
    }
    .encode();
    for q in ["after=garbage", "before=%00", &format!("after={by_id}")] {
        let body = c.ok(&format!("/reports/actions?{q}")).await;
        assert_eq!(
            link_texts(main_of(&body), "/actions/"),
            expected[..50],
            "{q}"
        );
    }
}

#[actix_web::test]
async fn recent_actions_show_state_partner_reason_code_and_amounts() {
    let (app, brand, c) = acme(Role::Viewer).await;
    let p = partner_as(
        &app,
        &brand,
        1001,
        "Acme Deals",
        CreditGroup::Standard,
        PartnerStatus::Active,
    );
    let code = app.code(&brand, "SUMMER10").partner(p).create();
    let id = action(&brand, "ORD-LIST")
        .at(ny(5, 4, 9, 30))
        .reason("code_always")
        .credited(p)
        .matched("summer10", code)
        .amounts("1234.5", "86.42")
        .state("APPROVED")
        .create(&app);
    let pattern = app
        .code(&brand, "^SUMMER-[0-9]+$")
        .regex()
        .partner(p)
        .create();
    action(&brand, "ORD-RE")
        .at(ny(5, 2, 9, 30))
        .reason("code_always")
        .credited(p)
        .matched("SUMMER-77", pattern)
        .create(&app);
    let invalid = action(&brand, "ORD-BAD")
        .at(ny(5, 3, 9, 30))
        .reason("code_owned_by_other_partner")
        .create(&app);
    let body = c.ok("/reports/actions").await;
    let main = main_of(&body);
    let row = crate::html::row_with(main, "2026-05-04 09:30 EDT").expect("the row");
    assert_eq!(
        crate::html::cells(row),
        vec![
            "2026-05-04 09:30 EDT",
            "ORD-LIST",
            "Approved",
            "Acme Deals",
            "code_always",
            "SUMMER10",
            "1,234.50 USD",
            "86.42 USD"
        ]
    );
    assert!(row.contains(&format!("href=\"/actions/{id}\"")));
    assert!(row.contains(&format!("href=\"/codes/{code}\"")));
    assert!(row.contains(&format!("href=\"/partners/{p}\"")));
    // A regex code by what was entered.
    let re = crate::html::row_with(main, "2026-05-02 09:30 EDT").expect("the regex row");
    assert_eq!(crate::html::cells(re)[5], "SUMMER-77");
    let bad = crate::html::row_with(main, "2026-05-03 09:30 EDT").expect("the invalid row");
    assert!(bad.contains("invalid") && bad.contains(&format!("/actions/{invalid}")));
    // The navigation's Reports leads here.
    assert!(body.contains("<a href=\"/reports/actions\" aria-current=\"page\">Reports</a>"));
}

#[actix_web::test]
async fn recent_actions_of_a_new_brand_say_where_actions_come_from() {
    let (_app, _brand, c) = acme(Role::Manager).await;
    let body = c.ok("/reports/actions").await;
    assert_says(main_of(&body), "No actions yet");
    assert_says(main_of(&body), "Conversions API");
}
