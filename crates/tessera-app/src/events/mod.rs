//! Events: what happened in a realm, recorded in the outbox table in the transaction of the change that caused it
//! ([`publish`]), so that an event exists exactly when its change committed. Two consumers read the outbox:
//! outgoing webhooks (deliveries are queued by [`publish`] itself, in the same transaction) and the live-event
//! stream ([`live`]), which every server process feeds from the table.
//!
//! Every event type is listed in [`TYPES`] with the permission needed to see it about someone else; the account
//! an event is about (its subject) always sees it. `docs/events.md` lists the same types.

pub mod live;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_store::models::events::{self, EventRow};
use tessera_store::Scoped;

use crate::{naive, AppError, AppResult, Ctx};

/// A kind of event.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EventType {
    /// Stable name, `area.what_happened`.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
    /// Needed to see it about someone else.
    #[serde(skip)]
    pub visible_with: Permission,
}

/// Every event type.
pub const TYPES: &[EventType] = &[
    EventType {
        name: "account.created",
        description: "An account was created (command line or sign-up).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "account.email_verified",
        description: "An account's e-mail address was verified.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "account.password_reset",
        description: "An account's password was reset through an e-mailed link.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "staff.invited",
        description: "A staff member was invited.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "staff.updated",
        description: "A staff member's name, roles or specialty changed.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "staff.deactivated",
        description: "A staff member was deactivated.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "member.created",
        description:
            "A member joined: sign-up, walk-in at the desk, a guardian's dependant, or an import.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "member.updated",
        description: "A member's profile, tags or status changed.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "member.consent_changed",
        description:
            "A member gave or withdrew a consent (marketing or health data), with the text version.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "plan.created",
        description: "A plan was created.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "plan.updated",
        description: "A plan's texts, price, access, visibility, dates or status changed.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.created",
        description: "A membership was sold (at the desk or online).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.activated",
        description: "A membership started.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.freeze_scheduled",
        description: "A freeze was planned for later days.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.frozen",
        description: "A membership was frozen; its commitment moved by the freeze's length.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.unfrozen",
        description: "A freeze ended.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.past_due",
        description: "Billing: a payment of the membership failed.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.suspended",
        description: "Billing: access blocked after failed payments.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.reinstated",
        description: "Billing: the debt was paid and the membership runs again.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.cancellation_scheduled",
        description:
            "A cancellation was confirmed; `detail.effective_on` is the first day without it.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.cancelled",
        description: "A membership ended by cancellation.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.withdrawn",
        description:
            "A contract concluded online was withdrawn from within 14 days; billing refunds it.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.ended",
        description: "A membership reached its term or used up its pack.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.plan_changed",
        description:
            "A membership changed plan now, or a change was scheduled for the next period.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "membership.updated",
        description: "A membership changed in another way.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "webhook.ping",
        description: "A test event sent to one webhook endpoint on request.",
        visible_with: Permission::WebhooksManage,
    },
    EventType {
        name: "booking.created",
        description: "A member booked an appointment or a class place, or joined a class waitlist (`kind`, `status`).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "booking.rescheduled",
        description: "An appointment moved to another start.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "booking.cancelled",
        description: "An appointment or class booking was cancelled (`late` when inside the late-cancellation window).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "booking.confirmed",
        description: "An appointment booked with online payment was paid: it is `booked` now.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "booking.paid_after_expiry",
        description: "An appointment was paid after its hold ended and its slot was taken meanwhile: staff refund or rebook it.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "booking.promoted",
        description: "A waitlisted member got a place in a class session that freed up.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "attendance.confirmed",
        description: "A pro or the desk confirmed presence or no-show for an appointment or a class attendee.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "device.paired",
        description: "A device exchanged its pairing code for its credential.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "device.revoked",
        description: "A device was revoked; its next call is refused.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "credential.issued",
        description: "A door credential (card, NFC tag, app key) was issued to a member.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "credential.revoked",
        description: "A door credential was revoked or replaced (`status`).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "access.checked_in",
        description: "A door let a member in or out: member, photo reference, plan and warnings for the desk.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "access.denied",
        description: "A door refused a credential, with its reason code.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "access.overridden",
        description: "Staff let in a member a door had refused, with a reason.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "access.flagged",
        description: "An entry a door allowed offline breaks a rule the server knows (revoked credential, anti-passback...).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "access.offline_uploaded",
        description: "A door uploaded the decisions it made offline (counts).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "body.measured",
        description: "A body-composition measurement was stored for a member (ids only: no health values).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "body.unmatched",
        description: "An analyser's measurement matched no member and waits for staff.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "invoice.finalised",
        description: "An invoice or credit note was finalised with its number.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "invoice.paid",
        description: "An invoice was paid in full.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "invoice.credited",
        description: "A credit note corrected an invoice.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "invoice.pdf_ready",
        description: "The PDF (Factur-X) of an invoice or credit note was rendered and stored.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "invoice.sent",
        description: "An invoice or credit note was e-mailed with its PDF (to the payer, or again by staff).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "payment.succeeded",
        description: "A payment succeeded (provider or desk).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "payment.processing",
        description: "A payment was accepted and settles later (SEPA debit).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "payment.failed",
        description: "A payment attempt failed (declined, insufficient funds...).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "payment.requires_action",
        description: "A payment needs the payer to confirm it (strong customer authentication); the data holds the link.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "payment.refunded",
        description: "A payment was refunded, in part or in full.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "billing.payment_method_saved",
        description: "A card or SEPA mandate was saved for later payments.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "billing.renewal_upcoming",
        description: "A membership renews soon (reminder before the charge).",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "billing.suspension_upcoming",
        description: "An unpaid membership will be suspended soon.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "billing.card_expiring",
        description: "The saved card expires within the notice period.",
        visible_with: Permission::EventsReadAll,
    },
    EventType {
        name: "diagnostic.published",
        description: "Published by the diagnostic job kinds (tests and benchmarks only).",
        visible_with: Permission::EventsReadAll,
    },
];

/// The type named `name`.
pub fn event_type(name: &str) -> Option<&'static EventType> {
    TYPES.iter().find(|t| t.name == name)
}

/// An event as subscribers and webhook receivers get it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// `evt_...`.
    pub id: String,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened (RFC 3339, UTC).
    pub time: DateTime<Utc>,
    /// What happened: ids and states, never secrets.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl EventView {
    /// The view of a stored event.
    pub fn of(row: &EventRow) -> EventView {
        EventView {
            id: row.id.clone(),
            event_type: row.event_type.clone(),
            time: row.created_at.and_utc(),
            data: serde_json::from_str(&row.data_json).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// Records an event of `type_name` in the caller's transaction, about `subject` (an account of the realm, who may
/// see it), and queues its webhook deliveries in the same transaction. `data` holds ids and states only.
pub fn publish(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    type_name: &'static str,
    subject: Option<&str>,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<EventRow> {
    let mut rows = publish_many(
        s,
        ctx,
        vec![NewEvent {
            type_name,
            subject: subject.map(str::to_owned),
            data,
            request_id: None,
        }],
        now,
    )?;
    // One event in, one out.
    rows.pop()
        .ok_or_else(|| AppError::Internal("no event recorded".into()))
}

/// An event to publish with [`publish_many`].
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// A listed type.
    pub type_name: &'static str,
    /// The account it is about.
    pub subject: Option<String>,
    /// Ids and states only.
    pub data: serde_json::Value,
    /// The request that caused it, when not the publishing context's (door checks recorded together).
    pub request_id: Option<String>,
}

/// Records events as [`publish`] does, in order, in a few statements whatever their number (a billing run's
/// batch).
pub fn publish_many(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    events: Vec<NewEvent>,
    now: DateTime<Utc>,
) -> AppResult<Vec<EventRow>> {
    if let Some(unlisted) = events.iter().find(|e| event_type(e.type_name).is_none()) {
        // A programming error: every type must be listed, so that its visibility is decided.
        return Err(AppError::Internal(format!(
            "event type {} is not listed",
            unlisted.type_name
        )));
    }
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let request_id = Some(ctx.request_id.clone()).filter(|r| !r.is_empty());
    let rows: Vec<EventRow> = events
        .into_iter()
        .map(|e| EventRow {
            tenant_id: s.realm_key().to_owned(),
            id: IdKind::Event.new_id(),
            seq: 0,
            event_type: e.type_name.to_owned(),
            subject_account_id: e.subject,
            data_json: e.data.to_string(),
            request_id: e.request_id.or_else(|| request_id.clone()),
            created_at: naive(now),
        })
        .collect();
    if let Some(deferred) = s.deferred_events() {
        deferred.extend(rows.iter().cloned());
        return Ok(rows);
    }
    let rows = events::insert_many(s, &rows)?;
    crate::webhooks::fan_out(s, &rows, now)?;
    Ok(rows)
}

/// Runs `f` with the events it publishes held back, then writes them together, in order, with their webhook
/// deliveries (a billing run's batch: a few statements instead of a few per event). Events published inside
/// have no `seq` yet. Inside another `deferring`, the outer one writes them.
pub fn deferring<T>(
    s: &mut Scoped<'_>,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut Scoped<'_>) -> AppResult<T>,
) -> AppResult<T> {
    if !s.defer_events() {
        return f(s);
    }
    let done = f(s);
    let held = s.take_deferred_events();
    let value = done?;
    let rows = events::insert_many(s, &held)?;
    crate::webhooks::fan_out(s, &rows, now)?;
    Ok(value)
}
