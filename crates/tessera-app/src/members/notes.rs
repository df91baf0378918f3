//! Staff notes on members: written by staff and pros, never shown to members. A pro reads and writes notes
//! only on their own clients (members with an appointment or a class booking with them).

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_domain::ids::IdKind;
use tessera_domain::role::{Permission, Role};
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::members::{self, NoteRow};
use tessera_store::{Scoped, TxMode};

use super::tenant_of;
use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::{naive, App, AppError, AppResult, Ctx};

/// A note as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NoteView {
    /// Id.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// Who wrote it.
    pub author_id: String,
    /// Text.
    pub body: String,
    /// Written.
    pub created_at: DateTime<Utc>,
}

impl From<NoteRow> for NoteView {
    fn from(row: NoteRow) -> Self {
        NoteView {
            id: row.id,
            member_id: row.account_id,
            author_id: row.author_account_id,
            body: row.body,
            created_at: tessera_store::utc(row.created_at),
        }
    }
}

/// Checks that `principal` may see `member_id`'s notes: staff and admins always; a pro (without a staff
/// role) only for their own clients. Anyone else never learns the member exists.
fn check_notes_access(s: &mut Scoped<'_>, principal: &Principal, member_id: &str) -> AppResult<()> {
    members::find(s, member_id)?.ok_or(AppError::NotFound("member"))?;
    let staff_wide = principal.has(Role::Admin) || principal.has(Role::Staff);
    if staff_wide {
        return Ok(());
    }
    if principal.has(Role::Pro) && crate::clients::is_client_of(s, &principal.id, member_id)? {
        return Ok(());
    }
    Err(AppError::NotFound("member"))
}

impl App {
    /// A member's notes, newest first.
    pub async fn member_notes(&self, ctx: &Ctx, member_id: &str) -> AppResult<Vec<NoteView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, member_id, app) = (ctx.clone(), member_id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::MemberNotes)?;
                check_notes_access(s, &principal, &member_id)?;
                Ok(members::notes(s, &member_id)?
                    .into_iter()
                    .map(NoteView::from)
                    .collect())
            })
        })
        .await
    }

    /// Adds a note on a member.
    pub async fn add_member_note(
        &self,
        ctx: &Ctx,
        member_id: &str,
        body: &str,
    ) -> AppResult<NoteView> {
        let tenant = tenant_of(ctx)?;
        let body = body.trim().to_owned();
        if body.is_empty() || body.chars().count() > 4000 {
            return Err(FieldErrors::from(FieldError::new(
                "body",
                "invalid_length",
                "a note has 1 to 4000 characters",
            ))
            .into());
        }
        let now = self.clock().now();
        let (ctx, member_id, app) = (ctx.clone(), member_id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::MemberNotes)?;
                check_notes_access(s, &principal, &member_id)?;
                let row = NoteRow {
                    tenant_id: tenant.clone(),
                    id: IdKind::MemberNote.new_id(),
                    account_id: member_id.clone(),
                    author_account_id: principal.id.clone(),
                    body,
                    created_at: naive(now),
                };
                members::insert_note(s, &row)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("member.note_added", "account", &member_id),
                    now,
                )?;
                Ok(NoteView::from(row))
            })
        })
        .await
    }
}
