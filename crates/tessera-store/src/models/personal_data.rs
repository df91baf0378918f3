//! Queries over one account's personal data, for export and erasure (the GDPR service in `tessera-app` decides
//! what to do with them; each function here touches one table).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{
    account_roles, account_tokens, accounts, audit_log, idempotency_keys, jobs, operators, persons,
    refresh_tokens,
};
use crate::{Scoped, StoreResult};

/// A session (refresh token) as exported: never its hash.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct SessionRecord {
    /// `rtk_...`.
    pub id: String,
    /// `active`, `used` or `revoked`.
    pub status: String,
    /// Opened.
    pub created_at: NaiveDateTime,
    /// Ends.
    pub expires_at: NaiveDateTime,
    /// Rotated.
    pub used_at: Option<NaiveDateTime>,
}

/// The account's sessions.
pub fn sessions(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<SessionRecord>> {
    let (realm, conn) = s.parts();
    Ok(refresh_tokens::table
        .filter(refresh_tokens::tenant_id.eq(realm))
        .filter(refresh_tokens::subject_id.eq(account_id))
        .order(refresh_tokens::created_at.asc())
        .select((
            refresh_tokens::id,
            refresh_tokens::status,
            refresh_tokens::created_at,
            refresh_tokens::expires_at,
            refresh_tokens::used_at,
        ))
        .load(conn)?)
}

/// A single-use link as exported: purpose and dates, never its hash.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct LinkRecord {
    /// `invitation`, `password_reset` or `verify_email`.
    pub purpose: String,
    /// Sent.
    pub created_at: NaiveDateTime,
    /// Ends.
    pub expires_at: NaiveDateTime,
    /// Used.
    pub used_at: Option<NaiveDateTime>,
}

/// The account's single-use links.
pub fn links(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<LinkRecord>> {
    let (realm, conn) = s.parts();
    Ok(account_tokens::table
        .filter(account_tokens::tenant_id.eq(realm))
        .filter(account_tokens::account_id.eq(account_id))
        .order(account_tokens::created_at.asc())
        .select((
            account_tokens::purpose,
            account_tokens::created_at,
            account_tokens::expires_at,
            account_tokens::used_at,
        ))
        .load(conn)?)
}

/// Audit entries by or about the account: (seq, action, at, as actor).
pub fn audit_entries(
    s: &mut Scoped<'_>,
    account_id: &str,
) -> StoreResult<Vec<(i64, String, NaiveDateTime, bool)>> {
    let (realm, conn) = s.parts();
    let rows: Vec<(i64, String, NaiveDateTime, Option<String>)> = audit_log::table
        .filter(audit_log::tenant_id.eq(realm))
        .filter(
            audit_log::actor_id
                .eq(account_id)
                .or(audit_log::target_id.eq(account_id)),
        )
        .order(audit_log::seq.asc())
        .select((
            audit_log::seq,
            audit_log::action,
            audit_log::at,
            audit_log::actor_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(seq, action, at, actor)| (seq, action, at, actor.as_deref() == Some(account_id)))
        .collect())
}

/// Replaces the account's identifying fields, removes its roles, password and verification; returns 1 when it
/// existed.
pub fn anonymise_account(
    s: &mut Scoped<'_>,
    account_id: &str,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    let (realm, conn) = s.parts();
    diesel::delete(
        account_roles::table
            .filter(account_roles::tenant_id.eq(realm))
            .filter(account_roles::account_id.eq(account_id)),
    )
    .execute(conn)?;
    Ok(diesel::update(
        accounts::table
            .filter(accounts::tenant_id.eq(realm))
            .filter(accounts::id.eq(account_id)),
    )
    .set((
        accounts::email.eq(format!("erased-{account_id}@erased.invalid")),
        accounts::display_name.eq("Erased account"),
        accounts::password_hash.eq(None::<String>),
        accounts::specialty.eq(None::<String>),
        accounts::status.eq("erased"),
        accounts::email_verified_at.eq(None::<NaiveDateTime>),
        accounts::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Deletes the account's sessions and single-use links; returns how many rows.
pub fn delete_credentials(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<usize> {
    let (realm, conn) = s.parts();
    let sessions = diesel::delete(
        refresh_tokens::table
            .filter(refresh_tokens::tenant_id.eq(realm))
            .filter(refresh_tokens::subject_id.eq(account_id)),
    )
    .execute(conn)?;
    let links = diesel::delete(
        account_tokens::table
            .filter(account_tokens::tenant_id.eq(realm))
            .filter(account_tokens::account_id.eq(account_id)),
    )
    .execute(conn)?;
    Ok(sessions + links)
}

/// Deletes the answers kept for the account's idempotent requests (they may quote personal data).
pub fn delete_idempotency_records(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<usize> {
    let (realm, conn) = s.parts();
    Ok(diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::tenant_id.eq(realm))
            .filter(idempotency_keys::actor_id.eq(account_id)),
    )
    .execute(conn)?)
}

/// Anonymises the group person record when no other account or operator uses it any more (the caller's
/// transaction must see every tenant: system context); true when anonymised.
pub fn anonymise_person_if_unused(s: &mut Scoped<'_>, person_id: &str) -> StoreResult<bool> {
    let conn = s.conn();
    let accounts_left: i64 = accounts::table
        .filter(accounts::person_id.eq(person_id))
        .filter(accounts::status.ne("erased"))
        .count()
        .get_result(conn)?;
    let operators_left: i64 = operators::table
        .filter(operators::person_id.eq(person_id))
        .count()
        .get_result(conn)?;
    if accounts_left + operators_left > 0 {
        return Ok(false);
    }
    diesel::update(persons::table.filter(persons::id.eq(person_id)))
        .set(persons::email.eq(format!("erased-{person_id}@erased.invalid")))
        .execute(conn)?;
    Ok(true)
}

/// The realm's queued or finished jobs of `kind`: (id, payload), for the erasure to find the ones about an
/// account.
pub fn jobs_of_kind(s: &mut Scoped<'_>, kind: &str) -> StoreResult<Vec<(String, String)>> {
    let (realm, conn) = s.parts();
    Ok(jobs::table
        .filter(jobs::tenant_id.eq(realm))
        .filter(jobs::kind.eq(kind))
        .select((jobs::id, jobs::payload_json))
        .load(conn)?)
}

/// Deletes jobs of the realm by id, with their attempts (system context: the app role may not delete jobs).
pub fn delete_jobs(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<usize> {
    use crate::schema::job_attempts;
    let (realm, conn) = s.parts();
    diesel::delete(
        job_attempts::table
            .filter(job_attempts::tenant_id.eq(realm))
            .filter(job_attempts::job_id.eq_any(ids)),
    )
    .execute(conn)?;
    Ok(diesel::delete(
        jobs::table
            .filter(jobs::tenant_id.eq(realm))
            .filter(jobs::id.eq_any(ids)),
    )
    .execute(conn)?)
}
