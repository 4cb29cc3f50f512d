//! Brand B cannot read or change brand A's data through any route.

use crate::helpers::TestApp;
use promodesk::domain::Role;
use promodesk::store::{partners, programs};

#[actix_web::test]
async fn another_brands_partner_and_program_answer_404_and_stay_unchanged() {
    let app = TestApp::spawn().await;
    let a = app.brand("Alpha");
    let b = app.brand("Beta");
    app.user(&a, "ann@alpha.test", Role::Admin);
    app.user(&b, "bob@beta.test", Role::Admin);
    let a_partner = app.partner(&a, 100, "Alpha Blog");
    let bob = app.login("bob@beta.test").await;

    // Reading by id.
    let (status, body) = bob.page(&format!("/partners/{a_partner}")).await;
    assert_eq!(status, 404);
    assert!(!body.contains("Alpha Blog"));
    assert_eq!(
        bob.get(&format!("/settings/programs/{}", a.program))
            .await
            .status(),
        404
    );

    // Changing by id.
    let res = bob
        .post(
            &format!("/partners/{a_partner}"),
            &[("media_id", "100"), ("name", "Taken Over")],
        )
        .await;
    assert_eq!(res.status(), 404);
    let res = bob
        .post(
            &format!("/settings/programs/{}", a.program),
            &[
                ("name", "Taken Over"),
                ("time_zone", "UTC"),
                ("currency", "USD"),
                ("landing_url", "https://evil.example"),
            ],
        )
        .await;
    assert_eq!(res.status(), 404);

    // Lists show only the own brand.
    let list = bob.ok("/partners").await;
    assert!(!list.contains("Alpha Blog"));
    let settings = bob.ok("/settings").await;
    assert!(!settings.contains("Alpha US") && settings.contains("Beta US"));
    let dash = bob.ok("/").await;
    assert!(!dash.contains("Alpha US"));

    // Brand A's rows are as they were.
    let mut conn = app.conn();
    let p = partners::get(&mut conn, a.id, promodesk::domain::PartnerId(a_partner))
        .expect("A's partner");
    assert_eq!(p.name, "Alpha Blog");
    let prog = programs::get(&mut conn, a.id, a.program).expect("A's program");
    assert_eq!(prog.name, "Alpha US");
    assert_eq!(prog.landing_url, "https://shop.example/");

    // The same Media Id may exist in both brands.
    let res = bob
        .post("/partners", &[("media_id", "100"), ("name", "Beta Blog")])
        .await;
    assert_eq!(res.status(), 303);
}

#[actix_web::test]
async fn store_functions_are_scoped_by_brand() {
    let app = TestApp::spawn().await;
    let a = app.brand("Alpha");
    let b = app.brand("Beta");
    let a_partner = app.partner(&a, 100, "Alpha Blog");
    let mut conn = app.conn();
    let res = partners::get(&mut conn, b.id, promodesk::domain::PartnerId(a_partner));
    assert!(matches!(res, Err(promodesk::store::StoreError::NotFound)));
    let res = programs::get(&mut conn, b.id, a.program);
    assert!(matches!(res, Err(promodesk::store::StoreError::NotFound)));
}
