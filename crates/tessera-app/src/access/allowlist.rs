//! `GET /api/v1/access/allowlist`: what a door needs to decide offline, signed. A full snapshot, or the changes
//! since the version the door holds (the members whose access changed since: their live credentials, with their
//! memberships as they are now, and the hashes of their credentials that stopped working).
//!
//! The format is `tessera_domain::access::allowlist`; docs/devices.md describes the door's side.

use std::collections::HashMap;

use tessera_domain::access::allowlist::{
    entry_hash, membership_group, signing_input, Allowlist, Entry, RuleSet, FORMAT,
};
use tessera_domain::access::credential::ROTATING_WINDOW_SECS;
use tessera_domain::gym::membership::MembershipStatus;
use tessera_domain::gym::plan::AccessRules;
use tessera_store::models::access::{self as store, DoorCredentialRow};
use tessera_store::models::locations;
use tessera_store::models::memberships::{self, DoorMembershipRow};
use tessera_store::{Scoped, TxMode};

use crate::{App, AppError, AppResult, Ctx};

/// A signed allowlist, ready to send.
#[derive(Debug, Clone)]
pub struct SignedAllowlist {
    /// The JSON body, exactly as signed.
    pub body: Vec<u8>,
    /// The signing key's id (published in the JWKS).
    pub kid: String,
    /// Ed25519 signature of `tessera-allowlist/1\n` + body, base64url.
    pub signature: String,
    /// The version it brings the door to.
    pub version: i64,
    /// True for a full snapshot.
    pub full: bool,
    /// Credentials in it.
    pub entries: usize,
}

/// The value a credential is hashed by: an app credential by its id (what its rotating codes name).
fn hashed_value(c: &DoorCredentialRow) -> &str {
    if c.kind == "app" {
        &c.id
    } else {
        &c.value
    }
}

struct Builder {
    salt: String,
    rules: Vec<RuleSet>,
    rule_index: HashMap<String, usize>,
    entries: Vec<Entry>,
}

impl Builder {
    fn rule(&mut self, access_json: &str) -> usize {
        if let Some(i) = self.rule_index.get(access_json) {
            return *i;
        }
        let rules: AccessRules = serde_json::from_str(access_json).unwrap_or_default();
        let i = self.rules.len();
        self.rules.push(RuleSet::of(&rules));
        self.rule_index.insert(access_json.to_owned(), i);
        i
    }

    fn add(&mut self, c: &DoorCredentialRow, blocked: bool, memberships: &[DoorMembershipRow]) {
        let mut groups = Vec::new();
        for m in memberships {
            let Some(status) = MembershipStatus::parse(&m.status) else {
                continue;
            };
            let rule = self.rule(&m.access_json);
            if let Some(group) = membership_group(status, m.starts_on, m.ends_on, rule) {
                groups.push(group);
            }
        }
        let key = if c.kind == "app" {
            c.value.clone()
        } else {
            String::new()
        };
        self.entries.push(Entry(
            entry_hash(&self.salt, &c.kind, hashed_value(c)),
            key,
            u8::from(blocked),
            groups,
        ));
    }
}

fn build(
    s: &mut Scoped<'_>,
    device: &tessera_store::models::devices::DeviceRow,
    since: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<(Allowlist, bool)> {
    let location_id = device
        .location_id
        .clone()
        .filter(|_| device.kind == "door")
        .ok_or_else(|| AppError::Denied {
            code: "device_not_allowed",
            detail: "only a door with a location has an allowlist".into(),
        })?;
    let time_zone = locations::find(s, &location_id)?
        .map(|l| l.time_zone)
        .unwrap_or_else(|| "UTC".into());
    let version = store::version(s)?;
    let delta_from = since.filter(|v| *v >= device.config_version && *v <= version);
    let blocked: std::collections::HashSet<String> =
        store::blocked_members(s)?.into_iter().collect();
    let mut builder = Builder {
        // Per door: the same card hashes differently in two doors' lists.
        salt: device.id.clone(),
        rules: Vec::new(),
        rule_index: HashMap::new(),
        entries: Vec::new(),
    };
    let mut removed = Vec::new();
    match delta_from {
        None => {
            let mut by_member: HashMap<String, Vec<DoorMembershipRow>> = HashMap::new();
            for m in memberships::open_for_doors(s)? {
                by_member.entry(m.account_id.clone()).or_default().push(m);
            }
            for c in store::all_active(s)? {
                let ms = by_member.get(&c.member_id).map_or(&[][..], Vec::as_slice);
                builder.add(&c, blocked.contains(&c.member_id), ms);
            }
        }
        Some(from) => {
            for member in store::changed_since(s, from)? {
                let ms = memberships::of_account(s, &member)?;
                let open: Vec<DoorMembershipRow> = ms
                    .iter()
                    .filter(|m| !matches!(m.status.as_str(), "cancelled" | "ended"))
                    .map(DoorMembershipRow::from)
                    .collect();
                for c in store::of_member(s, &member)? {
                    let door = DoorCredentialRow::from(&c);
                    if c.status == "active" {
                        builder.add(&door, blocked.contains(&member), &open);
                    } else {
                        removed.push(entry_hash(&builder.salt, &c.kind, hashed_value(&door)));
                    }
                }
            }
        }
    }
    let list = Allowlist {
        format: FORMAT.into(),
        tenant_id: s.realm_key().to_owned(),
        device_id: device.id.clone(),
        location_id,
        time_zone,
        anti_passback: device.anti_passback,
        version,
        since: delta_from,
        generated_at: now,
        salt: builder.salt,
        qr_window_secs: ROTATING_WINDOW_SECS,
        rules: builder.rules,
        entries: builder.entries,
        removed,
    };
    Ok((list, delta_from.is_none()))
}

impl App {
    /// `GET /api/v1/access/allowlist` (a paired door): a signed snapshot, or the changes since `since` when the
    /// door's version is still usable (not older than the door's last settings change, not ahead of the server).
    pub async fn door_allowlist(
        &self,
        ctx: &Ctx,
        since: Option<i64>,
    ) -> AppResult<SignedAllowlist> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let ctx = ctx.clone();
        let (list, full) = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Read, |s| {
                    let device = crate::devices::calling_device(s, &ctx)?;
                    build(s, &device, since, now)
                })
            })
            .await?;
        let body = serde_json::to_vec(&list).map_err(|e| AppError::Internal(e.to_string()))?;
        let (kid, signature) = self.keys().sign_raw(&signing_input(&body))?;
        Ok(SignedAllowlist {
            version: list.version,
            entries: list.entries.len(),
            body,
            kid,
            signature,
            full,
        })
    }
}
