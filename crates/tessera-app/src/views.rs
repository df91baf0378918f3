//! How accounts are shown, by the API (staff) and the CLI (users) alike.

use serde::Serialize;
use tessera_store::models::accounts::{self, AccountRow};
use tessera_store::models::operators::OperatorRow;
use tessera_store::{Scoped, StoreResult};

/// An account as people see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// Id.
    pub id: String,
    /// E-mail address.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// A pro's specialty.
    pub specialty: Option<String>,
    /// `invited`, `active` or `deactivated`.
    pub status: String,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl AccountView {
    /// The view of a brand account with its roles.
    pub fn new(row: AccountRow, roles: Vec<String>) -> AccountView {
        AccountView {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            roles,
            specialty: row.specialty,
            status: row.status,
            created_at: tessera_store::utc(row.created_at),
        }
    }

    /// The view of an operator.
    pub fn operator(row: OperatorRow) -> AccountView {
        AccountView {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            roles: vec!["operator".into()],
            specialty: None,
            status: row.status,
            created_at: tessera_store::utc(row.created_at),
        }
    }
}

/// The view of one account, reading its roles.
pub fn one(s: &mut Scoped<'_>, row: AccountRow) -> StoreResult<AccountView> {
    let roles = accounts::roles(s, &row.id)?;
    Ok(AccountView::new(row, roles))
}

/// The views of several accounts, reading all their roles in one query.
pub fn with_roles(s: &mut Scoped<'_>, rows: Vec<AccountRow>) -> StoreResult<Vec<AccountView>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let roles = accounts::roles_of(s, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = roles
                .iter()
                .filter(|(id, _)| *id == row.id)
                .map(|(_, role)| role.clone())
                .collect();
            AccountView::new(row, mine)
        })
        .collect())
}
