//! A realistic demo data set: one brand with two programs, partners, deals,
//! about 200 promo codes (exact, regex, restricted; active, scheduled and
//! expired) and a few thousand actions over the last 90 days.

use super::{accounts, partners, programs, StoreResult};
use crate::domain::partner::{CreditGroup, NewPartner, PartnerStatus, Payout};
use crate::domain::program::ProgramSettings;
use crate::domain::{BrandId, Role};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use rust_decimal::Decimal;

pub const DEMO_BRAND: &str = "Northwind Outfitters";
pub const DEMO_EMAIL: &str = "demo@promodesk.test";
pub const DEMO_PASSWORD: &str = "promodesk-demo";

pub struct Seeded {
    pub brand: BrandId,
    pub codes: i64,
    pub actions: i64,
    pub created: bool,
}

/// Deterministic pseudo-random numbers, so every demo looks the same.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Name, code stem, credit group, payout percent, payout flat.
type DemoPartner = (
    &'static str,
    &'static str,
    &'static str,
    Option<i64>,
    Option<i64>,
);
const PARTNERS: &[DemoPartner] = &[
    ("SaveMore Coupons", "SAVEMORE", "STANDARD", Some(5), None),
    ("DealHunter", "DEALHUNT", "NON_PREFERRED", Some(4), None),
    ("Tech Review Weekly", "TECHREV", "PREFERRED", Some(8), None),
    ("Trail Talk Podcast", "TRAIL", "PREFERRED", None, Some(12)),
    ("Ava Chen (creator)", "AVA", "PREFERRED", Some(10), None),
    ("Cashback Hub", "CASHBACK", "NON_PREFERRED", Some(3), None),
    ("StudentPerks", "STUDENT", "STANDARD", Some(6), None),
    (
        "Outdoor Life Magazine",
        "OUTDOOR",
        "PREFERRED",
        Some(9),
        None,
    ),
    ("Fit Fam Network", "FITFAM", "STANDARD", Some(7), None),
    ("Gadget Guru", "GURU", "STANDARD", Some(6), None),
    ("Loyalty Plus", "LOYAL", "NON_PREFERRED", None, Some(5)),
    ("Mountain Moms Blog", "MOMS", "STANDARD", Some(7), None),
];

/// Seeds the demo brand unless it exists. Returns what is there.
pub fn seed_demo(conn: &mut PgConnection, password_hash: &str) -> StoreResult<Seeded> {
    conn.transaction(|conn| {
        if let Some(b) = accounts::find_brand_by_name(conn, DEMO_BRAND)? {
            let brand = BrandId(b.id);
            let (codes, actions) = counts(conn, brand)?;
            return Ok(Seeded {
                brand,
                codes,
                actions,
                created: false,
            });
        }
        let brand = BrandId(accounts::create_brand(conn, DEMO_BRAND)?.id);
        accounts::create_user(conn, brand, DEMO_EMAIL, Role::Admin, password_hash)?;
        accounts::create_user(
            conn,
            brand,
            "viewer@promodesk.test",
            Role::Viewer,
            password_hash,
        )?;
        let us = programs::create(
            conn,
            brand,
            &ProgramSettings {
                name: "Northwind US".into(),
                time_zone: "America/New_York".into(),
                currency: "USD".into(),
                landing_url: "https://shop.northwind.example/".into(),
                referral_window_days: 30,
                locking_days: 30,
                tracking_enabled: true,
            },
        )?;
        let eu = programs::create(
            conn,
            brand,
            &ProgramSettings {
                name: "Northwind EU".into(),
                time_zone: "Europe/Berlin".into(),
                currency: "EUR".into(),
                landing_url: "https://eu.northwind.example/".into(),
                referral_window_days: 14,
                locking_days: 45,
                tracking_enabled: false,
            },
        )?;
        let mut partner_ids = Vec::new();
        for (i, (name, _, group, pct, flat)) in PARTNERS.iter().enumerate() {
            let payout = match (pct, flat) {
                (Some(p), _) => Some(Payout::Percent(Decimal::from(*p))),
                (_, Some(f)) => Some(Payout::Flat(Decimal::from(*f))),
                _ => None,
            };
            let p = partners::create(
                conn,
                brand,
                &NewPartner {
                    media_id: 10_001 + i as i64,
                    name: (*name).into(),
                    status: if i == 10 {
                        PartnerStatus::Inactive
                    } else {
                        PartnerStatus::Active
                    },
                    credit_group: CreditGroup::parse(group).unwrap_or(CreditGroup::Preferred),
                    payout,
                    email: Some(format!("partners+{}@northwind.example", 10_001 + i)),
                },
            )?;
            partner_ids.push(p.id);
        }
        diesel::sql_query(
            "INSERT INTO deals (brand_id, program_id, name, kind, value, currency) VALUES
               ($1, $2, '20% off sitewide', 'PERCENT_OFF', 20, NULL),
               ($1, $2, '$10 off $50', 'AMOUNT_OFF', 10, 'USD'),
               ($1, $2, 'Free shipping', 'FREE_SHIPPING', NULL, NULL),
               ($1, $2, 'Buy one get one socks', 'BOGO', NULL, NULL),
               ($1, $3, '15% Rabatt', 'PERCENT_OFF', 15, NULL)",
        )
        .bind::<BigInt, _>(brand.0)
        .bind::<BigInt, _>(us.id)
        .bind::<BigInt, _>(eu.id)
        .execute(conn)?;
        seed_codes(conn, brand, us.id, eu.id, &partner_ids)?;
        seed_actions(conn, brand, us.id)?;
        let (codes, actions) = counts(conn, brand)?;
        Ok(Seeded {
            brand,
            codes,
            actions,
            created: true,
        })
    })
}

fn counts(conn: &mut PgConnection, brand: BrandId) -> StoreResult<(i64, i64)> {
    use crate::db::schema::{actions, promo_codes};
    let codes = promo_codes::table
        .filter(promo_codes::brand_id.eq(brand.0))
        .count()
        .get_result(conn)?;
    let actions = actions::table
        .filter(actions::brand_id.eq(brand.0))
        .count()
        .get_result(conn)?;
    Ok((codes, actions))
}

fn seed_codes(
    conn: &mut PgConnection,
    brand: BrandId,
    us: i64,
    eu: i64,
    partner_ids: &[i64],
) -> StoreResult<()> {
    let mut rng = Lcg(20_261_124);
    let mut sql = String::from(
        "INSERT INTO promo_codes (brand_id, program_id, code, code_type, partner_id, credit_rule, match_mode, \
         deal_id, active_start, active_end, time_zone, comments) VALUES ",
    );
    let rules = ["ALWAYS", "ALWAYS", "ALWAYS", "INVOLVED", "WINNER"];
    let suffixes = [
        "10", "15", "20", "25", "30", "SPRING", "SUMMER", "FALL", "WINTER", "VIP", "FREESHIP", "BF",
    ];
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while rows.len() < 190 {
        let pi = rng.below(PARTNERS.len() as u64) as usize;
        let (_, stem, ..) = PARTNERS[pi];
        let code = format!(
            "{stem}{}{}",
            suffixes[rng.below(suffixes.len() as u64) as usize],
            rng.below(90) + 10
        );
        let program = if rng.below(5) == 0 { eu } else { us };
        if !seen.insert((program, code.clone())) {
            continue;
        }
        let (start, end) = match rng.below(10) {
            0..=1 => (
                format!("now() - interval '{} days'", 120 + rng.below(200)),
                format!("now() - interval '{} days'", rng.below(100) + 1),
            ),
            2 => (
                format!("now() + interval '{} days'", rng.below(30) + 1),
                "NULL".to_string(),
            ),
            3..=4 => (
                format!("now() - interval '{} days'", rng.below(90) + 1),
                format!("now() + interval '{} days'", rng.below(60) + 5),
            ),
            _ => (
                format!("now() - interval '{} days'", rng.below(300) + 100),
                "NULL".to_string(),
            ),
        };
        let deal = if program == us && rng.below(3) == 0 {
            format!("(SELECT id FROM deals WHERE brand_id = {} AND program_id = {us} ORDER BY id LIMIT 1 OFFSET {})", brand.0, rng.below(4))
        } else {
            "NULL".into()
        };
        let tz = if program == us {
            "America/New_York"
        } else {
            "Europe/Berlin"
        };
        rows.push(format!(
            "({}, {program}, '{code}', 'TRACKING', {}, '{}', 'LI', {deal}, {start}, {end}, '{tz}', '')",
            brand.0,
            partner_ids[pi],
            rules[rng.below(rules.len() as u64) as usize]
        ));
    }
    for (pi, pattern) in [
        (4usize, "^AVA[0-9]{2}$"),
        (3, "TRAIL.*"),
        (2, "^(?i)(TECHREV)[A-Z]{2}$"),
        (7, "^OUTDOOR-(SUMMER|WINTER)[0-9]{2}$"),
    ] {
        rows.push(format!(
            "({}, {us}, '{pattern}', 'TRACKING', {}, 'ALWAYS', 'RE', NULL, now() - interval '200 days', NULL, 'America/New_York', 'Creator family of codes')",
            brand.0, partner_ids[pi]
        ));
    }
    for code in [
        "EMPLOYEE30",
        "CSR-APOLOGY",
        "WELCOME10",
        "NEWSLETTER15",
        "^STAFF[0-9]{4}$",
        "BIRTHDAY20",
    ] {
        let mode = if code.starts_with('^') { "RE" } else { "LI" };
        rows.push(format!(
            "({}, {us}, '{code}', 'RESTRICTED', NULL, NULL, '{mode}', NULL, now() - interval '365 days', NULL, 'America/New_York', 'Not for partners')",
            brand.0
        ));
    }
    sql.push_str(&rows.join(",\n"));
    diesel::sql_query(sql).execute(conn)?;
    diesel::sql_query(
        "INSERT INTO code_history (brand_id, code_id, changed_at, action, changes)
         SELECT brand_id, id, created_at, 'created', jsonb_build_object('code', jsonb_build_array(NULL, code))
         FROM promo_codes WHERE brand_id = $1",
    )
    .bind::<BigInt, _>(brand.0)
    .execute(conn)?;
    Ok(())
}

fn seed_actions(conn: &mut PgConnection, brand: BrandId, us: i64) -> StoreResult<()> {
    // 3,000 orders over 90 days; about 60% carry an active exact code of the
    // program, 5% an unknown code; amounts between 20 and 320 USD.
    diesel::sql_query(
        "WITH codes AS (
           SELECT c.id, c.code, c.partner_id, c.code_type,
                  row_number() OVER (ORDER BY c.id) AS n, count(*) OVER () AS total
           FROM promo_codes c
           WHERE c.brand_id = $1 AND c.program_id = $2 AND c.match_mode = 'LI'
             AND (c.active_start IS NULL OR c.active_start <= now() - interval '1 day')
             AND (c.active_end IS NULL OR c.active_end > now())
         ), orders AS (
           SELECT g AS n, now() - (g * interval '43 minutes') AS event_date,
                  (20 + (hashint4(g) & 1023) * 300 / 1023)::numeric(14,2) AS amount,
                  abs(hashint4(g * 7)) % 100 AS roll,
                  abs(hashint4(g * 13)) AS pick
           FROM generate_series(1, 3000) g
         )
         INSERT INTO actions (brand_id, program_id, order_id, event_date, entered_codes, entered_code,
                              matched_code_id, credited_partner_id, credit_reason, state, currency,
                              sale_amount, payout, customer_id, customer_status, reversal_reason, locking_date, source)
         SELECT $1, $2, 'NW-' || (100000 + o.n), o.event_date,
                CASE WHEN o.roll < 60 THEN ARRAY[c.code] WHEN o.roll < 65 THEN ARRAY['SAVE' || (o.pick % 50)] ELSE '{}' END,
                CASE WHEN o.roll < 60 THEN c.code WHEN o.roll < 65 THEN 'SAVE' || (o.pick % 50) END,
                CASE WHEN o.roll < 60 THEN c.id END,
                CASE WHEN o.roll < 60 AND c.code_type = 'TRACKING' THEN c.partner_id END,
                CASE WHEN o.roll < 60 AND c.code_type = 'RESTRICTED' THEN 'restricted_code'
                     WHEN o.roll < 60 THEN 'code_always' ELSE 'unattributed' END,
                CASE WHEN o.roll % 17 = 0 THEN 'REVERSED' WHEN o.event_date < now() - interval '30 days' THEN 'APPROVED' ELSE 'PENDING' END,
                'USD', o.amount,
                CASE WHEN o.roll < 60 AND c.code_type = 'TRACKING' THEN round(o.amount * 0.07, 2) ELSE 0 END,
                'cust-' || (o.pick % 1800),
                CASE WHEN o.pick % 3 = 0 THEN 'New' ELSE 'Returning' END,
                CASE WHEN o.roll % 17 = 0 THEN 'Returned by customer' END,
                o.event_date + interval '30 days', 'demo'
         FROM orders o
         JOIN codes c ON c.n = 1 + (o.pick % c.total)",
    )
    .bind::<BigInt, _>(brand.0)
    .bind::<BigInt, _>(us)
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO code_misuse (brand_id, program_id, action_id, entered_code, kind, occurred_at)
         SELECT brand_id, program_id, id, entered_code, 'unknown', event_date
         FROM actions WHERE brand_id = $1 AND entered_code IS NOT NULL AND matched_code_id IS NULL",
    )
    .bind::<BigInt, _>(brand.0)
    .execute(conn)?;
    Ok(())
}
