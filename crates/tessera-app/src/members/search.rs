//! Member search: accent- and case-insensitive prefixes of names, e-mail addresses, phone numbers and card
//! numbers, every word of the query matching (see `tessera_domain::gym::search`).

use tessera_domain::gym::search::{query_tokens, PREFIX_END};
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::members;
use tessera_store::TxMode;

use super::tenant_of;
use super::view::{self, MemberSummary};
use crate::auth::authorize;
use crate::pagination::{Page, PageRequest};
use crate::{App, AppResult, Ctx};

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Free text: names, e-mail, phone, card number; every word must match a prefix.
    pub q: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only members with this tag.
    pub tag: Option<String>,
}

impl App {
    /// `GET /api/v1/members?q=`: a page of matching members, by id.
    pub async fn search_members(
        &self,
        ctx: &Ctx,
        query: MemberQuery,
        page: PageRequest,
    ) -> AppResult<Page<MemberSummary>> {
        let tenant = tenant_of(ctx)?;
        let tokens = query.q.as_deref().map(query_tokens).unwrap_or_default();
        if query.q.as_deref().is_some_and(|q| q.chars().count() > 200) || tokens.len() > 8 {
            return Err(FieldErrors::from(FieldError::new(
                "q",
                "too_long",
                "at most 8 words and 200 characters",
            ))
            .into());
        }
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::MembersRead)?;
                let ids = members::search(
                    s,
                    &tokens,
                    PREFIX_END,
                    query.status.as_deref(),
                    query.tag.as_deref(),
                    page.after.as_deref(),
                    page.limit + 1,
                )?;
                let rows = view::summaries(s, &ids)?;
                Ok(Page::from_rows(rows, page.limit, |m: &MemberSummary| &m.id))
            })
        })
        .await
    }
}
