//! Personal data: an export holds every record the test created for the person; after erasure none of their
//! personal data is readable through any route or left in any table, while the audit trail (ids only) remains.

use std::io::Read;

use serde_json::{json, Value};
use tessera_tests::{cli, count, query_column, Backend, TestApp, PASSWORD};

const EMAIL: &str = "gdpr.subject@atlas.test";
const NAME: &str = "Gdpr Unique-Subject";

fn unzip_document(bytes: &[u8]) -> Value {
    let text = String::from_utf8(unzip_entry(bytes, "personal-data.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn unzip_entry(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut file = archive.by_name(name).unwrap();
    let mut content = Vec::new();
    file.read_to_end(&mut content).unwrap();
    content
}

/// Every text column of every table, as `table.column`.
fn text_columns(url: &str) -> Vec<(String, String)> {
    let sql = match tessera_tests::backend() {
        Backend::Sqlite => "SELECT m.name || '.' || p.name AS v FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND upper(p.type) = 'TEXT'",
        Backend::Postgres => "SELECT table_name || '.' || column_name AS v FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type = 'text'",
    };
    query_column(url, sql)
        .into_iter()
        .flatten()
        .map(|v| {
            let (t, c) = v.split_once('.').unwrap();
            (t.to_owned(), c.to_owned())
        })
        .collect()
}

/// The `table.column`s holding `needle` (case-insensitive).
fn holding(url: &str, needle: &str) -> Vec<String> {
    text_columns(url)
        .into_iter()
        .filter(|(table, column)| {
            count(
                url,
                &format!(
                    "SELECT count(*) FROM {table} WHERE lower({column}) LIKE lower('%{needle}%')"
                ),
            ) > 0
        })
        .map(|(t, c)| format!("{t}.{c}"))
        .collect()
}

#[tokio::test]
async fn export_holds_everything_and_erasure_leaves_nothing_personal() {
    // Mail cannot leave (nothing listens on port 1), so the verification e-mail stays queued, sealed.
    let app = TestApp::spawn_with(&[
        ("TESSERA_EMAIL__TRANSPORT", "smtp"),
        ("TESSERA_EMAIL__SMTP_PORT", "1"),
    ])
    .await;
    let out = cli(
        &app.db.url,
        &[
            "user",
            "create",
            "--tenant",
            "atlas",
            "--email",
            EMAIL,
            "--name",
            NAME,
            "--role",
            "member",
            "--password-stdin",
        ],
        &[],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens = app.login(Some("atlas"), EMAIL).await;
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/me/email-verification",
            Some(&tokens.access),
            &json!({}),
        )
        .await;
    assert_eq!(status, 202);
    let account = app
        .get_json(Some("atlas"), "/api/v1/me", &tokens.access)
        .await
        .1["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Their identity document (sensitive, encrypted at rest), named after them; and an invoice the brand keeps.
    let passport = b"%PDF-1.7 passport scan of the subject".to_vec();
    let passport_id = app
        .upload_file(
            "atlas",
            &tokens.access,
            "purpose=identity_document&filename=passport-gdpr-unique-subject.pdf",
            "application/pdf",
            passport.clone(),
        )
        .await;
    let admin = app.token("atlas", "admin").await;
    let invoice_id = app
        .upload_file(
            "atlas",
            &admin,
            &format!("purpose=invoice_pdf&owner={account}"),
            "application/pdf",
            b"%PDF-1.7 invoice".to_vec(),
        )
        .await;

    // A staff note, a consent and a membership of theirs: the gym's sections.
    let note = json!({"body": "prefers morning sessions"});
    let path_notes = format!("/api/v1/members/{account}/notes");
    assert_eq!(
        app.post_json(Some("atlas"), &path_notes, Some(&admin), &note)
            .await
            .0,
        201
    );
    let consent =
        json!({"consents": [{"kind": "marketing", "granted": true, "text_version": "2026-01"}]});
    let (status, _) = app
        .send_json(
            reqwest::Method::PATCH,
            Some("atlas"),
            "/api/v1/me/profile",
            Some(&tokens.access),
            &consent,
        )
        .await;
    assert_eq!(status, 200);
    let plan = crate::memberships::monthly_plan("gdpr-plan");
    let (status, plan) = app
        .post_json(Some("atlas"), "/api/v1/plans", Some(&admin), &plan)
        .await;
    assert_eq!(status, 201, "{plan}");
    let sale = json!({"member_id": account, "plan_id": plan["id"]});
    let (status, membership) = app
        .post_json(Some("atlas"), "/api/v1/memberships", Some(&admin), &sale)
        .await;
    assert_eq!(status, 201, "{membership}");
    // The sale's invoice is e-mailed to them once its PDF is rendered (a job): wait for it, so that the e-mails
    // below are their sign-up e-mail and that one.
    let url = app.db.url.clone();
    let rendered = format!(
        "SELECT count(*) FROM invoices WHERE account_id = '{account}' AND pdf_file_id IS NOT NULL"
    );
    assert!(
        tessera_tests::eventually(std::time::Duration::from_secs(30), || count(
            &url, &rendered
        ) == 1)
        .await,
        "the invoice's PDF was not rendered"
    );

    // The person's own export.
    let response = app
        .get(Some("atlas"), "/api/v1/me/export")
        .bearer_auth(&tokens.access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let zip = response.bytes().await.unwrap();
    let mine = unzip_document(&zip);
    let sections = &mine["sections"];
    assert_eq!(sections["account"]["email"], EMAIL);
    assert_eq!(sections["account"]["display_name"], NAME);
    assert_eq!(sections["account"]["roles"], json!(["member"]));
    let member = &sections["member_profile"];
    assert_eq!(member["profile"]["id"], account.as_str());
    assert_eq!(member["staff_notes"][0]["body"], "prefers morning sessions");
    assert_eq!(member["consent_history"][0]["text_version"], "2026-01");
    assert_eq!(
        sections["memberships"][0]["membership"]["id"],
        membership["id"]
    );
    assert_eq!(
        sections["memberships"][0]["history"][0]["action"],
        "created"
    );
    assert!(!sections["sessions"]["sessions"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(sections["sessions"]["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["purpose"] == "verify_email"));
    assert!(sections["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "account.created"));
    assert_eq!(sections["emails"]["messages_kept"], 2);
    // Their files are listed, and their contents are in the zip, decrypted.
    // (The membership's invoice PDF is theirs too once its job has run; it is not one of the uploads counted here.)
    let listed: Vec<&Value> = sections["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            !f["filename"]
                .as_str()
                .is_some_and(|n| n.starts_with("ATL-"))
        })
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let entry = listed
        .iter()
        .find(|f| f["id"] == passport_id.as_str())
        .unwrap()["archive_path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        entry,
        format!("files/{passport_id}-passport-gdpr-unique-subject.pdf")
    );
    assert_eq!(unzip_entry(&zip, &entry), passport);
    // Reading the sensitive file into the export is a view like any other, audited.
    assert_eq!(
        count(
            &app.db.url,
            &format!("SELECT count(*) FROM audit_log WHERE action = 'file.viewed' AND target_id = '{passport_id}' AND details_json LIKE '%personal data export%'"),
        ),
        1
    );
    let actions: Vec<&str> = sections["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"user.created") && actions.contains(&"auth.login"),
        "{actions:?}"
    );
    assert!(
        !mine.to_string().contains("password_hash") && !mine.to_string().contains("token_hash")
    );

    // An admin's export of the same account; a member may not export someone else's.
    let path = format!("/api/v1/accounts/{account}/export");
    let response = app
        .get(Some("atlas"), &path)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let theirs = unzip_document(&response.bytes().await.unwrap());
    assert_eq!(theirs["sections"]["account"]["email"], EMAIL);
    let other_member = app.token("atlas", "member").await;
    assert_eq!(
        app.get_status(Some("atlas"), &path, &other_member).await,
        403
    );

    // Erasure.
    let audit_before = count(&app.db.url, &format!("SELECT count(*) FROM audit_log WHERE target_id = '{account}' OR actor_id = '{account}'"));
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/accounts/{account}/erasure"),
            Some(&admin),
            &json!({"reason": ""}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, report) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/accounts/{account}/erasure"),
            Some(&admin),
            &json!({"reason": "request by e-mail on 2026-11-20"}),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    let line = |name: &str| {
        report["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["section"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(line("emails")["deleted"], 2);
    assert!(line("sessions")["deleted"].as_i64().unwrap() >= 2);
    assert!(line("audit")["kept"].as_str().unwrap().contains("audit"));
    assert_eq!(line("files")["deleted"], 1);
    assert_eq!(line("member_profile")["deleted"], 1);
    assert!(line("memberships")["kept"]
        .as_str()
        .unwrap()
        .contains("contracts"));
    for table in [
        "member_profiles",
        "member_notes",
        "member_consents",
        "member_search_terms",
    ] {
        let n = count(
            &app.db.url,
            &format!("SELECT count(*) FROM {table} WHERE account_id = '{account}'"),
        );
        assert_eq!(n, 0, "{table}");
    }
    let kept = count(
        &app.db.url,
        &format!("SELECT count(*) FROM memberships WHERE account_id = '{account}'"),
    );
    assert_eq!(
        kept, 1,
        "the contract stays, with ids, dates and prices only"
    );
    assert!(line("files")["kept"].as_str().unwrap().contains("invoices"));

    // Nothing personal is readable through the API...
    assert_eq!(
        app.try_login(Some("atlas"), EMAIL, PASSWORD).await.0,
        401,
        "cannot log in"
    );
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/me", &tokens.access)
            .await,
        401
    );
    assert_eq!(app.get_status(Some("atlas"), &path, &admin).await, 404);
    let (_, audit) = app
        .get_json(Some("atlas"), "/api/v1/audit?limit=100", &admin)
        .await;
    assert!(!audit.to_string().contains(EMAIL) && !audit.to_string().contains(NAME));
    // ...nor left in any table, while the audit entries (ids only) remain.
    assert_eq!(holding(&app.db.url, EMAIL), Vec::<String>::new());
    // Only the invoice of the membership keeps the buyer's name, as French law requires for ten years.
    assert_eq!(holding(&app.db.url, NAME), ["invoices.buyer_json"]);
    assert!(line("invoices")["kept"]
        .as_str()
        .unwrap()
        .contains("10 years"));
    assert_eq!(
        holding(&app.db.url, "gdpr-unique-subject"),
        Vec::<String>::new()
    );
    // Their document is gone, bytes included; the invoice stays for the brand.
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/files/{passport_id}"),
            &admin
        )
        .await,
        404
    );
    let stored = tessera_tests::files_dir_for(&app.db.url);
    let mut left = Vec::new();
    collect_files(&stored, &mut left);
    assert!(!left.iter().any(|p| p.contains(&passport_id)), "{left:?}");
    assert!(left.iter().any(|p| p.contains(&invoice_id)), "{left:?}");
    assert_eq!(
        app.get_status(
            Some("atlas"),
            &format!("/api/v1/files/{invoice_id}"),
            &admin
        )
        .await,
        200
    );
    let audit_after = count(&app.db.url, &format!("SELECT count(*) FROM audit_log WHERE target_id = '{account}' OR actor_id = '{account}'"));
    assert_eq!(
        audit_after,
        audit_before + 1,
        "kept, plus the erasure itself"
    );
    let verify = cli(&app.db.url, &["audit", "verify"], &[], None);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    // An admin cannot erase themselves.
    let me = app.get_json(Some("atlas"), "/api/v1/me", &admin).await.1["account"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/accounts/{me}/erasure"),
            Some(&admin),
            &json!({"reason": "oops"}),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
}

fn collect_files(dir: &std::path::Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path.display().to_string());
        }
    }
}
