//! The action page in real headless Chromium: a credited, an invalid and a
//! reversed action read as a manager sees them, and a reversal through the
//! page's form (no script needed). Screenshots with PROMODESK_SCREENS.

use crate::actions::{action, click, ny, partner_as};
use crate::browser::Browser;
use crate::helpers::TestApp;
use promodesk::domain::code::CreditRule;
use promodesk::domain::partner::{CreditGroup, PartnerStatus};
use promodesk::domain::Role;

#[actix_web::test]
async fn a_manager_reads_decisions_and_reverses_an_action_in_the_browser() {
    let app = TestApp::spawn().await;
    let brand = app.brand("Acme");
    app.user(&brand, "mia@acme.test", Role::Manager);
    let deals = partner_as(
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
    let summer = app
        .code(&brand, "SUMMER10")
        .partner(deals)
        .rule(CreditRule::Involved)
        .create();
    let t = ny(5, 3, 14, 2);
    let click_id = click(&app, &brand, deals, t, "Zx9Qw7Er5Ty3Ui1Op0As");
    let credited = action(&brand, "SHOP-10021")
        .at(ny(5, 4, 9, 30))
        .reason("code_involved")
        .credited(deals)
        .winner(hub)
        .entered(&["summer10", "SAVE5"])
        .matched("summer10", summer)
        .misuse("SAVE5", "unknown", None)
        .named_click(deals, 1001, t, click_id, "Zx9Qw7Er5Ty3Ui1Op0As")
        .click(hub, 1002, ny(5, 4, 8, 15))
        .amounts("184.90", "12.94")
        .items(serde_json::json!([
            {"line": 1, "sku": "TEE-RED-M", "name": "Red tee, M", "category": "Apparel", "quantity": 2, "price": "39.95", "subtotal": "79.90"},
            {"line": 2, "sku": "HOOD-GRY-L", "name": "Grey hoodie, L", "category": "Apparel", "quantity": 1, "price": "105.00", "subtotal": "105.00"}
        ]))
        .create(&app);
    let invalid = action(&brand, "SHOP-10022")
        .at(ny(5, 4, 11, 5))
        .reason("code_owned_by_other_partner")
        .winner(hub)
        .matched("SUMMER10", summer)
        .click(hub, 1002, ny(5, 4, 10, 50))
        .amounts("59.00", "0")
        .create(&app);
    let reversed = action(&brand, "SHOP-10023")
        .at(ny(5, 4, 12, 0))
        .reason("click_winner")
        .credited(hub)
        .winner(hub)
        .click(hub, 1002, ny(5, 4, 11, 40))
        .amounts("75.00", "5.25")
        .create(&app);

    let b = Browser::start().await;
    b.login(&app.addr, "mia@acme.test").await;

    b.goto(&format!("{}/actions/{credited}", app.addr)).await;
    let why = b.text("#explanation").await;
    assert!(
        why.starts_with("Credited to Acme Deals: code SUMMER10 (exact, rule INVOLVED)"),
        "{why}"
    );
    assert!(b.text("#journey").await.contains("won the journey"));
    b.screenshot("action-credited").await;

    b.goto(&format!("{}/actions/{invalid}", app.addr)).await;
    let why = b.text("#explanation").await;
    assert!(
        why.starts_with("Not credited: SUMMER10 belongs to Acme Deals"),
        "{why}"
    );
    assert_eq!(b.text("#action-verdict").await, "Not credited (invalid)");
    b.screenshot("action-invalid").await;

    // Reverse through the form.
    b.goto(&format!("{}/actions/{reversed}", app.addr)).await;
    b.exec("document.getElementById('reverse-reason').value = 'ITEM_RETURNED'; return true")
        .await;
    b.type_into("#reverse-note", "Returned on 6 May, refund issued")
        .await;
    b.click("#reverse-form button[type=submit]").await;
    b.wait_text("#action-state", |t| t == "Reversed").await;
    let updates = b
        .text("#updates")
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        updates.contains("mia@acme.test reversed")
            && updates.contains("Item returned (ITEM_RETURNED)")
            && updates.contains("Returned on 6 May, refund issued"),
        "{updates}"
    );
    b.screenshot("action-reversed").await;

    b.goto(&format!("{}/reports/actions", app.addr)).await;
    let list = b.text("#actions").await;
    assert!(
        list.contains("SHOP-10021") && list.contains("SHOP-10023"),
        "{list}"
    );
    b.screenshot("actions-recent").await;
}
