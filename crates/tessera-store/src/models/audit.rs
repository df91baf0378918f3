//! The audit log: one hash chain per realm. Each entry's hash covers the previous entry's hash and every field
//! of the entry, so editing, removing or reordering a stored entry breaks the chain from there on, and
//! [`verify_chain`] names the first entry that no longer fits.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::Digest;

use crate::schema::audit_log;
use crate::{DbConnection, Scoped, StoreResult};

/// The `prev_hash` of a chain's first entry.
pub const GENESIS: &str = "genesis";

/// A stored entry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    /// Realm key (tenant id or `group`).
    pub tenant_id: String,
    /// Position in the realm's chain, from 1.
    pub seq: i64,
    /// `aud_...`.
    pub id: String,
    /// When.
    pub at: NaiveDateTime,
    /// `account`, `operator`, `cli` or `anonymous`.
    pub actor_kind: String,
    /// Who, when known.
    pub actor_id: Option<String>,
    /// What, e.g. `auth.login_failed`.
    pub action: String,
    /// Kind of the target (`account`, `tenant`, `signing_key`...).
    pub target_kind: Option<String>,
    /// The target's id.
    pub target_id: Option<String>,
    /// The request that did it.
    pub request_id: Option<String>,
    /// More ids, as a JSON object (never personal data).
    pub details_json: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// An entry to append; the chain fields are computed.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// `aud_...`.
    pub id: String,
    /// When (stored to the microsecond, as PostgreSQL keeps it).
    pub at: NaiveDateTime,
    /// Actor kind.
    pub actor_kind: String,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Action.
    pub action: String,
    /// Target kind.
    pub target_kind: Option<String>,
    /// Target id.
    pub target_id: Option<String>,
    /// Request id.
    pub request_id: Option<String>,
    /// Details, a JSON object.
    pub details_json: String,
}

/// The hash of an entry: SHA-256 over the previous hash and every field, each length-prefixed so that no two
/// different entries serialise alike.
pub fn entry_hash(row: &AuditRow) -> String {
    let mut hasher = sha2::Sha256::new();
    let at = row.at.and_utc().timestamp_micros().to_string();
    let seq = row.seq.to_string();
    let fields: [Option<&str>; 12] = [
        Some(&row.prev_hash),
        Some(&row.tenant_id),
        Some(&seq),
        Some(&row.id),
        Some(&at),
        Some(&row.actor_kind),
        row.actor_id.as_deref(),
        Some(&row.action),
        row.target_kind.as_deref(),
        row.target_id.as_deref(),
        row.request_id.as_deref(),
        Some(&row.details_json),
    ];
    for field in fields {
        match field {
            Some(value) => hasher.update(format!("{}:{value};", value.len())),
            None => hasher.update("-;"),
        }
    }
    hex::encode(hasher.finalize())
}

/// Appends an entry to the realm's chain, in the caller's transaction (so the action and its record commit or
/// roll back together). Appends to one chain are serialised.
pub fn append(s: &mut Scoped<'_>, entry: NewAuditEntry) -> StoreResult<AuditRow> {
    let mut rows = append_many(s, vec![entry])?;
    // One entry in, one row out.
    rows.pop()
        .ok_or(crate::StoreError::Query(diesel::result::Error::NotFound))
}

/// Appends entries to the realm's chain in order, as [`append`] does, taking the chain's lock and reading its end
/// once for all of them (a billing run's batch).
pub fn append_many(s: &mut Scoped<'_>, entries: Vec<NewAuditEntry>) -> StoreResult<Vec<AuditRow>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let realm = s.realm_key().to_owned();
    let chain_key = i32::from_be_bytes(
        sha2::Sha256::digest(realm.as_bytes())[..4]
            .try_into()
            .unwrap_or([0; 4]),
    );
    crate::backend::serialize_writers_keyed(s.conn(), crate::backend::LOCK_AUDIT_CHAIN, chain_key)?;
    let last: Option<(i64, String)> = audit_log::table
        .filter(audit_log::tenant_id.eq(&realm))
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash))
        .first(s.conn())
        .optional()?;
    let (mut seq, mut prev_hash) = match last {
        Some((seq, hash)) => (seq, hash),
        None => (0, GENESIS.to_owned()),
    };
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        seq += 1;
        let at = chrono::DateTime::from_timestamp_micros(entry.at.and_utc().timestamp_micros())
            .map_or(entry.at, |t| t.naive_utc());
        let mut row = AuditRow {
            tenant_id: realm.clone(),
            seq,
            id: entry.id,
            at,
            actor_kind: entry.actor_kind,
            actor_id: entry.actor_id,
            action: entry.action,
            target_kind: entry.target_kind,
            target_id: entry.target_id,
            request_id: entry.request_id,
            details_json: entry.details_json,
            prev_hash,
            hash: String::new(),
        };
        row.hash = entry_hash(&row);
        prev_hash = row.hash.clone();
        rows.push(row);
    }
    // Under SQLite's limit on bound variables (thirteen per row).
    for chunk in rows.chunks(500) {
        crate::on_backend!(s.conn(), |c| diesel::insert_into(audit_log::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(rows)
}

/// Filters of a listing.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<String>,
    /// Only this actor.
    pub actor_id: Option<String>,
    /// Only this target.
    pub target_id: Option<String>,
    /// Only entries before this position (paging backwards, newest first).
    pub before_seq: Option<i64>,
}

/// The newest entries of the realm matching `filter`.
pub fn list(s: &mut Scoped<'_>, filter: &AuditFilter, limit: i64) -> StoreResult<Vec<AuditRow>> {
    let (realm, conn) = s.parts();
    let mut query = audit_log::table
        .filter(audit_log::tenant_id.eq(realm.to_owned()))
        .order(audit_log::seq.desc())
        .limit(limit)
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_log::actor_id.eq(actor.clone()));
    }
    if let Some(target) = &filter.target_id {
        query = query.filter(audit_log::target_id.eq(target.clone()));
    }
    if let Some(before) = filter.before_seq {
        query = query.filter(audit_log::seq.lt(before));
    }
    Ok(query.load(conn)?)
}

/// Every realm that has a chain (system context).
pub fn realms(conn: &mut DbConnection) -> StoreResult<Vec<String>> {
    Ok(audit_log::table
        .select(audit_log::tenant_id)
        .distinct()
        .order(audit_log::tenant_id.asc())
        .load(conn)?)
}

/// The first entry of a chain that does not fit, and why; `None` when the whole chain holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainBreak {
    /// Position where the chain breaks.
    pub seq: i64,
    /// The entry there, when there is one.
    pub id: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// Checks a realm's whole chain, oldest first, in batches. Returns the number of entries checked, or the first
/// break.
pub fn verify_chain(s: &mut Scoped<'_>) -> StoreResult<Result<i64, ChainBreak>> {
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_owned();
    loop {
        let (realm, conn) = s.parts();
        let batch: Vec<AuditRow> = audit_log::table
            .filter(audit_log::tenant_id.eq(realm))
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq.asc())
            .limit(1000)
            .select(AuditRow::as_select())
            .load(conn)?;
        if batch.is_empty() {
            return Ok(Ok(expected_seq - 1));
        }
        for row in batch {
            let broken = |reason: &str| ChainBreak {
                seq: row.seq,
                id: Some(row.id.clone()),
                reason: reason.to_owned(),
            };
            if row.seq != expected_seq {
                return Ok(Err(ChainBreak {
                    seq: expected_seq,
                    id: None,
                    reason: format!("entry {expected_seq} is missing (next is {})", row.seq),
                }));
            }
            if row.prev_hash != prev_hash {
                return Ok(Err(broken(
                    "does not follow the previous entry (prev_hash differs)",
                )));
            }
            if entry_hash(&row) != row.hash {
                return Ok(Err(broken("its content does not match its hash (edited)")));
            }
            prev_hash = row.hash.clone();
            expected_seq += 1;
        }
    }
}
