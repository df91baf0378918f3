//! One-off purchases paid on-session: a paid appointment booked with `pay_online` gets its own invoice at once,
//! held as `pending_payment`; the member pays it through `POST /api/v1/invoices/{id}/pay` (a PaymentIntent the
//! browser or app confirms), and only when that payment succeeds does the appointment become `booked`
//! ([`confirm_paid_in`], called where every successful payment is applied, whichever way it arrives).

use chrono::{DateTime, Utc};
use tessera_store::models::appointments::{self, AppointmentRow};
use tessera_store::models::invoices::{self, InvoiceRow};
use tessera_store::Scoped;

use super::documents::{issue_own_invoice_in, NewLine, OwnInvoice};
use crate::audit::{self, Event};
use crate::tenants::Tenant;
use crate::{App, AppResult, Ctx};

/// Invoices `appointment` (one `service` line at its price, the brand's service VAT), finalised now, payable by
/// the member or their guardian. The billing key makes a second call return the same invoice.
pub(crate) fn invoice_appointment_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    appointment: &AppointmentRow,
    description: String,
    now: DateTime<Utc>,
) -> AppResult<InvoiceRow> {
    let key = format!("appointment:{}", appointment.id);
    if let Some(existing) = invoices::by_billing_key(s, &key)? {
        return Ok(existing);
    }
    let own = OwnInvoice {
        account_id: appointment.member_id.clone(),
        currency: appointment.price_currency.clone(),
        lines: vec![NewLine {
            item: "service".into(),
            description,
            goods: false,
            quantity: 1,
            unit_price: appointment.price_amount,
            vat_code: tenant.config.billing.service_vat.clone(),
        }],
        membership_id: None,
        billing_key: key,
        period: None,
        created_by: Some(appointment.created_by.clone()),
    };
    issue_own_invoice_in(s, ctx, app, tenant, own, now)
}

/// Gives what `invoice_id` paid for: its `pending_payment` appointments become `booked`. One whose hold ended
/// meanwhile is booked too when its slot is still free; otherwise it stays `expired` and staff are told
/// (`booking.paid_after_expiry`) to refund or rebook, since the money is in.
pub(crate) fn confirm_paid_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant: &Tenant,
    invoice_id: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for mut appointment in appointments::of_invoice(s, invoice_id)? {
        let free = match appointment.status.as_str() {
            "pending_payment" => true,
            "expired" => {
                crate::scheduling::appointments::slot_still_free_in(s, tenant, &appointment)?
            }
            _ => continue,
        };
        let data = serde_json::json!({ "kind": "appointment", "appointment_id": appointment.id,
            "invoice_id": invoice_id, "starts_at": tessera_store::utc(appointment.starts_at) });
        if !free {
            crate::events::publish(
                s,
                ctx,
                "booking.paid_after_expiry",
                Some(&appointment.member_id),
                data,
                now,
            )?;
            continue;
        }
        appointment.status = "booked".into();
        appointment.hold_until = None;
        appointment.updated_at = crate::naive(now);
        appointments::update(s, &appointment)?;
        audit::record(
            s,
            ctx,
            Event::on("appointment.paid", "appointment", &appointment.id),
            now,
        )?;
        crate::events::publish(
            s,
            ctx,
            "booking.confirmed",
            Some(&appointment.member_id),
            data,
            now,
        )?;
    }
    Ok(())
}
