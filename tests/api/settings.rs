//! Program settings: the time zone is the code form's select, and the
//! settings page shows each program's id (what upload files need).

use crate::helpers::{acme, body_of, program_form};
use crate::html::{options, selected};
use promodesk::domain::Role;

#[actix_web::test]
async fn the_program_time_zone_is_the_code_forms_select() {
    let (_app, brand, c) = acme(Role::Admin).await;
    let (status, new_program) = c.page("/settings/programs/new").await;
    assert_eq!(status, 200);
    let new_code = c.ok("/codes/new").await;
    let program_zones = options(&new_program, "time_zone");
    let mut code_zones = options(&new_code, "timezone");
    code_zones.retain(|z| !z.is_empty());
    assert!(program_zones.len() > 300, "{}", program_zones.len());
    assert_eq!(program_zones, code_zones, "one list of zones");
    assert_eq!(selected(&new_program, "time_zone"), vec!["UTC"]);

    let path = format!("/settings/programs/{}", brand.program);
    let edit = c.ok(&path).await;
    assert_eq!(selected(&edit, "time_zone"), vec!["America/New_York"]);

    // A refused value stays on the page, selected, beside its message.
    let res = c.post(&path, &program_form("Acme US", "Mars/Base")).await;
    let body = body_of(res, 422).await;
    assert!(body.contains("IANA time zone"));
    assert_eq!(selected(&body, "time_zone"), vec!["Mars/Base"]);

    // A zone the list does not offer (an abbreviation) is kept when saved.
    let res = c.post(&path, &program_form("Acme US", "EST")).await;
    assert_eq!(res.status(), 303);
    let edit = c.ok(&path).await;
    assert_eq!(selected(&edit, "time_zone"), vec!["EST"]);
}

#[actix_web::test]
async fn upload_ids_are_on_the_settings_and_partner_pages() {
    let (app, brand, c) = acme(Role::Viewer).await;
    app.partner(&brand, 4711, "Coupon Planet");
    let (status, settings) = c.page("/settings").await;
    assert_eq!(status, 200);
    assert!(
        settings.contains("Program Id")
            && settings.contains(&format!("<td class=\"num\">{}</td>", brand.program)),
        "{settings}"
    );
    let (status, partners) = c.page("/partners").await;
    assert_eq!(status, 200);
    assert!(
        partners.contains("Media Id") && partners.contains("<td class=\"num\">4711</td>"),
        "{partners}"
    );
}

/// The README tells a new user the first build's time, how to reset the
/// demo data, and which pages show an upload file's ids (the pages the
/// test above checks).
#[test]
fn the_readme_answers_a_new_users_first_questions() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    for text in [
        "about ten minutes on 2 cores",
        "**Reset the demo data.**",
        "rm -rf data",
        "promodesk demo-data",
        "**Program Id**: Settings (`/settings`)",
        "**Media Id**: Partners (`/partners`)",
    ] {
        assert!(readme.contains(text), "README: {text}");
    }
}
