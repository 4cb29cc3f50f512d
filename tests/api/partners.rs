//! Partners through HTTP: the form and its errors, program settings, a
//! partner's codes.

use crate::helpers::{acme, body_of, location, program_form, Client};
use crate::html::codes_in;
use promodesk::domain::Role;

/// The partner form: a Media Id, a name and `more`.
fn partner<'a>(
    media_id: &'a str,
    name: &'a str,
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![("media_id", media_id), ("name", name)];
    fields.extend_from_slice(more);
    fields
}

/// Creates a partner through the form; its page.
async fn create(c: &Client, fields: &[(&str, &str)]) -> String {
    let res = c.post("/partners", fields).await;
    assert_eq!(res.status(), 303, "{fields:?}");
    location(&res)
}

#[actix_web::test]
async fn create_edit_and_list_partners() {
    let (_app, _brand, c) = acme(Role::Manager).await;
    let standard = ("credit_group", "STANDARD");
    let more = [
        ("status", "active"),
        standard,
        ("payout_percent", "7.5"),
        ("email", "team@coupons.example"),
    ];
    let path = create(&c, &partner("4242", "Coupon Planet", &more)).await;
    let body = c.ok(&path).await;
    assert!(body.contains("Partner Coupon Planet (Media Id 4242) created."));
    assert!(body.contains("value=\"7.5\""));
    let edit = partner(
        "4242",
        "Coupon Planet Ltd",
        &[("status", "inactive"), standard],
    );
    let res = c.post(&path, &edit).await;
    assert_eq!(res.status(), 303);
    let list = c.ok("/partners").await;
    assert!(
        list.contains("Coupon Planet Ltd") && list.contains("inactive") && list.contains("4242")
    );
}

#[actix_web::test]
async fn bad_partner_input_is_shown_beside_each_field() {
    let (_app, _brand, c) = acme(Role::Manager).await;
    let more = [
        ("payout_percent", "5"),
        ("payout_flat", "2"),
        ("email", "x"),
    ];
    let res = c.post("/partners", &partner("abc", "", &more)).await;
    let body = body_of(res, 422).await;
    assert!(body.contains("`abc` is not a Media Id"));
    assert!(body.contains("Give a percent or a flat amount, not both."));
    assert!(body.contains("Not an email address"));
    assert!(body.contains("value=\"abc\""), "the input is kept");
    let list = c.ok("/partners").await;
    assert!(list.contains("No partners yet"));
}

#[actix_web::test]
async fn duplicate_media_id_names_the_partner_that_has_it() {
    let (app, brand, c) = acme(Role::Manager).await;
    app.partner(&brand, 900, "First Partner");
    let res = c
        .post("/partners", &partner("900", "Second Partner", &[]))
        .await;
    let body = body_of(res, 422).await;
    assert!(
        body.contains("Media Id 900 already belongs to the partner First Partner."),
        "{body}"
    );
}

#[actix_web::test]
async fn admins_edit_program_settings_with_validation() {
    let (app, brand, c) = acme(Role::Admin).await;
    let path = format!("/settings/programs/{}", brand.program);
    let res = c.post(&path, &program_form("Acme US", "Mars/Base")).await;
    assert!(body_of(res, 422).await.contains("IANA time zone"));
    let res = c
        .post(
            &path,
            &[
                ("name", "Acme USA"),
                ("time_zone", "America/Chicago"),
                ("currency", "usd"),
                ("landing_url", "https://acme.example/"),
                ("referral_window_days", "14"),
                ("tracking_enabled", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), 303);
    let mut conn = app.conn();
    let p = promodesk::store::programs::get(&mut conn, brand.id, brand.program).expect("program");
    assert_eq!(
        (
            p.name.as_str(),
            p.time_zone.as_str(),
            p.referral_window_days
        ),
        ("Acme USA", "America/Chicago", 14)
    );
}

#[actix_web::test]
async fn a_partners_page_lists_its_codes_with_the_lists_filters() {
    let (app, brand, c) = acme(Role::Viewer).await;
    let planet = app.partner(&brand, 100, "Coupon Planet");
    let hunter = app.partner(&brand, 200, "Deal Hunter");
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    let code = |value: &str, partner, start, end| {
        app.code(&brand, value)
            .partner(partner)
            .window(start, end)
            .create()
    };
    code("PLANET10", planet, None, None);
    code("PLANET20", planet, Some(now + day), None);
    code("PLANETOLD", planet, None, Some(now - day));
    code("HUNTER10", hunter, None, None);

    let page = format!("/partners/{planet}");
    let (status, body) = c.page(&page).await;
    assert_eq!(status, 200);
    let mut shown = codes_in(&body);
    shown.sort();
    assert_eq!(shown, ["PLANET10", "PLANET20", "PLANETOLD"]);
    assert!(body.contains("3 codes"), "{body}");
    assert!(
        body.contains(&format!("href=\"/codes?partner={planet}\"")),
        "a link to the code list with this partner"
    );

    let (status, body) = c.page(&format!("{page}?status=expired")).await;
    assert_eq!(status, 200);
    assert_eq!(codes_in(&body), ["PLANETOLD"]);
    assert!(body.contains("1 code match these filters"), "{body}");
    assert!(body.contains("<option value=\"expired\" selected>"));
    // The code list opened from here shows the same codes, with its bulk actions.
    let list = format!("/codes?status=expired&#38;partner={planet}");
    assert!(body.contains(&format!("href=\"{list}\"")), "{body}");
    let listed = c.ok(&list.replace("&#38;", "&")).await;
    assert_eq!(codes_in(&listed), ["PLANETOLD"]);

    let body = c.ok(&format!("{page}?q=planet2")).await;
    assert_eq!(codes_in(&body), ["PLANET20"]);
    // The partner is fixed: a partner in the query does not swap it.
    let body = c.ok(&format!("{page}?partner={hunter}")).await;
    assert_eq!(codes_in(&body).len(), 3);
    assert!(!body.contains("HUNTER10"));
    let (status, body) = c.page(&format!("{page}?status=scheduled&q=old")).await;
    assert_eq!(status, 200);
    assert!(codes_in(&body).is_empty());
    assert!(
        body.contains("None of this partner's codes match these filters."),
        "{body}"
    );

    let lonely = app.partner(&brand, 300, "Lonely Partner");
    let (status, body) = c.page(&format!("/partners/{lonely}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("No promo codes for this partner yet."));
}

#[actix_web::test]
async fn a_partner_with_many_codes_pages_through_them() {
    let (app, brand, c) = acme(Role::Viewer).await;
    let planet = app.partner(&brand, 100, "Coupon Planet");
    for n in 1..=55 {
        app.code(&brand, &format!("BULK{n:03}"))
            .partner(planet)
            .window(None, None)
            .tz(chrono_tz::UTC)
            .create();
    }
    let first = c.ok(&format!("/partners/{planet}")).await;
    assert_eq!(codes_in(&first).len(), 50);
    assert!(first.contains("1–50 of 55 codes"), "{first}");
    let next = format!("/partners/{planet}?page=2#codes");
    assert!(first.contains(&format!("href=\"{next}\"")), "{first}");
    let second = c.ok(&next).await;
    let mut all = codes_in(&first);
    all.extend(codes_in(&second));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 55, "every code once");
}

#[actix_web::test]
async fn flat_payouts_read_with_thousands_separators() {
    let (_app, _brand, c) = acme(Role::Manager).await;
    let flat = [("payout_flat", "2500")];
    create(&c, &partner("4242", "Coupon Planet", &flat)).await;
    let list = c.ok("/partners").await;
    assert!(list.contains("2,500.00 flat"), "{list}");
}
