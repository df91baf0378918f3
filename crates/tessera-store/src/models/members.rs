//! Member profiles and what hangs off them: consents (a history), staff notes, tags, and the folded search
//! terms that member search scans by prefix range.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::{
    member_consents, member_notes, member_profiles, member_search_terms, member_tags,
};
use crate::{Scoped, StoreResult};

/// A member's profile (the account row holds e-mail, display name and login state).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = member_profiles, treat_none_as_null = true)]
pub struct ProfileRow {
    /// Tenant.
    pub tenant_id: String,
    /// The member's account.
    pub account_id: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Phone number as typed (E.164 preferred).
    pub phone: Option<String>,
    /// Birth date.
    pub birth_date: Option<NaiveDate>,
    /// Postal address, JSON.
    pub address_json: Option<String>,
    /// Emergency contact, JSON.
    pub emergency_contact_json: Option<String>,
    /// Photo (a stored file id).
    pub photo_file_id: Option<String>,
    /// Preferred locale (`fr`, `en`).
    pub locale: String,
    /// Membership card number, unique in the brand.
    pub card_number: String,
    /// `active`, `inactive` or `blocked`.
    pub member_status: String,
    /// The guardian who manages this (minor) member.
    pub guardian_account_id: Option<String>,
    /// How the member came: `signup`, `walk_in`, `staff`, `import`.
    pub source: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// One recorded consent decision.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = member_consents)]
pub struct ConsentRow {
    /// Tenant.
    pub tenant_id: String,
    /// `cns_...`.
    pub id: String,
    /// The member.
    pub account_id: String,
    /// `marketing` or `health_data`.
    pub kind: String,
    /// Given (true) or withdrawn (false).
    pub granted: bool,
    /// Version of the text the member saw.
    pub text_version: String,
    /// When.
    pub recorded_at: NaiveDateTime,
    /// Who recorded it (the member, or staff at the desk).
    pub recorded_by: Option<String>,
}

/// A staff note on a member.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = member_notes)]
pub struct NoteRow {
    /// Tenant.
    pub tenant_id: String,
    /// `not_...`.
    pub id: String,
    /// The member.
    pub account_id: String,
    /// The staff member or pro who wrote it.
    pub author_account_id: String,
    /// Text.
    pub body: String,
    /// Written.
    pub created_at: NaiveDateTime,
}

/// A member's profile.
pub fn find(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Option<ProfileRow>> {
    let (tenant, conn) = s.parts();
    Ok(member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant))
        .filter(member_profiles::account_id.eq(account_id))
        .select(ProfileRow::as_select())
        .first(conn)
        .optional()?)
}

/// Profiles of several accounts.
pub fn find_many(s: &mut Scoped<'_>, account_ids: &[String]) -> StoreResult<Vec<ProfileRow>> {
    let (tenant, conn) = s.parts();
    let query = member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant))
        .select(ProfileRow::as_select());
    Ok(crate::load_any_of!(
        query,
        member_profiles::account_id,
        account_ids,
        conn
    )?)
}

/// The member with this card number.
pub fn find_by_card(s: &mut Scoped<'_>, card_number: &str) -> StoreResult<Option<ProfileRow>> {
    let (tenant, conn) = s.parts();
    Ok(member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant))
        .filter(member_profiles::card_number.eq(card_number))
        .select(ProfileRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts a profile.
pub fn insert(s: &mut Scoped<'_>, row: &ProfileRow) -> StoreResult<()> {
    diesel::insert_into(member_profiles::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// Writes every field of a profile.
pub fn update(s: &mut Scoped<'_>, row: &ProfileRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        member_profiles::table
            .filter(member_profiles::tenant_id.eq(tenant))
            .filter(member_profiles::account_id.eq(&row.account_id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// Minors whose guardian is `guardian_id`.
pub fn dependants(s: &mut Scoped<'_>, guardian_id: &str) -> StoreResult<Vec<ProfileRow>> {
    let (tenant, conn) = s.parts();
    Ok(member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant))
        .filter(member_profiles::guardian_account_id.eq(guardian_id))
        .order(member_profiles::account_id.asc())
        .select(ProfileRow::as_select())
        .load(conn)?)
}

/// Members created in `[from, until)`.
pub fn count_created(
    s: &mut Scoped<'_>,
    from: NaiveDateTime,
    until: NaiveDateTime,
) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    Ok(member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant))
        .filter(member_profiles::created_at.ge(from))
        .filter(member_profiles::created_at.lt(until))
        .count()
        .get_result(conn)?)
}

/// Replaces a member's search terms.
pub fn set_search_terms(s: &mut Scoped<'_>, account_id: &str, terms: &[String]) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        member_search_terms::table
            .filter(member_search_terms::tenant_id.eq(tenant))
            .filter(member_search_terms::account_id.eq(account_id)),
    )
    .execute(conn)?;
    for term in terms {
        diesel::insert_into(member_search_terms::table)
            .values((
                member_search_terms::tenant_id.eq(tenant),
                member_search_terms::term.eq(term),
                member_search_terms::account_id.eq(account_id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A prefix matching at most this many terms is read whole when the query has several words: the search then
/// runs on the intersection of their members.
const READ_CAP: usize = 20_000;
/// The same for a one-word query: a more common word is faster walked in id order, where its matches are dense.
const READ_CAP_ONE_WORD: usize = 2_000;
/// Candidates checked by one statement.
const CHUNK: usize = 1_000;

/// The members whose terms start with `prefix`, sorted, if there are at most `cap` such terms.
fn prefix_members(
    s: &mut Scoped<'_>,
    prefix: &str,
    end_char: char,
    cap: usize,
) -> StoreResult<Option<Vec<String>>> {
    let (tenant, conn) = s.parts();
    let mut ids: Vec<String> = member_search_terms::table
        .filter(member_search_terms::tenant_id.eq(tenant))
        .filter(member_search_terms::term.ge(prefix))
        .filter(member_search_terms::term.lt(format!("{prefix}{end_char}")))
        .select(member_search_terms::account_id)
        .limit(i64::try_from(cap).unwrap_or(i64::MAX) + 1)
        .load(conn)?;
    if ids.len() > cap {
        return Ok(None);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(ids))
}

/// The page's query over `member_profiles`: in id order, after `after`, among `among` when given, with an
/// `EXISTS` seek on the `(tenant_id, account_id, term)` index for each of `prefixes`, and the status and tag.
#[allow(clippy::too_many_arguments)] // One query's parts, named; a struct would only rename them.
fn page_of(
    s: &mut Scoped<'_>,
    among: Option<&[String]>,
    prefixes: &[&String],
    end_char: char,
    status: Option<&str>,
    tag: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let (tenant, conn) = s.parts();
    let mut query = member_profiles::table
        .filter(member_profiles::tenant_id.eq(tenant.to_owned()))
        .order(member_profiles::account_id.asc())
        .limit(limit)
        .select(member_profiles::account_id)
        .into_boxed();
    if let Some(ids) = among {
        query = query.filter(member_profiles::account_id.eq_any(ids.to_vec()));
    }
    for prefix in prefixes {
        query = query.filter(diesel::dsl::exists(
            member_search_terms::table
                .filter(member_search_terms::tenant_id.eq(member_profiles::tenant_id))
                .filter(member_search_terms::account_id.eq(member_profiles::account_id))
                .filter(member_search_terms::term.ge((*prefix).clone()))
                .filter(member_search_terms::term.lt(format!("{prefix}{end_char}"))),
        ));
    }
    if let Some(status) = status {
        query = query.filter(member_profiles::member_status.eq(status.to_owned()));
    }
    if let Some(tag) = tag {
        query = query.filter(diesel::dsl::exists(
            member_tags::table
                .filter(member_tags::tenant_id.eq(member_profiles::tenant_id))
                .filter(member_tags::account_id.eq(member_profiles::account_id))
                .filter(member_tags::tag.eq(tag.to_owned())),
        ));
    }
    if let Some(after) = after {
        query = query.filter(member_profiles::account_id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Members whose terms start with every one of `prefixes` (already folded), by account id, after `after`.
///
/// Each prefix matching at most [`READ_CAP`] terms ([`READ_CAP_ONE_WORD`] for a one-word query) is read whole, a range `term >= prefix AND term < prefix ||
/// U+10FFFF` of the primary key `(tenant_id, term, account_id)`, and their members are intersected. The page is
/// then read from `member_profiles` among those candidates, a chunk at a time, the very common prefixes (one or
/// two letters) checked by `EXISTS` seeks on the `(tenant_id, account_id, term)` index. With no readable prefix,
/// the members are walked in id order, where matches are dense, and the walk stops when the page is full.
pub fn search(
    s: &mut Scoped<'_>,
    prefixes: &[String],
    end_char: char,
    status: Option<&str>,
    tag: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<String>> {
    let mut candidates: Option<Vec<String>> = None;
    let mut common: Vec<&String> = Vec::new();
    // Longer prefixes first: they are usually the rarest, and an empty intersection ends the search early.
    let mut ordered: Vec<&String> = prefixes.iter().collect();
    ordered.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let cap = if prefixes.len() > 1 {
        READ_CAP
    } else {
        READ_CAP_ONE_WORD
    };
    for prefix in ordered {
        match prefix_members(s, prefix, end_char, cap)? {
            Some(ids) => {
                candidates = Some(match candidates {
                    None => ids,
                    Some(mut kept) => {
                        let ids: std::collections::HashSet<String> = ids.into_iter().collect();
                        kept.retain(|id| ids.contains(id));
                        kept
                    }
                });
                if candidates.as_ref().is_some_and(Vec::is_empty) {
                    return Ok(Vec::new());
                }
            }
            None => common.push(prefix),
        }
    }
    let Some(mut candidates) = candidates else {
        return page_of(s, None, &common, end_char, status, tag, after, limit);
    };
    if let Some(after) = after {
        candidates.retain(|id| id.as_str() > after);
    }
    let wanted = usize::try_from(limit).unwrap_or(0);
    let mut found = Vec::new();
    for chunk in candidates.chunks(CHUNK) {
        let left = i64::try_from(wanted - found.len()).unwrap_or(limit);
        found.extend(page_of(
            s,
            Some(chunk),
            &common,
            end_char,
            status,
            tag,
            None,
            left,
        )?);
        if found.len() >= wanted {
            break;
        }
    }
    Ok(found)
}

/// Records a consent decision.
pub fn insert_consent(s: &mut Scoped<'_>, row: &ConsentRow) -> StoreResult<()> {
    diesel::insert_into(member_consents::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// A member's consent decisions, oldest first.
pub fn consents(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<ConsentRow>> {
    let (tenant, conn) = s.parts();
    Ok(member_consents::table
        .filter(member_consents::tenant_id.eq(tenant))
        .filter(member_consents::account_id.eq(account_id))
        .order((
            member_consents::recorded_at.asc(),
            member_consents::id.asc(),
        ))
        .select(ConsentRow::as_select())
        .load(conn)?)
}

/// Adds a note.
pub fn insert_note(s: &mut Scoped<'_>, row: &NoteRow) -> StoreResult<()> {
    diesel::insert_into(member_notes::table)
        .values(row)
        .execute(s.conn())?;
    Ok(())
}

/// A member's notes, newest first.
pub fn notes(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<NoteRow>> {
    let (tenant, conn) = s.parts();
    Ok(member_notes::table
        .filter(member_notes::tenant_id.eq(tenant))
        .filter(member_notes::account_id.eq(account_id))
        .order(member_notes::id.desc())
        .select(NoteRow::as_select())
        .load(conn)?)
}

/// A member's tags, sorted.
pub fn tags(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<Vec<String>> {
    let (tenant, conn) = s.parts();
    Ok(member_tags::table
        .filter(member_tags::tenant_id.eq(tenant))
        .filter(member_tags::account_id.eq(account_id))
        .order(member_tags::tag.asc())
        .select(member_tags::tag)
        .load(conn)?)
}

/// Replaces a member's tags.
pub fn set_tags(s: &mut Scoped<'_>, account_id: &str, tags: &[String]) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        member_tags::table
            .filter(member_tags::tenant_id.eq(tenant))
            .filter(member_tags::account_id.eq(account_id)),
    )
    .execute(conn)?;
    for tag in tags {
        diesel::insert_into(member_tags::table)
            .values((
                member_tags::tenant_id.eq(tenant),
                member_tags::account_id.eq(account_id),
                member_tags::tag.eq(tag),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Deletes a member's profile, notes, tags, search terms and consents (erasure).
pub fn erase(s: &mut Scoped<'_>, account_id: &str) -> StoreResult<()> {
    set_search_terms(s, account_id, &[])?;
    set_tags(s, account_id, &[])?;
    let (tenant, conn) = s.parts();
    diesel::delete(
        member_notes::table
            .filter(member_notes::tenant_id.eq(tenant))
            .filter(member_notes::account_id.eq(account_id)),
    )
    .execute(conn)?;
    diesel::delete(
        member_consents::table
            .filter(member_consents::tenant_id.eq(tenant))
            .filter(member_consents::account_id.eq(account_id)),
    )
    .execute(conn)?;
    diesel::delete(
        member_profiles::table
            .filter(member_profiles::tenant_id.eq(tenant))
            .filter(member_profiles::account_id.eq(account_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// The e-mail addresses of several accounts, as (account id, e-mail) pairs.
pub fn emails(s: &mut Scoped<'_>, account_ids: &[String]) -> StoreResult<Vec<(String, String)>> {
    use crate::schema::accounts;
    let (tenant, conn) = s.parts();
    Ok(accounts::table
        .filter(accounts::tenant_id.eq(tenant))
        .filter(accounts::id.eq_any(account_ids))
        .select((accounts::id, accounts::email))
        .load(conn)?)
}
