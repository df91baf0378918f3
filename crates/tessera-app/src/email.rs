//! Outgoing e-mail. Messages are rendered from templates per brand and locale (French and English, with the
//! brand's name, logo and colours, in HTML and plain text), sealed with the master key (the address and any
//! single-use link are secrets while they wait) and queued as `email.send` jobs, which send them over SMTP or
//! write them as `.eml` files into the outbox folder, retried like every job.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use tessera_store::{Scoped, TxMode};

use crate::jobs::{JobError, NewJob};
use crate::tenants::Tenant;
use crate::{App, AppError, AppResult};

/// A rendered message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingEmail {
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Stored files attached to the message (read when it is sent).
    #[serde(default)]
    pub attachments: Vec<EmailAttachment>,
}

/// A stored file to attach.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailAttachment {
    /// The file (`fil_...`) in the message's realm.
    pub file_id: String,
    /// The name the recipient sees.
    pub filename: String,
    /// Its media type.
    pub content_type: String,
}

/// `fr` for French locales, `en` otherwise.
fn language(locale: &str) -> &'static str {
    if locale.starts_with("fr") {
        "fr"
    } else {
        "en"
    }
}

/// The base URL of a brand's links: `email.link_base` with `{host}` replaced by the brand's first domain, else
/// `<slug>.localhost:8080` (the demo).
pub fn link_base(app: &App, tenant: &Tenant) -> String {
    let host = tenant
        .config
        .domains
        .first()
        .cloned()
        .unwrap_or_else(|| format!("{}.localhost:8080", tenant.slug));
    let base = app.settings().email.link_base.replace("{host}", &host);
    if tenant.config.domains.is_empty() && base.starts_with("https://") {
        // A `.localhost` host has no certificate.
        base.replacen("https://", "http://", 1)
    } else {
        base
    }
}

/// The password-reset message.
/// Which message to render.
#[derive(Debug, Clone, Copy)]
pub enum Template {
    /// A single-use link to choose a new password.
    PasswordReset,
    /// A single-use link that proves the address.
    VerifyEmail,
    /// An invoice, attached as a PDF, with a link to the customer's account.
    Invoice,
    /// A credit note (a refund or a correction of an invoice), attached as a PDF.
    CreditNote,
}

impl Template {
    /// The name brands use for it in `email_templates`.
    fn key(self) -> &'static str {
        match self {
            Template::PasswordReset => "password_reset",
            Template::VerifyEmail => "verify_email",
            Template::Invoice => "invoice",
            Template::CreditNote => "credit_note",
        }
    }

    fn text(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Template::PasswordReset, "fr") => include_str!("../templates/password_reset.fr.txt"),
            (Template::PasswordReset, _) => include_str!("../templates/password_reset.en.txt"),
            (Template::VerifyEmail, "fr") => include_str!("../templates/verify_email.fr.txt"),
            (Template::VerifyEmail, _) => include_str!("../templates/verify_email.en.txt"),
            (Template::Invoice, "fr") => include_str!("../templates/invoice.fr.txt"),
            (Template::Invoice, _) => include_str!("../templates/invoice.en.txt"),
            (Template::CreditNote, "fr") => include_str!("../templates/credit_note.fr.txt"),
            (Template::CreditNote, _) => include_str!("../templates/credit_note.en.txt"),
        }
    }

    /// The built-in subject (a template over the message's values) and button label.
    fn subject_and_action(self, lang: &str) -> (&'static str, &'static str) {
        match (self, lang) {
            (Template::PasswordReset, "fr") => (
                "Réinitialisation de votre mot de passe {{ brand }}",
                "Choisir un nouveau mot de passe",
            ),
            (Template::PasswordReset, _) => {
                ("Reset your {{ brand }} password", "Choose a new password")
            }
            (Template::VerifyEmail, "fr") => (
                "Confirmez votre adresse pour {{ brand }}",
                "Confirmer mon adresse",
            ),
            (Template::VerifyEmail, _) => {
                ("Confirm your address for {{ brand }}", "Confirm my address")
            }
            (Template::Invoice, "fr") => (
                "Votre facture {{ number }} – {{ brand }}",
                "Voir ma facture",
            ),
            (Template::Invoice, _) => {
                ("Your invoice {{ number }} – {{ brand }}", "View my invoice")
            }
            (Template::CreditNote, "fr") => {
                ("Votre avoir {{ number }} – {{ brand }}", "Voir mon avoir")
            }
            (Template::CreditNote, _) => (
                "Your credit note {{ number }} – {{ brand }}",
                "View my credit note",
            ),
        }
    }

    /// Sample values of every variable the message offers, for checking a brand's own wording at apply.
    fn sample_values(self, brand: &str) -> minijinja::Value {
        let link = "https://example.invalid/x?token=t";
        match self {
            Template::PasswordReset | Template::VerifyEmail => {
                minijinja::context! { name => "Camille", brand, link, minutes => 60 }
            }
            Template::Invoice | Template::CreditNote => {
                minijinja::context! { name => "Camille", brand, link, number => "ATL-2026-000042", total => "49,00 €", due_date => "2026-12-01" }
            }
        }
    }

    /// Every message.
    const ALL: [Template; 4] = [
        Template::PasswordReset,
        Template::VerifyEmail,
        Template::Invoice,
        Template::CreditNote,
    ];
}

/// A message with a single-use link, in the locale's language, branded. `base` makes the brand's logo path
/// absolute (e-mail clients have no page to resolve it against).
pub struct LinkMessage<'a> {
    /// Which message.
    pub template: Template,
    /// The brand.
    pub tenant: &'a Tenant,
    /// Base of the brand's links.
    pub base: &'a str,
    /// The recipient's locale.
    pub locale: &'a str,
    /// Recipient address.
    pub to: &'a str,
    /// Recipient's name.
    pub name: &'a str,
    /// The link.
    pub link: &'a str,
    /// How long the link works.
    pub minutes: i64,
}

/// Renders a [`LinkMessage`].
pub fn link_message(m: &LinkMessage<'_>) -> AppResult<OutgoingEmail> {
    let values = minijinja::context! { name => m.name, brand => m.tenant.display_name, link => m.link, minutes => m.minutes };
    compose(
        m.template,
        m.tenant,
        m.base,
        m.locale,
        m.to,
        m.link,
        &values,
        Vec::new(),
    )
}

/// An invoice or credit-note e-mail: the PDF attached, a link to the customer's account. Billing sends it when
/// the document's PDF is rendered (and on "resend").
pub struct InvoiceMessage<'a> {
    /// [`Template::Invoice`] or [`Template::CreditNote`].
    pub template: Template,
    /// The brand.
    pub tenant: &'a Tenant,
    /// Base of the brand's links.
    pub base: &'a str,
    /// The customer's locale.
    pub locale: &'a str,
    /// Recipient address.
    pub to: &'a str,
    /// Recipient's name.
    pub name: &'a str,
    /// Invoice number.
    pub number: &'a str,
    /// Total including VAT, formatted for the locale.
    pub total: &'a str,
    /// Due date, formatted for the locale.
    pub due_date: Option<&'a str>,
    /// Where the customer sees it.
    pub link: &'a str,
    /// The stored PDF.
    pub pdf: EmailAttachment,
}

/// Renders an [`InvoiceMessage`].
pub fn invoice_message(m: &InvoiceMessage<'_>) -> AppResult<OutgoingEmail> {
    let values = minijinja::context! {
        name => m.name, brand => m.tenant.display_name, link => m.link,
        number => m.number, total => m.total, due_date => m.due_date,
    };
    compose(
        m.template,
        m.tenant,
        m.base,
        m.locale,
        m.to,
        m.link,
        &values,
        vec![m.pdf.clone()],
    )
}

/// Renders a message in the locale's language: the brand's own wording when its tenant file has one for this
/// message and language, else the built-in text; the HTML version is built from the text's paragraphs in the
/// brand's colours.
#[allow(clippy::too_many_arguments)]
fn compose(
    template: Template,
    tenant: &Tenant,
    base: &str,
    locale: &str,
    to: &str,
    link: &str,
    values: &minijinja::Value,
    attachments: Vec<EmailAttachment>,
) -> AppResult<OutgoingEmail> {
    let lang = language(locale);
    let own = tenant
        .config
        .email_templates
        .get(&format!("{}.{lang}", template.key()));
    let (subject, action, text) = match own {
        Some(own) => (
            render("subject.txt", &own.subject, values)?,
            own.action.clone(),
            render("message.txt", &own.text, values)?,
        ),
        None => {
            let (subject, action) = template.subject_and_action(lang);
            (
                render("subject.txt", subject, values)?,
                action.to_owned(),
                render("message.txt", template.text(lang), values)?,
            )
        }
    };
    let subject = subject.lines().next().unwrap_or_default().trim().to_owned();
    let paragraphs: Vec<&str> = text
        .split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty() && *p != link)
        .collect();
    let branding = &tenant.config.branding;
    let logo_url = branding.logo_url.as_ref().map(|logo| {
        if logo.starts_with('/') {
            format!("{base}{logo}")
        } else {
            logo.clone()
        }
    });
    let html = render(
        "layout.html",
        include_str!("../templates/layout.html"),
        &minijinja::context! {
            lang, subject, paragraphs, action, logo_url, link,
            brand => tenant.display_name,
            primary_color => branding.primary_color,
            accent_color => branding.accent_color,
        },
    )?;
    Ok(OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html,
        attachments,
    })
}

/// Checks that a brand's e-mail templates compile and render with sample values; errors name the field.
pub fn check_templates(
    config: &tessera_domain::tenant::TenantConfig,
) -> Vec<tessera_domain::FieldError> {
    let mut errors = Vec::new();
    for (key, template) in &config.email_templates {
        let Some(message) = Template::ALL
            .into_iter()
            .find(|t| key.split('.').next() == Some(t.key()))
        else {
            // The domain's validation names unknown keys.
            continue;
        };
        let context = message.sample_values(&config.display_name);
        for (part, source) in [("subject", &template.subject), ("text", &template.text)] {
            if let Err(error) = render("check.txt", source, &context) {
                errors.push(tessera_domain::FieldError::new(
                    format!("email_templates.{key}.{part}"),
                    "invalid_template",
                    error.to_string(),
                ));
            }
        }
    }
    errors
}

/// Renders `template`; `name` ends in `.html` for HTML-escaped output, `.txt` for plain text.
fn render(name: &str, template: &str, context: &minijinja::Value) -> AppResult<String> {
    let mut env = minijinja::Environment::new();
    // A misspelt variable in a brand's template is an error at apply, not a blank in a customer's e-mail.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env.add_template(name, template)
        .map_err(|e| AppError::Internal(format!("template: {e}")))?;
    env.get_template(name)
        .and_then(|t| t.render(context))
        .map_err(|e| AppError::Internal(format!("template: {e}")))
}

/// Queues `email` for sending, sealed, in the caller's transaction.
pub fn queue(
    app: &App,
    s: &mut Scoped<'_>,
    email: &OutgoingEmail,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let json = serde_json::to_vec(email).map_err(|e| AppError::Internal(e.to_string()))?;
    let sealed = app.master().seal(&json, "email")?;
    let job = NewJob::new("email.send", serde_json::json!({ "sealed": sealed }));
    crate::jobs::enqueue(s, &job, app.settings().jobs.default_max_attempts, now)?;
    Ok(())
}

/// The `email.send` job: opens the message and hands it to the configured transport.
pub(crate) async fn send(
    app: &App,
    realm_key: &str,
    payload: &serde_json::Value,
) -> Result<(), JobError> {
    let sealed = payload["sealed"]
        .as_str()
        .ok_or_else(|| JobError::Permanent("no sealed message".into()))?;
    let json = app
        .master()
        .open(sealed, "email")
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let email: OutgoingEmail =
        serde_json::from_slice(&json).map_err(|e| JobError::Permanent(e.to_string()))?;
    let settings = &app.settings().email;
    let permanent =
        |what: &str, e: &dyn std::fmt::Display| JobError::Permanent(format!("{what}: {e}"));
    let attachments = read_attachments(app, realm_key, &email.attachments).await?;
    let message = Message::builder()
        .from(
            settings
                .from
                .parse::<Mailbox>()
                .map_err(|e| permanent("email.from", &e))?,
        )
        .to(email
            .to
            .parse::<Mailbox>()
            .map_err(|e| permanent("recipient", &e))?)
        .subject(email.subject)
        .multipart(with_attachments(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(email.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(email.html),
                ),
            attachments,
        ))
        .map_err(|e| permanent("message", &e))?;
    let retry = |e: &dyn std::fmt::Display| JobError::Retry(format!("sending: {e}"));
    match settings.transport.as_str() {
        "smtp" => {
            let builder = match settings.smtp_tls.as_str() {
                "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.smtp_host)
                    .map_err(|e| permanent("smtp", &e))?,
                "starttls" => {
                    AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.smtp_host)
                        .map_err(|e| permanent("smtp", &e))?
                }
                _ => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.smtp_host),
            };
            let mut builder = builder.port(settings.smtp_port);
            if let (Some(user), Some(password)) = (&settings.smtp_username, &settings.smtp_password)
            {
                use secrecy::ExposeSecret;
                builder =
                    builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                        user.clone(),
                        password.expose_secret().to_owned(),
                    ));
            }
            builder.build().send(message).await.map_err(|e| retry(&e))?;
        }
        _ => {
            tokio::fs::create_dir_all(&settings.outbox_dir)
                .await
                .map_err(|e| retry(&e))?;
            AsyncFileTransport::<Tokio1Executor>::new(&settings.outbox_dir)
                .send(message)
                .await
                .map_err(|e| retry(&e))?;
        }
    }
    Ok(())
}

/// `diagnostic.invoice_email`: queues an invoice e-mail for a stored PDF, as billing will when it finalises an
/// invoice (tests only, until billing exists). Payload: `to`, `name`, `number`, `total`, `file_id`.
pub(crate) async fn diagnostic_invoice(
    app: &App,
    realm_key: &str,
    payload: &serde_json::Value,
) -> AppResult<()> {
    let text = |key: &str| payload[key].as_str().unwrap_or_default().to_owned();
    let tenant = app
        .tenants()
        .by_id(realm_key)
        .ok_or(AppError::NotFound("tenant"))?;
    let base = link_base(app, &tenant);
    let number = text("number");
    let email = invoice_message(&InvoiceMessage {
        template: Template::Invoice,
        tenant: &tenant,
        base: &base,
        locale: &tenant.config.default_locale,
        to: &text("to"),
        name: &text("name"),
        number: &number,
        total: &text("total"),
        due_date: None,
        link: &format!("{base}/invoices/{number}"),
        pdf: EmailAttachment {
            file_id: text("file_id"),
            filename: format!("{number}.pdf"),
            content_type: "application/pdf".into(),
        },
    })?;
    let (app2, realm, now) = (app.clone(), realm_key.to_owned(), app.clock().now());
    app.blocking(move |db| db.scoped(&realm, TxMode::Write, |s| queue(&app2, s, &email, now)))
        .await
}

/// Largest attachment: mail servers refuse more (25 MB is a common limit), and it is held in memory to send.
const MAX_ATTACHMENT_BYTES: i64 = 20 * 1024 * 1024;

/// The attachments' bytes, read from storage now (a file deleted since makes the message fail for good).
async fn read_attachments(
    app: &App,
    realm_key: &str,
    attachments: &[EmailAttachment],
) -> Result<Vec<(EmailAttachment, Vec<u8>)>, JobError> {
    use futures::TryStreamExt;
    let mut read = Vec::with_capacity(attachments.len());
    for attachment in attachments {
        let download = app
            .open_file(realm_key, &attachment.file_id, "e-mail attachment")
            .await
            .map_err(|e| match e {
                AppError::NotFound(_) => {
                    JobError::Permanent(format!("attachment {} is gone", attachment.file_id))
                }
                other => JobError::Retry(format!("attachment: {other}")),
            })?;
        if download.file.size_bytes > MAX_ATTACHMENT_BYTES {
            return Err(JobError::Permanent(format!(
                "attachment {} is {} bytes, over the {MAX_ATTACHMENT_BYTES}-byte limit of e-mails",
                attachment.file_id, download.file.size_bytes
            )));
        }
        let chunks: Vec<bytes::Bytes> = download
            .body
            .try_collect()
            .await
            .map_err(|e| JobError::Retry(format!("attachment: {e}")))?;
        read.push((attachment.clone(), chunks.concat()));
    }
    Ok(read)
}

/// The message's body: the text and HTML alternatives, inside a `multipart/mixed` with the attachments when
/// there are any.
fn with_attachments(
    alternative: MultiPart,
    attachments: Vec<(EmailAttachment, Vec<u8>)>,
) -> MultiPart {
    if attachments.is_empty() {
        return alternative;
    }
    let mut mixed = MultiPart::mixed().multipart(alternative);
    for (attachment, bytes) in attachments {
        let content_type = ContentType::parse(&attachment.content_type)
            // Purposes accept only well-formed types, checked at upload.
            .unwrap_or(ContentType::TEXT_PLAIN);
        mixed = mixed.singlepart(
            lettre::message::Attachment::new(attachment.filename).body(bytes, content_type),
        );
    }
    mixed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_variables_are_errors() {
        let context = minijinja::context! { name => "Camille" };
        assert_eq!(
            render("t.txt", "Hi {{ name }}", &context).unwrap(),
            "Hi Camille"
        );
        assert!(render("t.txt", "Hi {{ nmae }}", &context).is_err());
    }

    fn atlas() -> Tenant {
        let config = tessera_domain::tenant::TenantConfig::parse_toml(include_str!(
            "../../../tenants/atlas.toml"
        ))
        .unwrap();
        Tenant {
            id: "ten_test".into(),
            slug: config.slug.clone(),
            display_name: config.display_name.clone(),
            revision: 1,
            config,
        }
    }

    #[test]
    fn invoice_messages_carry_the_pdf_in_the_customer_language() {
        let tenant = atlas();
        let pdf = EmailAttachment {
            file_id: "fil_x".into(),
            filename: "ATL-2026-000042.pdf".into(),
            content_type: "application/pdf".into(),
        };
        let message = |locale| InvoiceMessage {
            template: Template::Invoice,
            tenant: &tenant,
            base: "https://atlas-gym.example",
            locale,
            to: "camille@example.com",
            name: "Camille",
            number: "ATL-2026-000042",
            total: "49,00 €",
            due_date: Some("1 décembre 2026"),
            link: "https://atlas-gym.example/invoices/inv_1",
            pdf: pdf.clone(),
        };
        let fr = invoice_message(&message("fr-FR")).unwrap();
        assert_eq!(
            fr.subject,
            "Votre facture ATL-2026-000042 – Atlas Gym & Wellness"
        );
        assert!(fr.text.contains("49,00 €") && fr.text.contains("Échéance : 1 décembre 2026"));
        assert!(fr.html.contains("Voir ma facture"));
        assert_eq!(fr.attachments.len(), 1);
        let en = invoice_message(&message("en-GB")).unwrap();
        assert!(en.subject.starts_with("Your invoice ATL-2026-000042"));
        assert!(en.text.contains("https://atlas-gym.example/invoices/inv_1"));
        let credit = |locale| InvoiceMessage {
            template: Template::CreditNote,
            number: "ATL-AV-2026-000003",
            ..message(locale)
        };
        let fr = invoice_message(&credit("fr-FR")).unwrap();
        assert_eq!(
            fr.subject,
            "Votre avoir ATL-AV-2026-000003 – Atlas Gym & Wellness"
        );
        assert!(fr.text.contains("l'avoir ATL-AV-2026-000003") && !fr.text.contains("facture ATL"));
        assert!(fr.html.contains("Voir mon avoir"));
        let en = invoice_message(&credit("en-GB")).unwrap();
        assert!(en
            .subject
            .starts_with("Your credit note ATL-AV-2026-000003"));
        assert!(en
            .text
            .contains("credit note ATL-AV-2026-000003 for 49,00 €"));
        assert_eq!(en.attachments.len(), 1);
    }
}
