//! Members' door credentials (`/api/v1/members/{id}/credentials`, `/api/v1/credentials/{id}`,
//! `/api/v1/me/credentials`, `/api/v1/me/app-keys`): printed cards (one number, printed as a Code 128 barcode and
//! a QR code), NFC UIDs, and the mobile app's public keys for rotating QR codes. Issue, replace (a lost card gets
//! a new number, and the old one stops working at once) and revoke; each change moves the allowlist's version.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::access::credential::{
    normalize_nfc, parse_card_number, parse_public_key, public_key_text, ByteOrder, CredentialKind,
    NfcEncoding,
};
use tessera_domain::ids::IdKind;
use tessera_domain::role::{Permission, Role};
use tessera_domain::FieldError;
use tessera_store::models::access::{self as store, CredentialRow};
use tessera_store::models::members;
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A credential to issue (or the new one of a replacement).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCredential {
    /// `card` or `nfc` (app keys are registered by the member's app).
    pub kind: Option<CredentialKind>,
    /// A card number (12 digits; absent: the member's card number for their first card, else a new one) or a UID.
    pub value: Option<String>,
    /// How a UID is written: `hex` (default) or `decimal`.
    pub encoding: Option<NfcEncoding>,
    /// The order of a UID's bytes as written: `msb` (default) or `lsb`.
    pub byte_order: Option<ByteOrder>,
    /// A note ("wristband", "replacement for a lost card").
    pub label: Option<String>,
}

/// The member's app registers its public key.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterAppKey {
    /// Ed25519 public key, 32 bytes in base64url; the private key stays in the phone.
    pub public_key: String,
    /// The phone's name.
    pub label: Option<String>,
}

/// A credential.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CredentialView {
    /// `crd_...`.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// `card`, `nfc` or `app`.
    pub kind: String,
    /// Card number, UID (hex, most significant byte first) or public key.
    pub value: String,
    /// `active`, `revoked` or `replaced`.
    pub status: String,
    /// Note.
    pub label: Option<String>,
    /// What replaced it.
    pub replaced_by: Option<String>,
    /// Issued.
    pub created_at: DateTime<Utc>,
    /// Ended.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<CredentialRow> for CredentialView {
    fn from(r: CredentialRow) -> Self {
        CredentialView {
            id: r.id,
            member_id: r.member_id,
            kind: r.kind,
            value: r.value,
            status: r.status,
            label: r.label,
            replaced_by: r.replaced_by,
            created_at: tessera_store::utc(r.created_at),
            revoked_at: r.revoked_at.map(tessera_store::utc),
        }
    }
}

/// An image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageFormat {
    /// PNG.
    Png,
    /// SVG.
    Svg,
}

/// A symbology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Symbology {
    /// Code 128 (set C: digit pairs).
    Code128,
    /// QR code.
    Qr,
}

fn new_card_number() -> String {
    use rand::Rng;
    let mut rng = rand::rngs::OsRng;
    (0..12)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect()
}

fn taken() -> impl Fn(tessera_store::StoreError) -> AppError {
    |e| {
        if e.is_unique_violation() {
            AppError::Conflict {
                code: "credential_taken",
                detail: "another live credential has this value".into(),
            }
        } else {
            e.into()
        }
    }
}

/// The stored value of a credential to issue for `member_id`.
fn value_for(
    s: &mut Scoped<'_>,
    member_id: &str,
    kind: CredentialKind,
    request: &IssueCredential,
    first_card: bool,
) -> AppResult<String> {
    let field = |e: FieldError| AppError::invalid("value", e);
    match kind {
        CredentialKind::Card => match &request.value {
            Some(v) => parse_card_number(v).map_err(field),
            None if first_card => Ok(members::find(s, member_id)?
                .map(|p| p.card_number)
                .unwrap_or_else(new_card_number)),
            None => Ok(new_card_number()),
        },
        CredentialKind::Nfc => {
            let v = request.value.as_deref().ok_or_else(|| {
                AppError::invalid("value", FieldError::new("", "required", "the card's UID"))
            })?;
            normalize_nfc(
                v,
                request.encoding.unwrap_or_default(),
                request.byte_order.unwrap_or(ByteOrder::Msb),
            )
            .map_err(field)
        }
        CredentialKind::App => Err(AppError::invalid(
            "kind",
            FieldError::new(
                "",
                "not_allowed",
                "app keys are registered by the member's app (POST /api/v1/me/app-keys)",
            ),
        )),
    }
}

fn label_of(label: &Option<String>) -> AppResult<Option<String>> {
    match label.as_deref().map(str::trim) {
        Some(l) if l.chars().count() > 80 => Err(AppError::invalid(
            "label",
            FieldError::new("", "too_long", "at most 80 characters"),
        )),
        Some("") | None => Ok(None),
        Some(l) => Ok(Some(l.to_owned())),
    }
}

/// Stores a new credential, moves the allowlist, audits and publishes.
#[allow(clippy::too_many_arguments)]
fn store_new(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    id: String,
    member_id: &str,
    kind: CredentialKind,
    value: String,
    label: Option<String>,
    now: DateTime<Utc>,
) -> AppResult<CredentialRow> {
    let row = CredentialRow {
        tenant_id: s.realm_key().to_owned(),
        id,
        member_id: member_id.to_owned(),
        kind: kind.as_str().to_owned(),
        value,
        status: "active".into(),
        label,
        replaced_by: None,
        created_at: naive(now),
        revoked_at: None,
    };
    store::insert_credential(s, &row).map_err(taken())?;
    super::touch(s, member_id, now)?;
    audit::record(
        s,
        ctx,
        Event::on("credential.issued", "credential", &row.id)
            .with(serde_json::json!({ "member_id": member_id, "kind": row.kind })),
        now,
    )?;
    crate::events::publish(
        s,
        ctx,
        "credential.issued",
        Some(member_id),
        serde_json::json!({ "credential_id": row.id, "member_id": member_id, "kind": row.kind }),
        now,
    )?;
    Ok(row)
}

/// Ends a live credential (`revoked` or `replaced`), moves the allowlist, audits and publishes.
fn end(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    row: &CredentialRow,
    status: &str,
    replaced_by: Option<&str>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if !store::end_credential(s, &row.id, status, replaced_by, naive(now))? {
        return Err(AppError::Conflict {
            code: "credential_not_active",
            detail: "this credential is already revoked or replaced".into(),
        });
    }
    super::touch(s, &row.member_id, now)?;
    audit::record(
        s,
        ctx,
        Event::on("credential.revoked", "credential", &row.id).with(serde_json::json!({
            "member_id": row.member_id, "status": status, "replaced_by": replaced_by, "reason": reason })),
        now,
    )?;
    crate::events::publish(
        s,
        ctx,
        "credential.revoked",
        Some(&row.member_id),
        serde_json::json!({ "credential_id": row.id, "member_id": row.member_id, "status": status,
            "replaced_by": replaced_by }),
        now,
    )?;
    Ok(())
}

/// The member `member_id` exists and the caller may read their credentials: staff with `access.read`, the
/// member, or their guardian. Anyone else: not found.
fn readable(app: &App, s: &mut Scoped<'_>, ctx: &Ctx, member_id: &str) -> AppResult<Principal> {
    let principal = authorize(app.principals(), s, ctx, Permission::ProfileReadOwn)?;
    let profile = members::find(s, member_id)?.ok_or(AppError::NotFound("member"))?;
    let own = principal.id == member_id
        || profile.guardian_account_id.as_deref() == Some(principal.id.as_str());
    if own || Permission::AccessRead.allowed_for(&principal.roles) {
        Ok(principal)
    } else {
        Err(AppError::NotFound("member"))
    }
}

impl App {
    /// `POST /api/v1/members/{id}/credentials` (`access.manage`).
    pub async fn issue_credential(
        &self,
        ctx: &Ctx,
        member_id: &str,
        request: IssueCredential,
    ) -> AppResult<CredentialView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, member_id) = (ctx.clone(), self.clone(), member_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::AccessManage)?;
                members::find(s, &member_id)?.ok_or(AppError::NotFound("member"))?;
                let kind = request.kind.unwrap_or(CredentialKind::Card);
                let first_card = !store::of_member(s, &member_id)?
                    .iter()
                    .any(|c| c.kind == "card");
                let value = value_for(s, &member_id, kind, &request, first_card)?;
                let label = label_of(&request.label)?;
                let id = IdKind::Credential.new_id();
                store_new(s, &ctx, id, &member_id, kind, value, label, now).map(Into::into)
            })
        })
        .await
    }

    /// `POST /api/v1/credentials/{id}/replace` (`access.manage`): a lost card or tag. The old one stops working
    /// at once; a card gets a new number (unless one is given), a tag needs the new UID.
    pub async fn replace_credential(
        &self,
        ctx: &Ctx,
        id: &str,
        request: IssueCredential,
    ) -> AppResult<CredentialView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::AccessManage)?;
                let old =
                    store::find_credential(s, &id)?.ok_or(AppError::NotFound("credential"))?;
                let kind = CredentialKind::parse(&old.kind)
                    .ok_or_else(|| AppError::Internal(format!("stored kind {}", old.kind)))?;
                if request.kind.is_some_and(|k| k != kind) {
                    return Err(AppError::invalid(
                        "kind",
                        FieldError::new("", "kind_mismatch", "a replacement is of the same kind"),
                    ));
                }
                let value = value_for(s, &old.member_id, kind, &request, false)?;
                let label = label_of(&request.label)?.or(Some("replacement".into()));
                let new_id = IdKind::Credential.new_id();
                end(
                    s,
                    &ctx,
                    &old,
                    "replaced",
                    Some(&new_id),
                    Some("replaced"),
                    now,
                )?;
                let row = store_new(s, &ctx, new_id, &old.member_id, kind, value, label, now)?;
                Ok(row.into())
            })
        })
        .await
    }

    /// `POST /api/v1/credentials/{id}/revoke` (`access.manage`): it stops working at once (online doors) and
    /// with the doors' next allowlist delta (offline ones).
    pub async fn revoke_credential(
        &self,
        ctx: &Ctx,
        id: &str,
        reason: Option<String>,
    ) -> AppResult<CredentialView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let row =
                    store::find_credential(s, &id)?.ok_or(AppError::NotFound("credential"))?;
                // Staff revoke any credential; a member revokes their own app keys (a lost phone).
                let own_app_key = row.kind == "app" && row.member_id == principal.id;
                if !own_app_key && !Permission::AccessManage.allowed_for(&principal.roles) {
                    return Err(AppError::NotFound("credential"));
                }
                end(s, &ctx, &row, "revoked", None, reason.as_deref(), now)?;
                Ok(store::find_credential(s, &id)?
                    .ok_or(AppError::NotFound("credential"))?
                    .into())
            })
        })
        .await
    }

    /// `GET /api/v1/members/{id}/credentials`: staff with `access.read`, the member or their guardian.
    pub async fn member_credentials(
        &self,
        ctx: &Ctx,
        member_id: &str,
    ) -> AppResult<Vec<CredentialView>> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app, member_id) = (ctx.clone(), self.clone(), member_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                readable(&app, s, &ctx, &member_id)?;
                Ok(store::of_member(s, &member_id)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            })
        })
        .await
    }

    /// `GET /api/v1/me/credentials`: the caller's own.
    pub async fn my_credentials(&self, ctx: &Ctx) -> AppResult<Vec<CredentialView>> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                Ok(store::of_member(s, &principal.id)?
                    .into_iter()
                    .map(Into::into)
                    .collect())
            })
        })
        .await
    }

    /// `POST /api/v1/me/app-keys`: a member's app registers the public key it signs rotating QR codes with.
    pub async fn register_app_key(
        &self,
        ctx: &Ctx,
        request: RegisterAppKey,
    ) -> AppResult<CredentialView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let key = parse_public_key(&request.public_key)
            .map_err(|e| AppError::invalid("public_key", e))?;
        let label = label_of(&request.label)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                if !principal.has(Role::Member) || members::find(s, &principal.id)?.is_none() {
                    return Err(AppError::Conflict {
                        code: "not_a_member",
                        detail: "only members have door credentials".into(),
                    });
                }
                let id = IdKind::Credential.new_id();
                store_new(
                    s,
                    &ctx,
                    id,
                    &principal.id,
                    CredentialKind::App,
                    public_key_text(&key),
                    label,
                    now,
                )
                .map(Into::into)
            })
        })
        .await
    }

    /// `GET /api/v1/credentials/{id}/image`: a card's barcode or QR code, PNG or SVG (staff with `access.read`,
    /// the member, their guardian). Returns the content type and the bytes.
    pub async fn credential_image(
        &self,
        ctx: &Ctx,
        id: &str,
        symbology: Symbology,
        format: ImageFormat,
    ) -> AppResult<(&'static str, Vec<u8>)> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        let row = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Read, |s| {
                    let row =
                        store::find_credential(s, &id)?.ok_or(AppError::NotFound("credential"))?;
                    readable(&app, s, &ctx, &row.member_id)
                        .map_err(|_| AppError::NotFound("credential"))?;
                    Ok(row)
                })
            })
            .await?;
        if row.kind != "card" {
            return Err(AppError::Conflict {
                code: "no_image",
                detail: "only printed cards have a barcode or QR image".into(),
            });
        }
        super::images::render(&row.value, symbology, format)
    }
}
