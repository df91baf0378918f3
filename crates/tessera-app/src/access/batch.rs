//! `POST /api/v1/access/checkins/batch`: a door uploads what it decided while offline. Entries already happened,
//! so none is rejected for breaking a rule: each is stored as the door decided it, and flagged for staff when
//! the server, deciding again with what it knows (a credential revoked meanwhile, anti-passback, a suspended
//! membership), would have refused it. Uploads are idempotent: an entry id a door already sent adds nothing.
//! A malformed entry refuses the whole batch (422 naming it), with nothing written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::access::credential::ByteOrder;
use tessera_domain::access::{CredentialState, Direction};
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::access::{self as store, AccessEventRow};
use tessera_store::TxMode;

use super::{concurrent, gather, is_concurrent, read_credential, CredentialInput, Presented};
use crate::{naive, App, AppError, AppResult, Ctx};

/// Most entries in one upload.
pub const MAX_BATCH: usize = 5_000;

/// One offline decision.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineEntry {
    /// The door's own id for it, unique per door (a UUID or a counter): uploads are idempotent by it.
    pub id: String,
    /// What the reader read.
    pub credential: CredentialInput,
    /// `in` or `out`.
    pub direction: Direction,
    /// When (the door's clock, RFC 3339).
    pub occurred_at: DateTime<Utc>,
    /// What the door did: `allow` or `deny`.
    pub decision: String,
    /// The door's reason code for a refusal.
    pub reason: Option<String>,
}

/// An upload.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfflineBatch {
    /// The entries, any order.
    pub entries: Vec<OfflineEntry>,
}

/// A flagged entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FlaggedEntry {
    /// The door's id for it.
    pub id: String,
    /// The recorded event.
    pub event_id: String,
    /// What the server would have refused it for.
    pub reason: String,
}

/// What an upload did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchOutcome {
    /// Entries received.
    pub received: usize,
    /// Entries stored now.
    pub recorded: usize,
    /// Entries stored by an earlier upload.
    pub duplicates: usize,
    /// Entries stored and flagged for staff.
    pub flagged: Vec<FlaggedEntry>,
}

fn check(batch: &OfflineBatch) -> AppResult<()> {
    let mut errors = FieldErrors::default();
    if batch.entries.len() > MAX_BATCH {
        errors.push(FieldError::new(
            "entries",
            "too_many",
            format!("at most {MAX_BATCH} entries per upload"),
        ));
    }
    for (i, e) in batch.entries.iter().enumerate() {
        if e.id.is_empty() || e.id.len() > 100 {
            errors.push(FieldError::new(
                format!("entries[{i}].id"),
                "invalid_id",
                "1 to 100 characters",
            ));
        }
        if !matches!(e.decision.as_str(), "allow" | "deny") {
            errors.push(FieldError::new(
                format!("entries[{i}].decision"),
                "invalid_decision",
                "allow or deny",
            ));
        }
        if let Some(reason) = &e.reason {
            if tessera_domain::access::Reason::parse(reason).is_none() {
                errors.push(FieldError::new(
                    format!("entries[{i}].reason"),
                    "unknown_reason",
                    "a reason code of docs/devices.md",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.into())
    }
}

impl App {
    /// Stores a door's offline decisions (see the module's documentation).
    pub async fn upload_offline_batch(
        &self,
        ctx: &Ctx,
        batch: OfflineBatch,
    ) -> AppResult<BatchOutcome> {
        check(&batch)?;
        match self.upload_once(ctx, &batch).await {
            // The same batch sent twice at once: the second waits for the first's key, then finds duplicates.
            Err(e) if is_concurrent(&e) => self.upload_once(ctx, &batch).await,
            other => other,
        }
    }

    async fn upload_once(&self, ctx: &Ctx, batch: &OfflineBatch) -> AppResult<BatchOutcome> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        // Its entries are weighed against the door's online decisions, which may still be on their way.
        self.door_records_written(&tenant).await;
        let now = self.clock().now();
        let (ctx, batch) = (ctx.clone(), batch.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let device = crate::devices::calling_device(s, &ctx)?;
                let order = ByteOrder::parse(&device.nfc_byte_order).unwrap_or(ByteOrder::Msb);
                let mut entries: Vec<(usize, &OfflineEntry)> =
                    batch.entries.iter().enumerate().collect();
                entries.sort_by_key(|(_, e)| e.occurred_at);
                let mut outcome = BatchOutcome {
                    received: entries.len(),
                    recorded: 0,
                    duplicates: 0,
                    flagged: Vec::new(),
                };
                for (i, entry) in entries {
                    if store::find_client_event(s, &device.id, &entry.id)?.is_some() {
                        outcome.duplicates += 1;
                        continue;
                    }
                    let presented =
                        read_credential(&entry.credential, order).map_err(|e| match e {
                            AppError::Validation(fields) => AppError::Validation(FieldErrors(
                                fields
                                    .0
                                    .into_iter()
                                    .map(|f| f.under(&format!("entries[{i}]")))
                                    .collect(),
                            )),
                            other => other,
                        })?;
                    // A door whose clock runs ahead stamps its entries later than now. The entry keeps the
                    // door's time, but is weighed, and moves presence, as of now: weighed as of then, everyone
                    // would look timed out and nothing would be flagged; moved as of then, the member would stay
                    // inside (refused at anti-passback doors) for as long past their timeout as the clock is ahead.
                    let stamped = entry.occurred_at;
                    let at = stamped.min(now);
                    let g = gather(s, &device, &presented, entry.direction, at, true)?;
                    let door_allowed = entry.decision == "allow";
                    let flag_reason = match (door_allowed, g.decision.reason) {
                        (true, Some(reason)) => Some(reason.code().to_owned()),
                        _ => None,
                    };
                    let member_id = g.credential.as_ref().map(|c| c.member_id.clone());
                    let row = AccessEventRow {
                        decision: entry.decision.clone(),
                        reason: if door_allowed {
                            None
                        } else {
                            entry.reason.clone()
                        },
                        source: "offline".into(),
                        client_event_id: Some(entry.id.clone()),
                        flagged: flag_reason.is_some(),
                        flag_reason: flag_reason.clone(),
                        occurred_at: naive(stamped),
                        recorded_at: naive(now),
                        ..g.event_row(s.realm_key(), &device, &presented, entry.direction, at)
                    };
                    store::insert_event(s, &row).map_err(concurrent())?;
                    if let (Presented::Rotating(code), Some(c)) = (&presented, &g.credential) {
                        if !matches!(g.state, CredentialState::Forged | CredentialState::Replayed) {
                            store::use_qr(s, &c.id, code.issued_at, Some(&device.id), naive(now))
                                .map_err(concurrent())?;
                        }
                    }
                    if let (true, Some(member), Some(location)) =
                        (door_allowed, &member_id, &g.location_id)
                    {
                        // Presence follows the latest passage only: an old offline entry does not undo a newer one.
                        let held = store::presence(s, location, member)?;
                        let newer = held
                            .as_ref()
                            .is_some_and(|p| tessera_store::utc(p.entered_at) > at);
                        if !newer {
                            super::record_passage(
                                s,
                                location,
                                member,
                                Some(&device.id),
                                entry.direction,
                                at,
                                held.is_some(),
                            )?;
                        }
                    }
                    outcome.recorded += 1;
                    if let Some(reason) = flag_reason {
                        crate::events::publish(
                            s,
                            &ctx,
                            "access.flagged",
                            member_id.as_deref(),
                            serde_json::json!({ "event_id": row.id, "device_id": device.id,
                                "location_id": row.location_id, "member_id": member_id,
                                "reason": reason, "occurred_at": stamped }),
                            now,
                        )?;
                        outcome.flagged.push(FlaggedEntry {
                            id: entry.id.clone(),
                            event_id: row.id,
                            reason,
                        });
                    }
                }
                if outcome.recorded > 0 {
                    crate::events::publish(
                        s,
                        &ctx,
                        "access.offline_uploaded",
                        None,
                        serde_json::json!({ "device_id": device.id, "recorded": outcome.recorded,
                            "duplicates": outcome.duplicates, "flagged": outcome.flagged.len() }),
                        now,
                    )?;
                }
                tessera_store::models::devices::touch(s, &device.id, naive(now), None, None)?;
                Ok(outcome)
            })
        })
        .await
    }
}
