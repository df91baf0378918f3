//! Invoice and credit-note e-mails: once a finalised document's PDF is rendered, it is e-mailed to the payer with
//! the PDF attached, in the document's locale, through the e-mail service (queued in the transaction that stores
//! the PDF); staff can send it again, to the payer or another address (`POST /api/v1/invoices/{id}/send`).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tessera_domain::role::Permission;
use tessera_domain::values::EmailAddress;
use tessera_store::models::accounts;
use tessera_store::models::invoices::{self, InvoiceRow};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::email::{self, EmailAttachment, InvoiceMessage, Template};
use crate::tenants::Tenant;
use crate::{App, AppError, AppResult, Ctx};

/// Body of `POST /api/v1/invoices/{id}/send`: `{}` sends to the payer, `{"to": "addr"}` elsewhere.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInvoice {
    /// Another recipient than the payer (an accountant, a company's billing address).
    pub to: Option<String>,
}

/// An amount in minor units as the locale writes it: `59,88 EUR` in French, `EUR 59.88` otherwise.
fn money_text(amount: i64, currency: &str, locale: &str) -> String {
    let (units, cents) = (amount / 100, (amount % 100).abs());
    if locale.starts_with("fr") {
        format!("{units},{cents:02} {currency}")
    } else {
        format!("{currency} {units}.{cents:02}")
    }
}

/// Queues the e-mail of a finalised document whose PDF is stored, to `to` or else the payer, and publishes
/// `invoice.sent`. Returns false (nothing queued) when the PDF is not rendered yet.
pub(crate) fn queue_document_email_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    row: &InvoiceRow,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let (Some(file_id), Some(number)) = (&row.pdf_file_id, &row.number) else {
        return Ok(false);
    };
    let payer = accounts::find(s, &row.payer_account_id)?.ok_or(AppError::NotFound("account"))?;
    let base = email::link_base(app, tenant);
    let total = money_text(row.total_incl, &row.currency, &row.locale);
    let due = row.due_on.map(|d| {
        if row.locale.starts_with("fr") {
            d.format("%d/%m/%Y").to_string()
        } else {
            d.to_string()
        }
    });
    let template = if row.kind == "credit_note" {
        Template::CreditNote
    } else {
        Template::Invoice
    };
    let message = email::invoice_message(&InvoiceMessage {
        template,
        tenant,
        base: &base,
        locale: &row.locale,
        to: to.unwrap_or(&payer.email),
        name: &payer.display_name,
        number,
        total: &total,
        due_date: due.as_deref(),
        link: &format!("{base}/invoices/{}", row.id),
        pdf: EmailAttachment {
            file_id: file_id.clone(),
            filename: format!("{number}.pdf"),
            content_type: "application/pdf".into(),
        },
    })?;
    email::queue(app, s, &message, now)?;
    // The address stays out of the event (it is the payer's, or given by staff): the payer is its subject.
    let data = serde_json::json!({ "invoice_id": row.id, "kind": row.kind, "number": number,
        "to_payer": to.is_none() });
    crate::events::publish(
        s,
        ctx,
        "invoice.sent",
        Some(&row.payer_account_id),
        data,
        now,
    )?;
    Ok(true)
}

impl App {
    /// Sends a finalised document's e-mail again (`invoices.manage`): to the payer, or to `to`. 409
    /// `invoice_not_finalised` for a draft, `pdf_not_ready` while its PDF is being rendered.
    pub async fn send_invoice(&self, ctx: &Ctx, id: &str, input: SendInvoice) -> AppResult<()> {
        let tenant = self.tenant_for(ctx)?;
        let to = match input.to.as_deref() {
            Some(raw) => Some(
                EmailAddress::parse(raw)
                    .map_err(|e| AppError::invalid("to", e))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::InvoicesManage)?;
                let row = invoices::find(s, &id)?.ok_or(AppError::NotFound("invoice"))?;
                if row.status == "draft" {
                    return Err(AppError::Conflict {
                        code: "invoice_not_finalised",
                        detail: "a draft is not sent: finalise it first".into(),
                    });
                }
                if !queue_document_email_in(s, &ctx, &app, &tenant, &row, to.as_deref(), now)? {
                    return Err(AppError::Conflict {
                        code: "pdf_not_ready",
                        detail: "the PDF of this document is being rendered; try again in a moment"
                            .into(),
                    });
                }
                let event = Event::on("invoice.resent", "invoice", &row.id)
                    .with(serde_json::json!({ "to_payer": to.is_none() }));
                audit::record(s, &ctx, event, now)?;
                Ok(())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::money_text;

    #[test]
    fn amounts_are_written_as_the_locale_writes_them() {
        assert_eq!(money_text(5988, "EUR", "fr"), "59,88 EUR");
        assert_eq!(money_text(5988, "EUR", "en"), "EUR 59.88");
        assert_eq!(money_text(-505, "EUR", "en"), "EUR -5.05");
        assert_eq!(money_text(7, "GBP", "en"), "GBP 0.07");
    }
}
