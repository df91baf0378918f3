//! Master-key rotation: every value sealed with the old master key (signing keys, tenant data keys, webhook
//! secrets, queued e-mails) is opened and sealed again with the new one, in one transaction (system context, a
//! listed use: the operator's `tessera keys rewrap`). Files are not touched: they are encrypted with data keys,
//! which only change wrapping. Signed download URLs, whose key derives from the master key, stop working.
//!
//! It runs on the database alone, before any server starts with the new key (a server cannot start while the
//! signing keys are sealed with a key it does not have). A value that already opens with the new key is left
//! alone, so a second run does nothing; a value that opens with neither key stops the whole rotation.

use serde::Serialize;
use tessera_store::models::sealed::{self, SealedKind, SealedValue};
use tessera_store::{Database, TxMode};

use crate::sealing::MasterKey;
use crate::{AppError, AppResult};

/// What a rotation did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RewrapReport {
    /// Signing keys sealed again.
    pub signing_keys: usize,
    /// Tenant data keys sealed again.
    pub data_keys: usize,
    /// Webhook secrets sealed again.
    pub webhook_secrets: usize,
    /// Queued or kept e-mails sealed again.
    pub emails: usize,
    /// Values that already opened with the new key.
    pub already_rewrapped: usize,
}

/// The context a value was sealed for.
fn context(value: &SealedValue) -> String {
    match value.kind {
        SealedKind::SigningKey => value.id.clone(),
        SealedKind::DataKey => {
            crate::storage::data_keys::data_key_context(&value.tenant_id, &value.id)
        }
        SealedKind::WebhookSecret => crate::webhooks::seal_context(&value.id),
        SealedKind::EmailJob => "email".into(),
    }
}

/// The sealed text inside a stored value (e-mail jobs keep it inside their JSON payload).
fn sealed_text(value: &SealedValue) -> AppResult<String> {
    match value.kind {
        SealedKind::EmailJob => serde_json::from_str::<serde_json::Value>(&value.value)
            .ok()
            .and_then(|p| p["sealed"].as_str().map(str::to_owned))
            .ok_or_else(|| AppError::Internal(format!("job {} has no sealed message", value.id))),
        _ => Ok(value.value.clone()),
    }
}

/// The stored value holding `sealed`.
fn stored_text(value: &SealedValue, sealed: String) -> String {
    match value.kind {
        SealedKind::EmailJob => serde_json::json!({ "sealed": sealed }).to_string(),
        _ => sealed,
    }
}

/// Seals every value again under `new`; all or nothing.
pub fn rewrap(db: &Database, old: &MasterKey, new: &MasterKey) -> AppResult<RewrapReport> {
    db.system(TxMode::Write, |sys| {
        let mut report = RewrapReport::default();
        for value in sealed::all(sys)? {
            let context = context(&value);
            let text = sealed_text(&value)?;
            if new.open(&text, &context).is_ok() {
                report.already_rewrapped += 1;
                continue;
            }
            let plaintext = old.open(&text, &context).map_err(|_| AppError::Conflict {
                code: "master_key_mismatch",
                detail: format!(
                    "{:?} {} opens with neither the old nor the new master key; nothing was changed",
                    value.kind, value.id
                ),
            })?;
            let resealed = stored_text(&value, new.seal(&plaintext, &context)?);
            sealed::update(sys, &value, &resealed)?;
            match value.kind {
                SealedKind::SigningKey => report.signing_keys += 1,
                SealedKind::DataKey => report.data_keys += 1,
                SealedKind::WebhookSecret => report.webhook_secrets += 1,
                SealedKind::EmailJob => report.emails += 1,
            }
        }
        Ok(report)
    })
}
