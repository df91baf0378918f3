//! Door access: members' credentials, decisions (check-ins and refusals), presence, used rotating QR codes, and the
//! allowlist's version counter with the members each version concerned.

use crate::backend::any_of;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{
    access_changes, access_credentials, access_events, access_presence, access_qr_uses,
    access_versions,
};
use crate::{Scoped, StoreResult};

/// A member's credential.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_credentials)]
pub struct CredentialRow {
    /// Tenant.
    pub tenant_id: String,
    /// `crd_...`.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// `card`, `nfc` or `app`.
    pub kind: String,
    /// Card number, UID (hex, most significant byte first) or the app's public key (base64url).
    pub value: String,
    /// `active`, `revoked` or `replaced`.
    pub status: String,
    /// A note ("lost card", "wristband").
    pub label: Option<String>,
    /// The credential that replaced it.
    pub replaced_by: Option<String>,
    /// Issued.
    pub created_at: NaiveDateTime,
    /// Revoked or replaced.
    pub revoked_at: Option<NaiveDateTime>,
}

/// One door decision or override.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_events)]
pub struct AccessEventRow {
    /// Tenant.
    pub tenant_id: String,
    /// `acx_...`.
    pub id: String,
    /// The door (none for a staff override at the desk).
    pub device_id: Option<String>,
    /// Where.
    pub location_id: Option<String>,
    /// The member, when the credential was known.
    pub member_id: Option<String>,
    /// The credential, when known.
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
    /// The door's own id for an offline entry (idempotent uploads).
    pub client_event_id: Option<String>,
    /// Needs a look from staff.
    pub flagged: bool,
    /// Why it is flagged.
    pub flag_reason: Option<String>,
    /// The refusal an override overrode.
    pub override_of: Option<String>,
    /// Who overrode.
    pub override_by: Option<String>,
    /// Why.
    pub override_reason: Option<String>,
    /// When it happened.
    pub occurred_at: NaiveDateTime,
    /// When the server learnt of it.
    pub recorded_at: NaiveDateTime,
}

/// A member inside a location.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = access_presence)]
pub struct PresenceRow {
    /// Tenant.
    pub tenant_id: String,
    /// Where.
    pub location_id: String,
    /// Who.
    pub member_id: String,
    /// Since when.
    pub entered_at: NaiveDateTime,
    /// Through which door.
    pub device_id: Option<String>,
}

/// Stores a credential.
pub fn insert_credential(s: &mut Scoped<'_>, row: &CredentialRow) -> StoreResult<()> {
    diesel::insert_into(access_credentials::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// One credential by id.
pub fn find_credential(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<CredentialRow>> {
    let (tenant, conn) = s.parts();
    Ok(access_credentials::table
        .filter(access_credentials::tenant_id.eq(tenant))
        .filter(access_credentials::id.eq(id))
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()?)
}

/// The credential of this kind and value: the live one if any, else the latest revoked one.
pub fn find_by_value(
    s: &mut Scoped<'_>,
    kind: &str,
    value: &str,
) -> StoreResult<Option<CredentialRow>> {
    Ok(find_by_values(s, kind, &[value.to_owned()])?.pop())
}

/// For each of `values` that names a credential of this kind: the live one if any, else the latest revoked one
/// (a value can be issued again after a revocation: a lost card found). In no particular order.
pub fn find_by_values(
    s: &mut Scoped<'_>,
    kind: &str,
    values: &[String],
) -> StoreResult<Vec<CredentialRow>> {
    let (tenant, conn) = s.parts();
    let query = access_credentials::table
        .filter(access_credentials::tenant_id.eq(tenant))
        .filter(access_credentials::kind.eq(kind))
        .select(CredentialRow::as_select());
    let rows: Vec<CredentialRow> =
        crate::load_any_of!(query, access_credentials::value, values, conn)?;
    Ok(one_per_value(rows))
}

/// How a door ranks the credentials of one value: the highest is the one it reads, a live one above any revoked
/// one, then the latest issued.
pub fn door_rank(active: bool, created_at: NaiveDateTime) -> (bool, NaiveDateTime) {
    (active, created_at)
}

/// Of credentials of one kind, the one a door reads for each value: the live one if any, else the latest revoked
/// one. In no particular order.
pub fn one_per_value(rows: impl IntoIterator<Item = CredentialRow>) -> Vec<CredentialRow> {
    let mut chosen: std::collections::HashMap<String, CredentialRow> =
        std::collections::HashMap::new();
    for row in rows {
        let rank = |r: &CredentialRow| door_rank(r.status == "active", r.created_at);
        if chosen
            .get(&row.value)
            .is_none_or(|held| rank(&row) > rank(held))
        {
            chosen.insert(row.value.clone(), row);
        }
    }
    chosen.into_values().collect()
}

/// Credentials by id.
pub fn find_credentials(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<CredentialRow>> {
    let (tenant, conn) = s.parts();
    let query = access_credentials::table
        .filter(access_credentials::tenant_id.eq(tenant))
        .select(CredentialRow::as_select());
    Ok(crate::load_any_of!(
        query,
        access_credentials::id,
        ids,
        conn
    )?)
}

/// A member's credentials, oldest first.
pub fn of_member(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<Vec<CredentialRow>> {
    let (tenant, conn) = s.parts();
    let mut rows: Vec<CredentialRow> = access_credentials::table
        .filter(access_credentials::tenant_id.eq(tenant))
        .filter(access_credentials::member_id.eq(member_id))
        .select(CredentialRow::as_select())
        .load(conn)?;
    // Sorted here: `ORDER BY id` makes SQLite walk the brand's primary key (every credential of the brand) to skip
    // the sort, instead of the (tenant_id, member_id) index.
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// The live credentials of several members.
pub fn active_of_members(
    s: &mut Scoped<'_>,
    member_ids: &[String],
) -> StoreResult<Vec<CredentialRow>> {
    let (tenant, conn) = s.parts();
    let mut out = Vec::new();
    for chunk in member_ids.chunks(500) {
        out.extend(
            access_credentials::table
                .filter(access_credentials::tenant_id.eq(tenant))
                .filter(access_credentials::member_id.eq_any(chunk))
                .filter(access_credentials::status.eq("active"))
                .select(CredentialRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Every live credential of the realm.
pub fn all_active(s: &mut Scoped<'_>) -> StoreResult<Vec<DoorCredentialRow>> {
    let (tenant, conn) = s.parts();
    Ok(access_credentials::table
        .filter(access_credentials::tenant_id.eq(tenant))
        .filter(access_credentials::status.eq("active"))
        .select(DoorCredentialRow::as_select())
        .load(conn)?)
}

/// What a door's allowlist needs of a credential: without the timestamps, whose parsing was the largest share of
/// building a 100,000-credential allowlist.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = access_credentials)]
pub struct DoorCredentialRow {
    /// `crd_...`.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// `card`, `nfc` or `app`.
    pub kind: String,
    /// Card number, UID or public key.
    pub value: String,
}

impl From<&CredentialRow> for DoorCredentialRow {
    fn from(c: &CredentialRow) -> Self {
        DoorCredentialRow {
            id: c.id.clone(),
            member_id: c.member_id.clone(),
            kind: c.kind.clone(),
            value: c.value.clone(),
        }
    }
}

/// Ends a live credential (`revoked` or `replaced`); false when it was not live.
pub fn end_credential(
    s: &mut Scoped<'_>,
    id: &str,
    status: &str,
    replaced_by: Option<&str>,
    at: NaiveDateTime,
) -> StoreResult<bool> {
    let (tenant, conn) = s.parts();
    let n = diesel::update(
        access_credentials::table
            .filter(access_credentials::tenant_id.eq(tenant))
            .filter(access_credentials::id.eq(id))
            .filter(access_credentials::status.eq("active")),
    )
    .set((
        access_credentials::status.eq(status),
        access_credentials::replaced_by.eq(replaced_by),
        access_credentials::revoked_at.eq(at),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes a member's credentials (erasure).
pub fn delete_of_member(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::delete(
        access_credentials::table
            .filter(access_credentials::tenant_id.eq(tenant))
            .filter(access_credentials::member_id.eq(member_id)),
    )
    .execute(conn)?)
}

/// Stores a decision.
pub fn insert_event(s: &mut Scoped<'_>, row: &AccessEventRow) -> StoreResult<()> {
    insert_events(s, std::slice::from_ref(row))
}

/// Stores decisions, one statement per hundred.
pub fn insert_events(s: &mut Scoped<'_>, rows: &[AccessEventRow]) -> StoreResult<()> {
    // Under SQLite's limit on bound values (19 a row).
    for chunk in rows.chunks(100) {
        crate::on_backend!(s.conn(), |c| diesel::insert_into(access_events::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// One decision.
pub fn find_event(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<AccessEventRow>> {
    let (tenant, conn) = s.parts();
    Ok(access_events::table
        .filter(access_events::tenant_id.eq(tenant))
        .filter(access_events::id.eq(id))
        .select(AccessEventRow::as_select())
        .first(conn)
        .optional()?)
}

/// A door's offline entry already uploaded.
pub fn find_client_event(
    s: &mut Scoped<'_>,
    device_id: &str,
    client_event_id: &str,
) -> StoreResult<Option<AccessEventRow>> {
    let (tenant, conn) = s.parts();
    Ok(access_events::table
        .filter(access_events::tenant_id.eq(tenant))
        .filter(access_events::device_id.eq(device_id))
        .filter(access_events::client_event_id.eq(client_event_id))
        .select(AccessEventRow::as_select())
        .first(conn)
        .optional()?)
}

/// Decisions filtered by member, location, flag, after a cursor (by id, newest first).
pub fn list_events(
    s: &mut Scoped<'_>,
    member_id: Option<&str>,
    location_id: Option<&str>,
    flagged: Option<bool>,
    before: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<AccessEventRow>> {
    let (tenant, conn) = s.parts();
    let mut query = access_events::table
        .filter(access_events::tenant_id.eq(tenant.to_owned()))
        .into_boxed();
    if let Some(member) = member_id {
        query = query.filter(access_events::member_id.eq(member.to_owned()));
    }
    if let Some(location) = location_id {
        query = query.filter(access_events::location_id.eq(location.to_owned()));
    }
    // The flag as the column itself, not compared with a bound value: the flagged rows' index is partial (`WHERE
    // flagged`), and a planner uses it only for a condition it can see implies that one.
    match flagged {
        Some(true) => query = query.filter(access_events::flagged),
        Some(false) => query = query.filter(diesel::dsl::not(access_events::flagged)),
        None => {}
    }
    if let Some(before) = before {
        query = query.filter(access_events::id.lt(before.to_owned()));
    }
    Ok(query
        .order(access_events::id.desc())
        .limit(limit)
        .select(AccessEventRow::as_select())
        .load(conn)?)
}

/// When each of several members was let in (allowed entries) between two instants: (member, when) pairs.
pub fn entries_of(
    s: &mut Scoped<'_>,
    member_ids: &[String],
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<Vec<(String, NaiveDateTime)>> {
    let (tenant, conn) = s.parts();
    let query = access_events::table
        .filter(access_events::tenant_id.eq(tenant))
        .filter(access_events::occurred_at.ge(from))
        .filter(access_events::occurred_at.lt(until))
        .filter(access_events::direction.eq("in"))
        .filter(access_events::decision.eq("allow"))
        .select((access_events::member_id, access_events::occurred_at));
    let rows: Vec<(Option<String>, NaiveDateTime)> =
        crate::load_any_of!(query, access_events::member_id, member_ids, conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(member, at)| Some((member?, at)))
        .collect())
}

/// Allowed entries and exits at a location between two instants, oldest first: (member, direction, when).
pub fn movements_between(
    s: &mut Scoped<'_>,
    location_id: &str,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<Vec<(Option<String>, String, NaiveDateTime)>> {
    let (tenant, conn) = s.parts();
    Ok(access_events::table
        .filter(access_events::tenant_id.eq(tenant))
        .filter(access_events::location_id.eq(location_id))
        .filter(access_events::occurred_at.ge(from))
        .filter(access_events::occurred_at.lt(until))
        .filter(access_events::decision.eq("allow"))
        .order(access_events::occurred_at.asc())
        .select((
            access_events::member_id,
            access_events::direction,
            access_events::occurred_at,
        ))
        .load(conn)?)
}

/// Forgets the member of their decisions (erasure keeps the counts, not the person).
pub fn anonymise_events(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::update(
        access_events::table
            .filter(access_events::tenant_id.eq(tenant))
            .filter(access_events::member_id.eq(member_id)),
    )
    .set((
        access_events::member_id.eq(None::<String>),
        access_events::credential_id.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// A member's decisions (export), oldest first.
pub fn events_of_member(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<Vec<AccessEventRow>> {
    let (tenant, conn) = s.parts();
    Ok(access_events::table
        .filter(access_events::tenant_id.eq(tenant))
        .filter(access_events::member_id.eq(member_id))
        .order(access_events::id.asc())
        .select(AccessEventRow::as_select())
        .load(conn)?)
}

/// The member's presence at a location.
pub fn presence(
    s: &mut Scoped<'_>,
    location_id: &str,
    member_id: &str,
) -> StoreResult<Option<PresenceRow>> {
    Ok(presence_of(s, location_id, &[member_id.to_owned()])?.pop())
}

/// The presences of several members in a location.
pub fn presence_of(
    s: &mut Scoped<'_>,
    location_id: &str,
    member_ids: &[String],
) -> StoreResult<Vec<PresenceRow>> {
    let (tenant, conn) = s.parts();
    let query = access_presence::table
        .filter(access_presence::tenant_id.eq(tenant))
        .filter(access_presence::location_id.eq(location_id))
        .select(PresenceRow::as_select());
    Ok(crate::load_any_of!(
        query,
        access_presence::member_id,
        member_ids,
        conn
    )?)
}

/// Records an entry. Fails with a unique violation when the member is already inside: the database's
/// guarantee behind anti-passback.
pub fn enter(s: &mut Scoped<'_>, row: &PresenceRow) -> StoreResult<()> {
    enter_many(s, std::slice::from_ref(row))
}

/// Records entries of several members, as [`enter`] does, one statement per hundred.
pub fn enter_many(s: &mut Scoped<'_>, rows: &[PresenceRow]) -> StoreResult<()> {
    for chunk in rows.chunks(100) {
        crate::on_backend!(s.conn(), |c| diesel::insert_into(access_presence::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Records an exit (or forgets a stale presence).
pub fn leave(s: &mut Scoped<'_>, location_id: &str, member_id: &str) -> StoreResult<usize> {
    leave_many(s, location_id, &[member_id.to_owned()])
}

/// Records exits of several members from one location.
pub fn leave_many(
    s: &mut Scoped<'_>,
    location_id: &str,
    member_ids: &[String],
) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::delete(
        access_presence::table
            .filter(access_presence::tenant_id.eq(tenant))
            .filter(access_presence::location_id.eq(location_id))
            .filter(any_of(access_presence::member_id, member_ids)),
    )
    .execute(conn)?)
}

/// Forgets a member's presence older than `before` (timed out), so that a new entry can take its place.
pub fn leave_before(
    s: &mut Scoped<'_>,
    location_id: &str,
    member_id: &str,
    before: NaiveDateTime,
) -> StoreResult<usize> {
    leave_before_many(s, location_id, &[member_id.to_owned()], before)
}

/// Forgets the timed-out presences of several members in one location.
pub fn leave_before_many(
    s: &mut Scoped<'_>,
    location_id: &str,
    member_ids: &[String],
    before: NaiveDateTime,
) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::delete(
        access_presence::table
            .filter(access_presence::tenant_id.eq(tenant))
            .filter(access_presence::location_id.eq(location_id))
            .filter(any_of(access_presence::member_id, member_ids))
            .filter(access_presence::entered_at.le(before)),
    )
    .execute(conn)?)
}

/// Moves the presences of members already inside to a new entry (time and door): one statement per hundred on
/// PostgreSQL, one per member on SQLite. A row gone meanwhile (an exit recorded by another process) is written
/// again, since the member just came in.
pub fn move_many(s: &mut Scoped<'_>, rows: &[PresenceRow]) -> StoreResult<()> {
    crate::backend::own_realm(s.realm_key(), rows.iter().map(|r| &r.tenant_id))?;
    let key = (
        access_presence::tenant_id,
        access_presence::location_id,
        access_presence::member_id,
    );
    match s.conn() {
        crate::DbConnection::Postgres(c) => {
            for chunk in rows.chunks(100) {
                diesel::insert_into(access_presence::table)
                    .values(chunk)
                    .on_conflict(key)
                    .do_update()
                    .set(crate::replace_columns!(access_presence: entered_at, device_id))
                    .execute(c)?;
            }
        }
        // SQLite (in-process, no round trips) writes them one by one: diesel builds no multi-row upsert for it.
        crate::DbConnection::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(access_presence::table)
                    .values(row)
                    .on_conflict(key)
                    .do_update()
                    .set(crate::replace_columns!(access_presence: entered_at, device_id))
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Who is inside a location, entered since `since` (older presences have timed out).
pub fn inside(
    s: &mut Scoped<'_>,
    location_id: &str,
    since: NaiveDateTime,
) -> StoreResult<Vec<PresenceRow>> {
    let (tenant, conn) = s.parts();
    Ok(access_presence::table
        .filter(access_presence::tenant_id.eq(tenant))
        .filter(access_presence::location_id.eq(location_id))
        .filter(access_presence::entered_at.ge(since))
        .order(access_presence::entered_at.asc())
        .select(PresenceRow::as_select())
        .load(conn)?)
}

/// Deletes a member's presence everywhere (erasure).
pub fn delete_presence_of(s: &mut Scoped<'_>, member_id: &str) -> StoreResult<usize> {
    let (tenant, conn) = s.parts();
    Ok(diesel::delete(
        access_presence::table
            .filter(access_presence::tenant_id.eq(tenant))
            .filter(access_presence::member_id.eq(member_id)),
    )
    .execute(conn)?)
}

/// A rotating QR code's use.
#[derive(Debug, Clone)]
pub struct QrUse {
    /// The app credential.
    pub credential_id: String,
    /// The code's issue time (Unix seconds): with the credential, what makes a code.
    pub issued_at: i64,
    /// The door.
    pub device_id: Option<String>,
    /// When.
    pub used_at: NaiveDateTime,
}

/// Records a rotating QR code's use; fails with a unique violation when it was used already.
pub fn use_qr(
    s: &mut Scoped<'_>,
    credential_id: &str,
    issued_at: i64,
    device_id: Option<&str>,
    at: NaiveDateTime,
) -> StoreResult<()> {
    use_qr_many(
        s,
        &[QrUse {
            credential_id: credential_id.to_owned(),
            issued_at,
            device_id: device_id.map(str::to_owned),
            used_at: at,
        }],
    )
}

/// Records the uses of several codes, as [`use_qr`] does: a code used already fails the whole statement.
pub fn use_qr_many(s: &mut Scoped<'_>, uses: &[QrUse]) -> StoreResult<()> {
    let tenant = s.realm_key().to_owned();
    for chunk in uses.chunks(100) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|u| {
                (
                    access_qr_uses::tenant_id.eq(tenant.clone()),
                    access_qr_uses::credential_id.eq(u.credential_id.clone()),
                    access_qr_uses::issued_at.eq(u.issued_at),
                    access_qr_uses::device_id.eq(u.device_id.clone()),
                    access_qr_uses::used_at.eq(u.used_at),
                )
            })
            .collect();
        crate::on_backend!(s.conn(), |c| diesel::insert_into(access_qr_uses::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// Which of these codes (credential, issue time) were used already.
pub fn qr_used_of(s: &mut Scoped<'_>, codes: &[(String, i64)]) -> StoreResult<Vec<(String, i64)>> {
    let (tenant, conn) = s.parts();
    let credentials: Vec<String> = codes.iter().map(|(c, _)| c.clone()).collect();
    let times: Vec<i64> = codes.iter().map(|(_, t)| *t).collect();
    // A superset (each credential with each time), narrowed to the exact pairs here.
    let found: Vec<(String, i64)> = access_qr_uses::table
        .filter(access_qr_uses::tenant_id.eq(tenant))
        .filter(any_of(access_qr_uses::credential_id, &credentials))
        .filter(access_qr_uses::issued_at.eq_any(times))
        .select((access_qr_uses::credential_id, access_qr_uses::issued_at))
        .load(conn)?;
    Ok(found.into_iter().filter(|f| codes.contains(f)).collect())
}

/// The realm's allowlist version (0 before any change).
pub fn version(s: &mut Scoped<'_>) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    Ok(access_versions::table
        .filter(access_versions::tenant_id.eq(tenant))
        .select(access_versions::version)
        .first(conn)
        .optional()?
        .unwrap_or(0))
}

/// Bumps the realm's allowlist version for a change to `member_id`'s access, in the caller's transaction; returns
/// the new version. The counter row is locked until the transaction ends, so versions are gap-free and ordered
/// by commit.
pub fn bump(s: &mut Scoped<'_>, member_id: &str, at: NaiveDateTime) -> StoreResult<i64> {
    let tenant = s.realm_key().to_owned();
    // The first change of a brand creates its counter; concurrent first changes meet on the key, not on an error.
    crate::on_backend!(s.conn(), |c| diesel::insert_into(access_versions::table)
        .values((
            access_versions::tenant_id.eq(&tenant),
            access_versions::version.eq(0_i64),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    let current = {
        let conn = s.conn();
        crate::load_locked!(
            conn,
            access_versions::table
                .filter(access_versions::tenant_id.eq(&tenant))
                .select(access_versions::version),
            i64
        )?
    };
    let next = current.first().copied().unwrap_or(0) + 1;
    diesel::update(access_versions::table.filter(access_versions::tenant_id.eq(&tenant)))
        .set(access_versions::version.eq(next))
        .execute(s.conn())?;
    diesel::insert_into(access_changes::table)
        .values((
            access_changes::tenant_id.eq(&tenant),
            access_changes::version.eq(next),
            access_changes::member_id.eq(member_id),
            access_changes::changed_at.eq(at),
        ))
        .execute(s.conn())?;
    Ok(next)
}

/// The members whose access changed after `since`, each once.
pub fn changed_since(s: &mut Scoped<'_>, since: i64) -> StoreResult<Vec<String>> {
    let (tenant, conn) = s.parts();
    let mut ids: Vec<String> = access_changes::table
        .filter(access_changes::tenant_id.eq(tenant))
        .filter(access_changes::version.gt(since))
        .select(access_changes::member_id)
        .load(conn)?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Members whose profile is blocked by staff.
pub fn blocked_members(s: &mut Scoped<'_>) -> StoreResult<Vec<String>> {
    use crate::schema::member_profiles;
    let (tenant, conn) = s.parts();
    Ok(member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant))
        .filter(member_profiles::member_status.eq("blocked"))
        .select(member_profiles::account_id)
        .load(conn)?)
}
