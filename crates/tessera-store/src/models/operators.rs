//! Group-level operator accounts. Read by the app role (operators log in on the group realm); written only in
//! the system context (`tessera user create --operator`).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::operators;
use crate::{DbConnection, StoreResult, System};

/// A stored operator.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = operators)]
pub struct OperatorRow {
    /// `opr_...`.
    pub id: String,
    /// Group person.
    pub person_id: String,
    /// Normalised e-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// `active` or `deactivated`.
    pub status: String,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// One operator by e-mail address.
pub fn find_by_email(conn: &mut DbConnection, email: &str) -> StoreResult<Option<OperatorRow>> {
    Ok(operators::table
        .filter(operators::email.eq(email))
        .select(OperatorRow::as_select())
        .first(conn)
        .optional()?)
}

/// One operator by id.
pub fn find(conn: &mut DbConnection, id: &str) -> StoreResult<Option<OperatorRow>> {
    Ok(operators::table
        .filter(operators::id.eq(id))
        .select(OperatorRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every operator.
pub fn list(conn: &mut DbConnection) -> StoreResult<Vec<OperatorRow>> {
    Ok(operators::table
        .order(operators::email.asc())
        .select(OperatorRow::as_select())
        .load(conn)?)
}

/// Inserts an operator.
pub fn insert(sys: &mut System<'_>, row: &OperatorRow) -> StoreResult<()> {
    diesel::insert_into(operators::table)
        .values(row)
        .execute(sys.conn())?;
    Ok(())
}

/// Replaces an operator's password hash.
pub fn set_password(
    sys: &mut System<'_>,
    id: &str,
    hash: &str,
    now: NaiveDateTime,
) -> StoreResult<usize> {
    Ok(
        diesel::update(operators::table.filter(operators::id.eq(id)))
            .set((
                operators::password_hash.eq(hash),
                operators::updated_at.eq(now),
            ))
            .execute(sys.conn())?,
    )
}
