//! Incoming Stripe webhooks (`POST /api/v1/payments/stripe/webhook` on the brand's host). The signature is
//! checked on the raw body; each event is applied once, in the transaction that records its id, however many
//! times, in whatever order and however concurrently it is delivered. For payments, the PaymentIntent's current
//! state is fetched from Stripe and applied, not the event's snapshot, so that an old event delivered late
//! cannot undo a newer state.

use tessera_store::models::payments::{self, BillingProfileRow};
use tessera_store::TxMode;

use super::charges::apply_outcome_in;
use super::provider::{provider_for, Outcome, PaymentState};
use crate::{naive, App, AppError, AppResult, Ctx};

/// What happened to a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookResult {
    /// Applied now.
    Applied,
    /// Seen before: nothing changed.
    Duplicate,
    /// A type Tessera does not act on (acknowledged).
    Ignored,
}

impl App {
    /// Verifies and applies one Stripe webhook delivery for the request's brand.
    pub async fn stripe_webhook(
        &self,
        ctx: &Ctx,
        payload: &str,
        signature: &str,
    ) -> AppResult<WebhookResult> {
        let tenant = self.tenant_for(ctx)?;
        let provider = provider_for(self, &tenant)?.ok_or(AppError::NotFound("webhook"))?;
        let event = provider.verify_webhook(payload, signature)?;
        // Fetch what the event is about first (network), then claim and apply in one transaction.
        let state: Option<PaymentState> = if event.event_type.starts_with("payment_intent.") {
            Some(provider.payment_state(&event.object_id).await?)
        } else {
            None
        };
        // A method to keep: confirmed by a SetupIntent, or used for a successful first payment.
        let method_ref = match (&event.saved_method, &state) {
            (Some((_, pm)), _) if event.event_type == "setup_intent.succeeded" => Some(pm.clone()),
            (_, Some(st)) if matches!(st.outcome, Outcome::Succeeded { .. }) => {
                st.payment_method.clone()
            }
            _ => None,
        };
        let method = match method_ref {
            Some(pm) => Some(provider.payment_method(&pm).await?),
            None => None,
        };
        let now = self.clock().now();
        let (ctx, app, t) = (ctx.clone(), self.clone(), tenant.clone());
        self.blocking(move |db| {
            db.scoped(&t.id, TxMode::Write, |s| {
                if !payments::claim_stripe_event(s, &event.id, &event.event_type, &event.object_id, naive(now))? {
                    return Ok(WebhookResult::Duplicate);
                }
                if let Some(state) = state {
                    let payment_id = match state.payment_id.clone().or(event.payment_id.clone()) {
                        Some(id) => Some(id),
                        None => payments::by_provider_ref_locked(s, &event.object_id)?.map(|p| p.id),
                    };
                    let Some(id) = payment_id else {
                        return Ok(WebhookResult::Ignored);
                    };
                    let payment = apply_outcome_in(s, &ctx, &app, &t, &id, &state.outcome, now)?;
                    if let (Some(payment), Some(method)) = (payment, method) {
                        if let Some(mut profile) = payments::profile(s, &payment.account_id)? {
                            if profile.payment_method_ref.is_none() {
                                save_method(&mut profile, &method, now);
                                payments::save_profile(s, &profile)?;
                            }
                        }
                    }
                    return Ok(WebhookResult::Applied);
                }
                if let (Some((customer, _)), Some(method)) = (&event.saved_method, method) {
                    let Some(mut profile) = payments::profile_by_customer(s, customer)? else {
                        return Ok(WebhookResult::Ignored);
                    };
                    save_method(&mut profile, &method, now);
                    payments::save_profile(s, &profile)?;
                    let data = serde_json::json!({ "kind": method.kind, "brand": method.brand, "last4": method.last4 });
                    crate::events::publish(s, &ctx, "billing.payment_method_saved", Some(&profile.account_id), data, now)?;
                    return Ok(WebhookResult::Applied);
                }
                Ok(WebhookResult::Ignored)
            })
        })
        .await
    }
}

fn save_method(
    profile: &mut BillingProfileRow,
    method: &super::provider::SavedMethod,
    now: chrono::DateTime<chrono::Utc>,
) {
    profile.payment_method_ref = Some(method.reference.clone());
    profile.method_kind = Some(method.kind.clone());
    profile.card_brand = method.brand.clone();
    profile.card_last4 = method.last4.clone();
    profile.card_exp_month = method.exp_month;
    profile.card_exp_year = method.exp_year;
    profile.expiry_notified_on = None;
    profile.updated_at = naive(now);
}
