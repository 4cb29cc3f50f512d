//! Builders for the rows a test needs, made by the app's own store
//! functions (so they hold what the app would write):
//!
//! ```ignore
//! let eu = app.program(&brand, "Acme EU").tz("Europe/Berlin").tracking(false).create();
//! let deal = app.deal(&brand, "Summer Sale").percent_off(20).create();
//! let id = app.code(&brand, "SUMMER10").partner(p).rule(CreditRule::Winner).create();
//! ```

use crate::helpers::{Brand, TestApp};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use promodesk::db::schema::users;
use promodesk::domain::code::{CodeType, CreditRule, MatchMode, NewCode};
use promodesk::domain::deal::{DealKind, NewDeal};
use promodesk::domain::partner::Payout;
use promodesk::domain::program::ProgramSettings;
use promodesk::domain::{BrandId, DealId, PartnerId, ProgramId, UserId};
use promodesk::store::{codes, deals, programs};
use rust_decimal::Decimal;

impl TestApp {
    /// A program of the brand: New York, USD, tracking on unless changed.
    pub fn program(&self, brand: &Brand, name: &str) -> ProgramBuilder<'_> {
        ProgramBuilder {
            app: self,
            brand: brand.id,
            settings: ProgramSettings {
                name: name.into(),
                time_zone: "America/New_York".into(),
                currency: "USD".into(),
                landing_url: "https://shop.example/".into(),
                referral_window_days: 30,
                locking_days: 30,
                tracking_enabled: true,
            },
        }
    }

    /// A deal in the brand's program: free shipping unless changed.
    pub fn deal(&self, brand: &Brand, name: &str) -> DealBuilder<'_> {
        DealBuilder {
            app: self,
            brand: brand.id,
            deal: NewDeal {
                program_id: brand.program,
                name: name.into(),
                kind: DealKind::FreeShipping,
                value: None,
                currency: None,
            },
        }
    }

    /// A promo code of the brand's program: RESTRICTED, exact, in New
    /// York time and starting now unless changed (a partner makes it a
    /// TRACKING code crediting ALWAYS). Created by the brand's first user.
    pub fn code(&self, brand: &Brand, value: &str) -> CodeBuilder<'_> {
        CodeBuilder {
            app: self,
            brand: brand.id,
            exact_window: false,
            code: NewCode {
                program_id: brand.program,
                code: value.into(),
                code_type: CodeType::Restricted,
                partner_id: None,
                credit_rule: None,
                match_mode: MatchMode::Literal,
                deal_id: None,
                active_start: None,
                active_end: None,
                time_zone: chrono_tz::America::New_York,
                payout: None,
                comments: String::new(),
            },
        }
    }
}

pub struct ProgramBuilder<'a> {
    app: &'a TestApp,
    brand: BrandId,
    settings: ProgramSettings,
}

impl ProgramBuilder<'_> {
    pub fn tz(mut self, zone: &str) -> Self {
        self.settings.time_zone = zone.into();
        self
    }

    pub fn currency(mut self, currency: &str) -> Self {
        self.settings.currency = currency.into();
        self
    }

    pub fn tracking(mut self, on: bool) -> Self {
        self.settings.tracking_enabled = on;
        self
    }

    pub fn create(self) -> ProgramId {
        let p = programs::create(&mut self.app.conn(), self.brand, &self.settings)
            .expect("create the program");
        ProgramId(p.id)
    }
}

pub struct DealBuilder<'a> {
    app: &'a TestApp,
    brand: BrandId,
    deal: NewDeal,
}

impl DealBuilder<'_> {
    pub fn percent_off(mut self, percent: i64) -> Self {
        self.deal.kind = DealKind::PercentOff;
        self.deal.value = Some(Decimal::new(percent, 0));
        self
    }

    /// Its id.
    pub fn create(self) -> i64 {
        deals::create(&mut self.app.conn(), self.brand, &self.deal)
            .expect("create the deal")
            .id
    }
}

pub struct CodeBuilder<'a> {
    app: &'a TestApp,
    brand: BrandId,
    /// The start and end as given, an empty start included (rows the app
    /// may hold), instead of a new code's start of now.
    exact_window: bool,
    code: NewCode,
}

impl CodeBuilder<'_> {
    /// A TRACKING code of this partner (ALWAYS unless [`Self::rule`] says).
    pub fn partner(mut self, partner: i64) -> Self {
        self.code.code_type = CodeType::Tracking;
        self.code.partner_id = Some(PartnerId(partner));
        self.code.credit_rule.get_or_insert(CreditRule::Always);
        self
    }

    /// A partner or none (a RESTRICTED code).
    pub fn partner_or_none(self, partner: Option<i64>) -> Self {
        match partner {
            Some(p) => self.partner(p),
            None => self,
        }
    }

    pub fn rule(mut self, rule: CreditRule) -> Self {
        self.code.credit_rule = Some(rule);
        self
    }

    pub fn regex(mut self) -> Self {
        self.code.match_mode = MatchMode::Regex;
        self
    }

    pub fn deal(mut self, deal: i64) -> Self {
        self.code.deal_id = Some(DealId(deal));
        self
    }

    pub fn starts(mut self, at: DateTime<Utc>) -> Self {
        self.code.active_start = Some(at);
        self
    }

    pub fn ends(mut self, at: DateTime<Utc>) -> Self {
        self.code.active_end = Some(at);
        self
    }

    /// Exactly this start and end; no start stays no start.
    pub fn window(mut self, start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Self {
        self.code.active_start = start;
        self.code.active_end = end;
        self.exact_window = true;
        self
    }

    pub fn tz(mut self, zone: chrono_tz::Tz) -> Self {
        self.code.time_zone = zone;
        self
    }

    pub fn payout(mut self, payout: Payout) -> Self {
        self.code.payout = Some(payout);
        self
    }

    pub fn comments(mut self, comments: &str) -> Self {
        self.code.comments = comments.into();
        self
    }

    /// Its id.
    pub fn create(self) -> i64 {
        let mut conn = self.app.conn();
        let user = users::table
            .filter(users::brand_id.eq(self.brand.0))
            .order(users::id)
            .select(users::id)
            .first::<i64>(&mut conn)
            .map(UserId)
            .expect("a user of the brand to create the code (app.user first)");
        let code = if self.exact_window {
            self.code
        } else {
            self.code
                .starting_now(Utc::now())
                .expect("a valid window for a new code")
        };
        codes::create(&mut conn, self.brand, user, &code)
            .unwrap_or_else(|e| panic!("create the code {}: {e}", code.code))
            .0
    }
}
