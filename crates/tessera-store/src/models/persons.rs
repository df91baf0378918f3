//! Group-level person records: one per e-mail address across the group, so that one person's accounts in
//! several brands point at the same identity.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::persons;
use crate::{DbConnection, StoreResult};

/// The person with this (normalised) e-mail address, created if there is none. Safe under concurrency: the
/// insert does nothing when another transaction created the row first.
pub fn find_or_create(
    conn: &mut DbConnection,
    new_id: &str,
    email: &str,
    now: NaiveDateTime,
) -> StoreResult<String> {
    crate::on_backend!(&mut *conn, |c| diesel::insert_into(persons::table)
        .values((
            persons::id.eq(new_id),
            persons::email.eq(email),
            persons::created_at.eq(now)
        ))
        .on_conflict(persons::email)
        .do_nothing()
        .execute(c))?;
    Ok(persons::table
        .filter(persons::email.eq(email))
        .select(persons::id)
        .first(conn)?)
}
