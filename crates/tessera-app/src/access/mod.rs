//! Door access (`/api/v1/access`): the online check a door asks for every credential it reads, the signed
//! allowlist it keeps to decide offline, the upload of what it decided offline, staff overrides, the log of
//! decisions and occupancy. Members' credentials are in [`credentials`].
//!
//! The decision itself is `tessera_domain::access::decide`, a pure function; [`facts`] gathers its facts in the
//! check's transaction, for many checks at once, and [`desk`] groups the online checks that arrive together,
//! answers them, and has [`recording`] write their outcomes behind the answers; online checks find the facts that
//! change seldom in the desk's [`memory`], kept current through the database's change log. Membership status is read when
//! the check runs, so billing's `past_due`, `suspend` and `reinstate` (through `memberships::change`) apply to the
//! next check with no other step. Doors that decide offline learn of such changes through the allowlist's version:
//! every membership change, credential change and member status change calls [`touch`] in its own transaction.

pub mod allowlist;
pub mod batch;
pub mod credentials;
pub mod demo;
mod desk;
mod door_view;
mod facts;
pub mod images;
mod memory;
pub mod occupancy;
mod recording;

pub(crate) use desk::DoorDesk;
pub(crate) use facts::{gather, location_tz, Gathered};
pub(crate) use memory::{DoorMemory, Known};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::access::credential::{
    normalize_nfc, parse_optical, ByteOrder, NfcEncoding, Optical, RotatingCode,
};
use tessera_domain::access::Direction;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::FieldError;
use tessera_store::models::access::{self as store, AccessEventRow, PresenceRow};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::pagination::{Page, PageRequest};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A presence older than this is treated as an exit nobody recorded (a door without an exit reader).
pub const PRESENCE_TIMEOUT_HOURS: i64 = 4;

/// Records, in the caller's transaction, that `member_id`'s access changed: bumps the brand's allowlist version
/// so that doors fetch the change with their next delta.
pub(crate) fn touch(s: &mut Scoped<'_>, member_id: &str, now: DateTime<Utc>) -> AppResult<i64> {
    Ok(store::bump(s, member_id, naive(now))?)
}

/// What a reader read.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialInput {
    /// `barcode` or `qr` (a card number or a rotating code), or `nfc` (a UID).
    #[serde(rename = "type")]
    pub kind: String,
    /// What was read.
    pub value: String,
    /// For `nfc`: `hex` (default) or `decimal`; the byte order is the door's setting.
    pub encoding: Option<NfcEncoding>,
}

/// A credential, read and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// A printed card's number.
    Card(String),
    /// An NFC UID, uppercase hex, most significant byte first.
    Nfc(String),
    /// A rotating QR code.
    Rotating(RotatingCode),
}

impl Presented {
    /// `card`, `nfc` or `app`.
    pub fn kind(&self) -> &'static str {
        match self {
            Presented::Card(_) => "card",
            Presented::Nfc(_) => "nfc",
            Presented::Rotating(_) => "app",
        }
    }
}

/// Reads a credential with the door's byte order; `unknown_credential_format` (422) otherwise.
pub fn read_credential(input: &CredentialInput, order: ByteOrder) -> AppResult<Presented> {
    let field = |e: FieldError| AppError::invalid("credential.value", e);
    match input.kind.as_str() {
        "barcode" | "qr" => Ok(match parse_optical(&input.value).map_err(field)? {
            Optical::Card(n) => Presented::Card(n),
            Optical::Rotating(code) => Presented::Rotating(code),
        }),
        "nfc" => Ok(Presented::Nfc(
            normalize_nfc(&input.value, input.encoding.unwrap_or_default(), order)
                .map_err(field)?,
        )),
        _ => Err(AppError::invalid(
            "credential.type",
            FieldError::new("", "unknown_credential_format", "barcode, qr or nfc"),
        )),
    }
}

/// A door's check.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    /// What the reader read.
    pub credential: CredentialInput,
    /// `in` or `out`.
    pub direction: Direction,
    /// Decide without recording anything (installation tests, the desk's "what would happen").
    #[serde(default)]
    pub dry_run: bool,
}

/// The member, as the desk's screen shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MemberCard {
    /// `acc_...`.
    pub id: String,
    /// Given and family name.
    pub name: String,
    /// Photo (a stored file id): fetch it with `GET /api/v1/files/{id}/content`.
    pub photo_file_id: Option<String>,
    /// The member's card number.
    pub card_number: String,
}

/// The membership that opened (or refused).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MembershipCard {
    /// `mem_...`.
    pub id: String,
    /// Plan name.
    pub plan_name: String,
    /// Status.
    pub status: String,
    /// First day without it.
    #[schema(value_type = Option<String>, format = Date)]
    pub ends_on: Option<NaiveDate>,
}

/// A door decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// Reason code of a refusal (docs/devices.md lists them).
    pub reason: Option<&'static str>,
    /// The recorded check-in or refusal (none in a dry run).
    pub event_id: Option<String>,
    /// True when nothing was recorded.
    pub dry_run: bool,
    /// The member, when the credential was known.
    pub member: Option<MemberCard>,
    /// The membership that decided.
    pub membership: Option<MembershipCard>,
    /// For the desk: a membership ending soon, the last visit of the week.
    pub warnings: Vec<tessera_domain::access::Warning>,
}

/// Moves presence after an allowed passage. An exit ends it. An entry of a member the decision saw outside
/// (`seen_inside` false) inserts the presence row after clearing a timed-out one: if a concurrent entry committed
/// meanwhile, the row's key refuses this one (`concurrent_passage`: the override fails, the upload is tried
/// again). An entry of a member seen inside (a door without anti-passback) moves the time and door
/// (`store::move_many`).
pub(crate) fn record_passage(
    s: &mut Scoped<'_>,
    location_id: &str,
    member_id: &str,
    device_id: Option<&str>,
    direction: Direction,
    at: DateTime<Utc>,
    seen_inside: bool,
) -> AppResult<()> {
    if direction == Direction::Out {
        store::leave(s, location_id, member_id)?;
        return Ok(());
    }
    if seen_inside {
        store::move_many(
            s,
            &[PresenceRow {
                tenant_id: s.realm_key().to_owned(),
                location_id: location_id.to_owned(),
                member_id: member_id.to_owned(),
                entered_at: naive(at),
                device_id: device_id.map(str::to_owned),
            }],
        )?;
        return Ok(());
    }
    store::leave_before(
        s,
        location_id,
        member_id,
        naive(at - Duration::hours(PRESENCE_TIMEOUT_HOURS)),
    )?;
    store::enter(
        s,
        &PresenceRow {
            tenant_id: s.realm_key().to_owned(),
            location_id: location_id.to_owned(),
            member_id: member_id.to_owned(),
            entered_at: naive(at),
            device_id: device_id.map(str::to_owned),
        },
    )
    .map_err(concurrent())?;
    Ok(())
}

impl Gathered {
    /// The log row of this decision by `device` at `at`, as an online check records it (an upload changes what
    /// the door decided and where it came from).
    fn event_row(
        &self,
        realm: &str,
        device: &tessera_store::models::devices::DeviceRow,
        presented: &Presented,
        direction: Direction,
        at: DateTime<Utc>,
    ) -> AccessEventRow {
        AccessEventRow {
            tenant_id: realm.to_owned(),
            id: IdKind::AccessEvent.new_id(),
            device_id: Some(device.id.clone()),
            location_id: self.location_id.clone(),
            member_id: self.credential.as_ref().map(|c| c.member_id.clone()),
            credential_id: self.credential.as_ref().map(|c| c.id.clone()),
            credential_kind: presented.kind().to_owned(),
            direction: direction.as_str().to_owned(),
            decision: if self.decision.allowed() {
                "allow"
            } else {
                "deny"
            }
            .to_owned(),
            reason: self.decision.reason.map(|r| r.code().to_owned()),
            source: "online".into(),
            client_event_id: None,
            flagged: false,
            flag_reason: None,
            override_of: None,
            override_by: None,
            override_reason: None,
            occurred_at: naive(at),
            recorded_at: naive(at),
        }
    }

    fn result(&self, event_id: Option<String>, dry_run: bool) -> CheckResult {
        let member = self.profile.as_ref().map(|p| MemberCard {
            id: p.account_id.clone(),
            name: p.name.clone(),
            photo_file_id: p.photo_file_id.clone(),
            card_number: p.card_number.clone(),
        });
        let membership = self.decision.membership.and_then(|i| {
            let facts = self.memberships.get(i)?;
            Some(MembershipCard {
                id: facts.id.clone(),
                plan_name: facts.plan_name.clone(),
                status: facts.status.as_str().to_owned(),
                ends_on: facts.ends_on,
            })
        });
        CheckResult {
            decision: if self.decision.allowed() {
                "allow"
            } else {
                "deny"
            },
            reason: self.decision.reason.map(|r| r.code()),
            event_id,
            dry_run,
            member,
            membership,
            warnings: self.decision.warnings.clone(),
        }
    }
}

/// The live event of a decision.
pub(crate) fn event_data(row: &AccessEventRow, result: &CheckResult) -> serde_json::Value {
    serde_json::json!({
        "event_id": row.id, "device_id": row.device_id, "location_id": row.location_id,
        "member_id": row.member_id, "direction": row.direction, "decision": row.decision,
        "reason": row.reason, "source": row.source, "flagged": row.flagged, "flag_reason": row.flag_reason,
        "member": result.member, "membership": result.membership, "warnings": result.warnings,
        "occurred_at": tessera_store::utc(row.occurred_at),
    })
}

/// A decision in the log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccessEventView {
    /// `acx_...`.
    pub id: String,
    /// The door.
    pub device_id: Option<String>,
    /// Where.
    pub location_id: Option<String>,
    /// The member.
    pub member_id: Option<String>,
    /// The credential.
    pub credential_id: Option<String>,
    /// `card`, `nfc`, `app` or `override`.
    pub credential_kind: String,
    /// `in` or `out`.
    pub direction: String,
    /// `allow` or `deny`.
    pub decision: String,
    /// Reason code of a refusal.
    pub reason: Option<String>,
    /// `online`, `offline` or `override`.
    pub source: String,
    /// Flagged for staff (an offline entry that broke a rule).
    pub flagged: bool,
    /// Why.
    pub flag_reason: Option<String>,
    /// The refusal an override overrode.
    pub override_of: Option<String>,
    /// Who overrode.
    pub override_by: Option<String>,
    /// Why.
    pub override_reason: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// When the server learnt of it.
    pub recorded_at: DateTime<Utc>,
}

impl From<AccessEventRow> for AccessEventView {
    fn from(r: AccessEventRow) -> Self {
        AccessEventView {
            id: r.id,
            device_id: r.device_id,
            location_id: r.location_id,
            member_id: r.member_id,
            credential_id: r.credential_id,
            credential_kind: r.credential_kind,
            direction: r.direction,
            decision: r.decision,
            reason: r.reason,
            source: r.source,
            flagged: r.flagged,
            flag_reason: r.flag_reason,
            override_of: r.override_of,
            override_by: r.override_by,
            override_reason: r.override_reason,
            occurred_at: tessera_store::utc(r.occurred_at),
            recorded_at: tessera_store::utc(r.recorded_at),
        }
    }
}

/// How long after a device's last recorded call its last-seen time is written again.
const LAST_SEEN_EVERY_SECS: i64 = 60;

/// A concurrent passage of the same member (or the same rotating code) committed first.
fn concurrent() -> impl Fn(tessera_store::StoreError) -> AppError {
    |e| {
        if e.is_unique_violation() {
            AppError::Conflict {
                code: "concurrent_passage",
                detail: "another passage of this member was recorded at the same moment".into(),
            }
        } else {
            e.into()
        }
    }
}

fn is_concurrent(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Conflict {
            code: "concurrent_passage",
            ..
        }
    )
}

impl App {
    /// `POST /api/v1/access/check` (a paired door): decides, records the check-in or refusal, and publishes it.
    /// Checks of one brand that arrive together are decided and recorded together ([`desk`]).
    pub async fn check_access(&self, ctx: &Ctx, request: CheckRequest) -> AppResult<CheckResult> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let check = desk::Check {
            ctx: ctx.clone(),
            now: self.clock().now(),
            request,
        };
        if check.request.dry_run {
            self.decide_dry(&tenant, check).await
        } else {
            self.decide_recorded(&tenant, check).await
        }
    }

    /// `POST /api/v1/access/overrides` (`access.manage`): staff let in a member a door refused, with a reason;
    /// recorded as an allowed entry, audited and published.
    pub async fn override_refusal(
        &self,
        ctx: &Ctx,
        event_id: &str,
        reason: &str,
    ) -> AppResult<AccessEventView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let reason = reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::invalid(
                "reason",
                FieldError::new("", "required", "say why, in at most 500 characters"),
            ));
        }
        // The refusal, and the member's presence, may still be on their way to the log.
        self.door_records_written(&tenant).await;
        let now = self.clock().now();
        let (ctx, app, event_id) = (ctx.clone(), self.clone(), event_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::AccessManage)?;
                let refused =
                    store::find_event(s, &event_id)?.ok_or(AppError::NotFound("access event"))?;
                if refused.decision != "deny" {
                    return Err(AppError::Conflict {
                        code: "not_a_refusal",
                        detail: "only a refusal can be overridden".into(),
                    });
                }
                let row = AccessEventRow {
                    tenant_id: s.realm_key().to_owned(),
                    id: IdKind::AccessEvent.new_id(),
                    device_id: refused.device_id.clone(),
                    location_id: refused.location_id.clone(),
                    member_id: refused.member_id.clone(),
                    credential_id: refused.credential_id.clone(),
                    credential_kind: "override".into(),
                    direction: refused.direction.clone(),
                    decision: "allow".into(),
                    reason: None,
                    source: "override".into(),
                    client_event_id: None,
                    flagged: false,
                    flag_reason: None,
                    override_of: Some(refused.id.clone()),
                    override_by: Some(principal.id.clone()),
                    override_reason: Some(reason.clone()),
                    occurred_at: naive(now),
                    recorded_at: naive(now),
                };
                store::insert_event(s, &row)?;
                if let (Some(member), Some(location), Some(direction)) = (
                    &row.member_id,
                    &row.location_id,
                    Direction::parse(&row.direction),
                ) {
                    let seen_inside = store::presence(s, location, member)?.is_some_and(|p| {
                        tessera_store::utc(p.entered_at)
                            > now - Duration::hours(PRESENCE_TIMEOUT_HOURS)
                    });
                    record_passage(
                        s,
                        location,
                        member,
                        row.device_id.as_deref(),
                        direction,
                        now,
                        seen_inside,
                    )
                    .map_err(|e| {
                        if is_concurrent(&e) {
                            AppError::Conflict {
                                code: "concurrent_passage",
                                detail: "the member passed a door at the same moment; try again"
                                    .into(),
                            }
                        } else {
                            e
                        }
                    })?;
                }
                audit::record(
                    s,
                    &ctx,
                    Event::on("access.overridden", "access_event", &row.id).with(
                        serde_json::json!({
                        "override_of": refused.id, "refused_for": refused.reason, "reason": reason,
                        "member_id": row.member_id }),
                    ),
                    now,
                )?;
                crate::events::publish(
                    s,
                    &ctx,
                    "access.overridden",
                    row.member_id.as_deref(),
                    serde_json::json!({ "event_id": row.id, "override_of": refused.id,
                        "refused_for": refused.reason, "member_id": row.member_id,
                        "location_id": row.location_id, "by": principal.id }),
                    now,
                )?;
                Ok(AccessEventView::from(row))
            })
        })
        .await
    }

    /// `GET /api/v1/access/events` (`access.read`): decisions, newest first, by member, location or flag.
    pub async fn list_access_events(
        &self,
        ctx: &Ctx,
        member_id: Option<String>,
        location_id: Option<String>,
        flagged: Option<bool>,
        page: PageRequest,
    ) -> AppResult<Page<AccessEventView>> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        self.door_records_written(&tenant).await;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::AccessRead)?;
                let rows = store::list_events(
                    s,
                    member_id.as_deref(),
                    location_id.as_deref(),
                    flagged,
                    page.after.as_deref(),
                    page.limit + 1,
                )?;
                let views: Vec<AccessEventView> = rows.into_iter().map(Into::into).collect();
                Ok(Page::from_rows(views, page.limit, |v: &AccessEventView| {
                    &v.id
                }))
            })
        })
        .await
    }
}

pub(crate) mod personal {
    //! The personal-data section of door access: a member's credentials and door decisions.

    use chrono::{DateTime, Utc};
    use tessera_store::models::access as store;
    use tessera_store::Scoped;

    use crate::personal_data::{Erased, Subject};
    use crate::AppResult;

    /// Credentials (card numbers, UIDs, app keys) and every door decision about the member.
    pub fn export(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
        let id = &subject.account.id;
        let credentials: Vec<super::credentials::CredentialView> = store::of_member(s, id)?
            .into_iter()
            .map(Into::into)
            .collect();
        let decisions: Vec<super::AccessEventView> = store::events_of_member(s, id)?
            .into_iter()
            .map(Into::into)
            .collect();
        Ok(serde_json::json!({ "credentials": credentials, "door_decisions": decisions }))
    }

    /// Credentials and presence are deleted (the allowlist's next delta drops them from doors); decisions are kept
    /// without the member, for occupancy counts.
    pub fn erase(
        s: &mut Scoped<'_>,
        subject: &Subject<'_>,
        now: DateTime<Utc>,
    ) -> AppResult<Erased> {
        let id = &subject.account.id;
        let deleted = store::delete_of_member(s, id)? + store::delete_presence_of(s, id)?;
        let anonymised = store::anonymise_events(s, id)?;
        super::touch(s, id, now)?;
        Ok(Erased::new(
            deleted,
            anonymised,
            Some("door decisions, without the member or the credential, for occupancy counts"),
        ))
    }
}
