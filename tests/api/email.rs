//! E-mail: a password reset arrives at a real SMTP server, rendered for the brand, and its link works once;
//! unknown addresses get the same answer and no mail; the outbox transport writes `.eml` files.

use std::time::Duration;

use serde_json::json;
use tessera_tests::{count, eventually, read_email, SmtpServer, TestApp, PASSWORD};

pub(crate) fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// A real SMTP server on loopback and a server that sends through it.
pub(crate) async fn with_smtp() -> (SmtpServer, TestApp) {
    let smtp = SmtpServer::start().await;
    let port = smtp.port.to_string();
    let app = TestApp::spawn_with(&[
        ("TESSERA_EMAIL__TRANSPORT", "smtp"),
        ("TESSERA_EMAIL__SMTP_HOST", "127.0.0.1"),
        ("TESSERA_EMAIL__SMTP_PORT", &port),
    ])
    .await;
    (smtp, app)
}

#[tokio::test]
async fn password_reset_over_smtp_works_once() {
    let (smtp, app) = with_smtp().await;
    let app = &app;
    let request = |email: &'static str| app.request_password_reset("atlas", email);
    // Unknown, malformed and known addresses all get 202.
    assert_eq!(request("nobody@atlas.test").await, 202);
    assert_eq!(request("not an address").await, 202);
    assert_eq!(request("member@atlas.test").await, 202);
    let arrived = eventually(Duration::from_secs(15), || smtp.messages().len() == 1).await;
    let errors = tessera_tests::query_column(
        &app.db.url,
        "SELECT last_error AS v FROM jobs WHERE kind = 'email.send'",
    );
    assert!(
        arrived,
        "one message, for the known address; job errors: {errors:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1, "nothing for unknown addresses");
    // While queued, the message (address, link) was sealed.
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM jobs WHERE kind = 'email.send' AND payload_json LIKE '%member@%'"
        ),
        0
    );

    let (to, subject, text, html) = read_email(&smtp.messages()[0]);
    assert_eq!(to, "member@atlas.test");
    assert!(
        subject.contains("Réinitialisation") && subject.contains("Atlas Gym & Wellness"),
        "French for a French brand: {subject}"
    );
    assert!(
        text.contains("https://atlas-gym.example/reset-password?token="),
        "{text}"
    );
    let html = html.replace("&#x2f;", "/");
    assert!(html.contains("#1F4E79"), "the brand's colour: {html}");
    assert!(
        html.contains("https://atlas-gym.example/brand/atlas/logo.svg"),
        "an absolute logo: {html}"
    );
    assert!(
        html.contains("https://atlas-gym.example/reset-password?token="),
        "{html}"
    );
    let token = token_in(&text);
    assert!(token.len() >= 40);

    let confirm = |token: String, password: &'static str| async move {
        app.post_json(
            Some("atlas"),
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "password": password}),
        )
        .await
    };
    let session = app.login(Some("atlas"), "member@atlas.test").await;
    assert_eq!(confirm(token.clone(), "short").await.0, 422);
    assert_eq!(
        confirm(token.clone(), "a brand new passphrase").await.0,
        204
    );
    let (status, problem) = confirm(token, "another new passphrase").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("invalid_reset_token")),
        "single use"
    );
    // The new password works, the old one does not, and earlier sessions are over.
    let login = |password: &'static str| async move {
        app.try_login(Some("atlas"), "member@atlas.test", password)
            .await
    };
    assert_eq!(login("a brand new passphrase").await.0, 200);
    assert_eq!(login(PASSWORD).await.0, 401);
    let (status, _) = app
        .post_json(
            Some("atlas"),
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": session.refresh}),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_outbox_transport_writes_eml_files() {
    let outbox = tempfile::tempdir().unwrap();
    let app =
        TestApp::spawn_with(&[("TESSERA_EMAIL__OUTBOX_DIR", outbox.path().to_str().unwrap())])
            .await;
    assert_eq!(
        app.request_password_reset("forge", "coach@forge.test")
            .await,
        202
    );
    let written = || {
        std::fs::read_dir(outbox.path())
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert!(eventually(Duration::from_secs(15), || written() == 1).await);
    let file = std::fs::read_dir(outbox.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(file.extension().and_then(|e| e.to_str()), Some("eml"));
    let (to, subject, text, _) = read_email(&file);
    assert_eq!(to, "coach@forge.test");
    assert!(subject.contains("Forge Equipment"), "{subject}");
    assert!(
        text.contains("https://forge-equipment.example/reset-password?token="),
        "{text}"
    );
}

#[tokio::test]
async fn address_verification_over_smtp_works_once() {
    let (smtp, app) = with_smtp().await;
    let token = app.token("lumiere", "member").await;
    // Anonymous callers cannot ask.
    let (status, _) = app
        .post_json(
            Some("lumiere"),
            "/api/v1/me/email-verification",
            None,
            &json!({}),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post_json(
            Some("lumiere"),
            "/api/v1/me/email-verification",
            Some(&token),
            &json!({}),
        )
        .await;
    assert_eq!(status, 202);
    assert!(eventually(Duration::from_secs(15), || smtp.messages().len() == 1).await);
    let (to, subject, text, _) = read_email(&smtp.messages()[0]);
    assert_eq!(to, "member@lumiere.test");
    assert!(subject.contains("Lumière Cosmetics"), "{subject}");
    assert!(
        text.contains("https://lumiere-cosmetics.example/verify-email?token="),
        "{text}"
    );
    let verified = "SELECT count(*) FROM accounts WHERE email = 'member@lumiere.test' AND email_verified_at IS NOT NULL";
    assert_eq!(count(&app.db.url, verified), 0);
    let link_token = token_in(&text);
    let verify = |token: String| {
        let app = &app;
        async move {
            app.post_json(
                Some("lumiere"),
                "/api/v1/auth/verify-email",
                None,
                &json!({"token": token}),
            )
            .await
        }
    };
    assert_eq!(verify(link_token.clone()).await.0, 204);
    assert_eq!(count(&app.db.url, verified), 1);
    let (status, problem) = verify(link_token).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (401, Some("invalid_verification_token")),
        "single use"
    );
}

/// A brand's own wording, from its tenant file, replaces the built-in text; a broken template is refused at apply.
#[tokio::test]
async fn a_brand_can_word_its_own_emails() {
    let (smtp, app) = with_smtp().await;
    let dir = tempfile::tempdir().unwrap();
    let atlas =
        std::fs::read_to_string(tessera_tests::repo_root().join("tenants/atlas.toml")).unwrap();
    let write = |extra: &str| {
        std::fs::write(dir.path().join("atlas.toml"), format!("{atlas}\n{extra}")).unwrap();
    };
    // A misspelt variable, a text without the link: each refused, the error naming its field.
    for (broken, field) in [
        (
            "subject = \"Bonjour {{ nmae }}\"\ntext = \"{{ link }}\"\naction = \"Go\"\n",
            "email_templates.password_reset.fr.subject",
        ),
        (
            "subject = \"Bonjour\"\ntext = \"Pas de lien ici.\"\naction = \"Go\"\n",
            "email_templates.password_reset.fr.text",
        ),
    ] {
        write(&format!(
            "[email_templates.\"password_reset.fr\"]\n{broken}"
        ));
        let out = app.cli(&["tenant", "apply", dir.path().to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(field), "{stderr}");
    }

    write(
        r#"[email_templates."password_reset.fr"]
subject = "{{ brand }} : un nouveau départ pour {{ name }}"
text = """
Bonjour {{ name }},

Votre coach vous attend : choisissez un nouveau mot de passe ({{ minutes }} minutes).

{{ link }}
"""
action = "C'est parti"
"#,
    );
    let out = app.cli(&["tenant", "apply", dir.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The server picks the change up within its refresh interval (1 s in tests).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        app.request_password_reset("atlas", "member@atlas.test")
            .await,
        202
    );
    assert!(eventually(Duration::from_secs(15), || smtp.messages().len() == 1).await);
    let (_, subject, text, html) = read_email(&smtp.messages()[0]);
    assert!(
        subject.starts_with("Atlas Gym & Wellness : un nouveau départ pour"),
        "{subject}"
    );
    assert!(
        text.contains("Votre coach vous attend") && text.contains("60 minutes"),
        "{text}"
    );
    assert!(text.contains("reset-password?token="), "{text}");
    assert!(
        html.contains("C&#x27;est parti") || html.contains("C'est parti"),
        "{html}"
    );
}

/// An invoice e-mail carries the stored PDF, byte for byte, read from storage when the message is sent.
#[tokio::test]
async fn invoice_emails_attach_the_stored_pdf() {
    use sha2::Digest;
    let (smtp, app) = with_smtp().await;
    let admin = app.token("atlas", "admin").await;
    let member_id = tessera_tests::query_column(
        &app.db.url,
        "SELECT id AS v FROM accounts WHERE email = 'member@atlas.test'",
    )[0]
    .clone()
    .unwrap();
    let pdf = b"%PDF-1.7\n% an invoice, as billing will store it\n%%EOF\n".to_vec();
    let file_id = app
        .upload_file(
            "atlas",
            &admin,
            &format!("purpose=invoice_pdf&owner={member_id}"),
            "application/pdf",
            pdf.clone(),
        )
        .await;
    let payload = json!({
        "to": "member@atlas.test", "name": "Camille", "number": "ATL-2026-000042",
        "total": "49,00 €", "file_id": file_id,
    });
    let out = app.cli(&[
        "jobs",
        "enqueue",
        "diagnostic.invoice_email",
        "--tenant",
        "atlas",
        "--payload",
        &payload.to_string(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(eventually(Duration::from_secs(20), || smtp.messages().len() == 1).await);
    let message = &smtp.messages()[0];
    let (to, subject, text, _) = read_email(message);
    assert_eq!(to, "member@atlas.test");
    assert!(
        subject.starts_with("Votre facture ATL-2026-000042"),
        "{subject}"
    );
    assert!(text.contains("49,00 €"), "{text}");
    let attachments = tessera_tests::read_attachments(message);
    assert_eq!(
        attachments,
        vec![(
            "ATL-2026-000042.pdf".to_owned(),
            "application/pdf".to_owned(),
            hex::encode(sha2::Sha256::digest(&pdf)),
        )]
    );
}

#[tokio::test]
async fn a_finalised_invoice_is_emailed_to_its_payer_with_its_pdf_and_staff_can_resend_it() {
    use sha2::Digest;
    let (smtp, app) = with_smtp().await;
    let admin = app.token("atlas", "admin").await;
    let member = crate::billing::member_id(&app, "member").await;
    let line = json!({"description": "Coaching", "quantity": 1, "unit_price": 4000, "vat_code": "standard"});
    let inv = crate::billing::invoice(
        &app,
        &admin,
        &json!({"member_id": member, "lines": [line], "finalise": true}),
    )
    .await;
    let (id, number) = (
        inv["id"].as_str().unwrap().to_owned(),
        inv["number"].as_str().unwrap().to_owned(),
    );
    // Once its PDF is rendered, the document goes to the payer, the PDF attached, in their locale (French).
    let pdf = crate::billing::pdf_of(&app, &admin, &id, "atlas").await;
    assert!(eventually(Duration::from_secs(20), || smtp.messages().len() == 1).await);
    let (to, subject, text, _) = read_email(&smtp.messages()[0]);
    assert_eq!(to, "member@atlas.test");
    assert!(
        subject.starts_with(&format!("Votre facture {number}")),
        "{subject}"
    );
    assert!(
        text.contains("48,00 EUR"),
        "the total with VAT, as French writes it: {text}"
    );
    let pdf_hash = hex::encode(sha2::Sha256::digest(&pdf));
    assert_eq!(
        tessera_tests::read_attachments(&smtp.messages()[0]),
        vec![(
            format!("{number}.pdf"),
            "application/pdf".to_owned(),
            pdf_hash.clone()
        )]
    );

    // Staff resend it to another address: 202, the same PDF.
    let send = |token: &str, body: serde_json::Value| {
        let (app, token, id) = (&app, token.to_owned(), id.clone());
        async move {
            app.post_json(
                Some("atlas"),
                &format!("/api/v1/invoices/{id}/send"),
                Some(&token),
                &body,
            )
            .await
        }
    };
    let (status, body) = send(&admin, json!({"to": "Compta@Example.com"})).await;
    assert_eq!(status, 202, "{body}");
    assert!(eventually(Duration::from_secs(20), || smtp.messages().len() == 2).await);
    // The mail folder does not keep arrival order: pick the resent message by its recipient.
    let resent: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| read_email(m).0 == "compta@example.com")
        .collect();
    assert_eq!(resent.len(), 1, "one message to the address given");
    assert_eq!(tessera_tests::read_attachments(&resent[0])[0].2, pdf_hash);

    // Refused: a bad address (422), a member (403), a draft (409); nothing more is sent.
    let (status, body) = send(&admin, json!({"to": "not an address"})).await;
    assert_eq!(status, 422, "{body}");
    let member_token = app.token("atlas", "member").await;
    let (status, body) = send(&member_token, json!({})).await;
    assert_eq!(status, 403, "{body}");
    let draft = crate::billing::invoice(
        &app,
        &admin,
        &json!({"member_id": member, "lines": [{"description": "Draft", "quantity": 1, "unit_price": 100, "vat_code": "standard"}]}),
    )
    .await;
    let (status, body) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/invoices/{}/send", draft["id"].as_str().unwrap()),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("invoice_not_finalised")),
        "{body}"
    );
    assert_eq!(
        count(
            &app.db.url,
            "SELECT count(*) FROM events WHERE event_type = 'invoice.sent'"
        ),
        2
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 2);

    // A credit note on it reaches the payer too, worded as a credit note (not as an invoice), its PDF attached.
    let (status, note) = app
        .post_json(
            Some("atlas"),
            "/api/v1/credit-notes",
            Some(&admin),
            &json!({"invoice_id": id, "reason": "Séance annulée"}),
        )
        .await;
    assert_eq!(status, 201, "{note}");
    let note_number = note["number"].as_str().unwrap().to_owned();
    let note_pdf =
        crate::billing::pdf_of(&app, &admin, note["id"].as_str().unwrap(), "atlas").await;
    assert!(eventually(Duration::from_secs(20), || smtp.messages().len() == 3).await);
    let credited: Vec<_> = smtp
        .messages()
        .into_iter()
        .filter(|m| read_email(m).1.contains(&note_number))
        .collect();
    assert_eq!(credited.len(), 1, "one message for the credit note");
    let (to, subject, text, _) = read_email(&credited[0]);
    assert_eq!(to, "member@atlas.test");
    assert!(
        subject.starts_with(&format!("Votre avoir {note_number}")),
        "{subject}"
    );
    assert!(
        text.contains(&format!("l'avoir {note_number}")) && !text.contains("Votre facture"),
        "{text}"
    );
    assert_eq!(
        tessera_tests::read_attachments(&credited[0])[0].2,
        hex::encode(sha2::Sha256::digest(&note_pdf))
    );
}
