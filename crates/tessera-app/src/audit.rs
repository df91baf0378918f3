//! Recording and reading the audit log. Services record an entry inside the transaction of the action itself,
//! so an action and its record commit or roll back together. Entries hold ids, never personal data.

use serde::Serialize;
use tessera_domain::ids::IdKind;
use tessera_domain::realm::Realm;
use tessera_domain::role::Permission;
use tessera_store::models::audit::{self, AuditFilter, AuditRow, ChainBreak, NewAuditEntry};
use tessera_store::{Scoped, TxMode};

use crate::pagination::{Page, PageRequest};
use crate::{naive, ActorKind, App, AppError, AppResult, Ctx};

/// What happened, and to what.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Stable action name, `area.verb` (`auth.login_failed`, `staff.deactivated`...).
    pub action: &'static str,
    /// Kind of the target.
    pub target_kind: Option<&'static str>,
    /// Id of the target.
    pub target_id: Option<&'a str>,
    /// More ids, as a JSON object.
    pub details: serde_json::Value,
}

impl<'a> Event<'a> {
    /// An event about `target_id` of `target_kind`.
    pub fn on(action: &'static str, target_kind: &'static str, target_id: &'a str) -> Event<'a> {
        Event {
            action,
            target_kind: Some(target_kind),
            target_id: Some(target_id),
            details: serde_json::json!({}),
        }
    }

    /// The same event with details.
    pub fn with(mut self, details: serde_json::Value) -> Event<'a> {
        self.details = details;
        self
    }
}

/// Appends `event` by the context's caller (or the command line, or an anonymous client) to the chain of the
/// transaction's realm.
pub fn record(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    event: Event<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    record_many(s, ctx, vec![event], now)
}

/// Appends `events`, in order, as [`record`] does, reading the chain's end once for all of them (a billing run's
/// batch).
pub fn record_many(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    events: Vec<Event<'_>>,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let (actor_kind, actor_id) = match &ctx.actor {
        Some(actor) => (
            match actor.kind {
                ActorKind::Account => "account",
                ActorKind::Operator => "operator",
                ActorKind::Device => "device",
            },
            Some(actor.subject_id.clone()),
        ),
        None if ctx.client_ip.is_none() => ("cli", None),
        None => ("anonymous", None),
    };
    let request_id = Some(ctx.request_id.clone()).filter(|r| !r.is_empty());
    let entries = events
        .into_iter()
        .map(|event| NewAuditEntry {
            id: IdKind::AuditEntry.new_id(),
            at: naive(now),
            actor_kind: actor_kind.to_owned(),
            actor_id: actor_id.clone(),
            action: event.action.to_owned(),
            target_kind: event.target_kind.map(str::to_owned),
            target_id: event.target_id.map(str::to_owned),
            request_id: request_id.clone(),
            details_json: event.details.to_string(),
        })
        .collect();
    audit::append_many(s, entries)?;
    Ok(())
}

/// An entry as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditView {
    /// Position in the realm's chain.
    pub seq: i64,
    /// Id.
    pub id: String,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// `account`, `operator`, `cli` or `anonymous`.
    pub actor_kind: String,
    /// Who.
    pub actor_id: Option<String>,
    /// What.
    pub action: String,
    /// Kind of the target.
    pub target_kind: Option<String>,
    /// The target.
    pub target_id: Option<String>,
    /// The request.
    pub request_id: Option<String>,
    /// More ids.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// The entry's hash (the next entry's `prev_hash`).
    pub hash: String,
}

impl From<AuditRow> for AuditView {
    fn from(row: AuditRow) -> Self {
        AuditView {
            seq: row.seq,
            id: row.id,
            at: tessera_store::utc(row.at),
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            action: row.action,
            target_kind: row.target_kind,
            target_id: row.target_id,
            request_id: row.request_id,
            details: serde_json::from_str(&row.details_json).unwrap_or(serde_json::Value::Null),
            hash: row.hash,
        }
    }
}

/// The result of checking one chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// Realm key.
    pub realm: String,
    /// Tenant slug, or `group`.
    pub name: String,
    /// Entries checked.
    pub entries: i64,
    /// The first break, if any.
    pub broken: Option<ChainBreak>,
}

impl App {
    /// `GET /api/v1/audit`: the realm's entries, newest first (admins of the brand; operators on the group realm
    /// or a brand's host).
    pub async fn list_audit(
        &self,
        ctx: &Ctx,
        filter: AuditFilter,
        page: PageRequest,
    ) -> AppResult<Page<AuditView>> {
        let ctx = ctx.clone();
        let app = self.clone();
        self.blocking(move |db| {
            db.scoped(ctx.realm.key(), TxMode::Read, |s| {
                crate::auth::authorize(app.principals(), s, &ctx, Permission::AuditRead)?;
                let before_seq = match page.after.as_deref() {
                    Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| {
                        AppError::invalid(
                            "cursor",
                            tessera_domain::FieldError::new(
                                "",
                                "invalid_cursor",
                                "not a cursor from this API",
                            ),
                        )
                    })?),
                    None => None,
                };
                let rows = audit::list(
                    s,
                    &AuditFilter {
                        before_seq,
                        ..filter
                    },
                    page.limit + 1,
                )?;
                let views: Vec<(String, AuditView)> = rows
                    .into_iter()
                    .map(|r| (r.seq.to_string(), AuditView::from(r)))
                    .collect();
                let page = Page::from_rows(views, page.limit, |(seq, _)| seq);
                Ok(Page {
                    data: page.data.into_iter().map(|(_, v)| v).collect(),
                    next_cursor: page.next_cursor,
                })
            })
        })
        .await
    }

    /// Entries for the CLI (system context, a listed use), newest first.
    pub async fn audit_entries(
        &self,
        realm: Realm,
        filter: AuditFilter,
        limit: i64,
    ) -> AppResult<Vec<AuditView>> {
        self.blocking(move |db| {
            db.system(TxMode::Read, |sys| {
                let rows = audit::list(&mut sys.scoped(realm.key()), &filter, limit)?;
                Ok(rows.into_iter().map(AuditView::from).collect())
            })
        })
        .await
    }

    /// Checks the chains of the given realms, or of every realm that has one (system context, a listed use).
    pub async fn verify_audit(&self, realms: Option<Vec<Realm>>) -> AppResult<Vec<ChainReport>> {
        let names: std::collections::HashMap<String, String> = self
            .tenants()
            .all()
            .iter()
            .map(|t| (t.id.clone(), t.slug.clone()))
            .collect();
        self.blocking(move |db| {
            db.system(TxMode::Read, |sys| {
                let keys: Vec<String> = match &realms {
                    Some(realms) => realms.iter().map(|r| r.key().to_owned()).collect(),
                    None => audit::realms(sys.conn())?,
                };
                let mut reports = Vec::new();
                for key in keys {
                    let result = audit::verify_chain(&mut sys.scoped(&key))?;
                    let name = names.get(&key).cloned().unwrap_or_else(|| key.clone());
                    let (entries, broken) = match result {
                        Ok(entries) => (entries, None),
                        Err(chain_break) => (chain_break.seq - 1, Some(chain_break)),
                    };
                    reports.push(ChainReport {
                        realm: key,
                        name,
                        entries,
                        broken,
                    });
                }
                Ok::<_, AppError>(reports)
            })
        })
        .await
    }
}
