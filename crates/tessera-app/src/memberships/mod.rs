//! Memberships (`/api/v1/memberships`, `/api/v1/me/memberships`): a member on a plan with a contract, its state
//! machine (`tessera_domain::gym::membership`), freezes, plan changes, cancellation and withdrawal, the daily
//! roll that applies dated changes, and what it entitles the member to book.
//!
//! Every change goes through [`change`], which checks the transition, writes the row, appends to the history,
//! audits and publishes the event, in the caller's transaction.

pub mod cancellation;
pub mod entitlement;
pub mod lifecycle;
pub mod roll;
mod sell;
mod view;

pub use sell::SellMembership;
pub use view::{load as view_of, HistoryView, MembershipView};

use chrono::{DateTime, NaiveDate, Utc};
use tessera_domain::gym::dates::BillingPeriod;
use tessera_domain::gym::membership::{
    transition, ContractTerms, MembershipAction, MembershipStatus,
};
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_store::models::memberships::{self, HistoryRow, MembershipRow};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::members::tenant_of;
use crate::pagination::{Page, PageRequest};
use crate::{naive, App, AppError, AppResult, Ctx};

/// The status of a stored row.
pub(crate) fn status_of(row: &MembershipRow) -> AppResult<MembershipStatus> {
    MembershipStatus::parse(&row.status)
        .ok_or_else(|| AppError::Internal(format!("stored membership status {:?}", row.status)))
}

/// The contract terms of a stored row.
pub(crate) fn terms_of(row: &MembershipRow) -> ContractTerms {
    ContractTerms {
        billing_period: row
            .billing_period
            .as_deref()
            .and_then(|p| BillingPeriod::parse(p).ok()),
        commitment_months: u32::try_from(row.commitment_months).unwrap_or(0),
        notice_days: u32::try_from(row.notice_days).unwrap_or(0),
        term_months: row.term_months.and_then(|m| u32::try_from(m).ok()),
    }
}

/// The billing period containing `day` (recurring plans), for proration and the view.
pub(crate) fn current_period(
    row: &MembershipRow,
    day: NaiveDate,
) -> Option<(NaiveDate, NaiveDate)> {
    let period = BillingPeriod::parse(row.billing_period.as_deref()?).ok()?;
    Some(period.period_containing(row.starts_on, day.max(row.starts_on)))
}

/// The event type published for an action.
fn event_type(action: &str) -> &'static str {
    match action {
        "created" => "membership.created",
        "activate" => "membership.activated",
        "freeze" => "membership.frozen",
        "unfreeze" => "membership.unfrozen",
        "mark_past_due" => "membership.past_due",
        "suspend" => "membership.suspended",
        "reinstate" => "membership.reinstated",
        "cancel" => "membership.cancelled",
        "withdraw" => "membership.withdrawn",
        "end" => "membership.ended",
        "cancellation_scheduled" => "membership.cancellation_scheduled",
        "freeze_scheduled" => "membership.freeze_scheduled",
        "plan_changed" | "plan_change_scheduled" => "membership.plan_changed",
        _ => "membership.updated",
    }
}

/// One recorded change.
pub(crate) struct Change<'a> {
    /// History action name (an action's name, or `created`, `cancellation_scheduled`...).
    pub action: &'static str,
    /// The state-machine action, when the status moves.
    pub transition: Option<MembershipAction>,
    /// Details for the history, the audit log and the event.
    pub detail: serde_json::Value,
    /// The request's context.
    pub ctx: &'a Ctx,
    /// When.
    pub now: DateTime<Utc>,
}

/// Applies a change to `row` (already modified by the caller for anything but the status): checks and applies
/// the transition, writes the row, appends the history, audits and publishes.
pub(crate) fn change(s: &mut Scoped<'_>, row: &mut MembershipRow, c: Change<'_>) -> AppResult<()> {
    let from = status_of(row)?;
    let to = match c.transition {
        Some(action) => transition(from, action).map_err(|e| AppError::Conflict {
            code: "transition_not_allowed",
            detail: e.to_string(),
        })?,
        None => from,
    };
    row.status = to.as_str().to_owned();
    row.updated_at = naive(c.now);
    memberships::update(s, row)?;
    append_history(
        s,
        row,
        c.action,
        Some(from.as_str()),
        &c.detail,
        c.ctx,
        c.now,
    )?;
    Ok(())
}

fn append_history(
    s: &mut Scoped<'_>,
    row: &MembershipRow,
    action: &'static str,
    from: Option<&str>,
    detail: &serde_json::Value,
    ctx: &Ctx,
    now: DateTime<Utc>,
) -> AppResult<()> {
    memberships::record(
        s,
        &HistoryRow {
            tenant_id: row.tenant_id.clone(),
            id: IdKind::MembershipChange.new_id(),
            membership_id: row.id.clone(),
            action: action.to_owned(),
            from_status: from.map(str::to_owned),
            to_status: row.status.clone(),
            detail_json: detail.to_string(),
            actor_id: ctx.actor.as_ref().map(|a| a.subject_id.clone()),
            at: naive(now),
        },
    )?;
    let audit_action = event_type(action);
    let event = Event::on(audit_action, "membership", &row.id).with(detail.clone());
    audit::record(s, ctx, event, now)?;
    let data = serde_json::json!({
        "membership_id": row.id, "member_id": row.account_id, "plan_id": row.plan_id,
        "status": row.status, "from_status": from, "detail": detail,
    });
    crate::events::publish(s, ctx, audit_action, Some(&row.account_id), data, now)?;
    // Every membership change may change what doors decide: move the allowlist's version in this transaction.
    crate::access::touch(s, &row.account_id, now)?;
    Ok(())
}

/// The membership `id` if the caller may act on it: staff with `permission`, or the member (or their
/// guardian) when `own_allowed`. Anyone else: not found.
pub(crate) fn reachable(
    app: &App,
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    id: &str,
    permission: Permission,
    own_allowed: bool,
) -> AppResult<(Principal, MembershipRow)> {
    let principal = authorize(app.principals(), s, ctx, Permission::ProfileReadOwn)?;
    let row = memberships::find_locked(s, id)?.ok_or(AppError::NotFound("membership"))?;
    if permission.allowed_for(&principal.roles) {
        return Ok((principal, row));
    }
    if own_allowed {
        let mine = row.account_id == principal.id
            || tessera_store::models::members::find(s, &row.account_id)?
                .is_some_and(|p| p.guardian_account_id.as_deref() == Some(principal.id.as_str()));
        if mine {
            return Ok((principal, row));
        }
    }
    Err(AppError::NotFound("membership"))
}

impl App {
    /// A page of memberships (staff), optionally of one member or in one status.
    pub async fn list_memberships(
        &self,
        ctx: &Ctx,
        member_id: Option<String>,
        status: Option<String>,
        page: PageRequest,
    ) -> AppResult<Page<MembershipView>> {
        let tenant = tenant_of(ctx)?;
        let today = self.tenant_for(ctx).map(|t| self.today_in(&t))?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::MembershipsRead)?;
                let rows = memberships::list(
                    s,
                    member_id.as_deref(),
                    status.as_deref(),
                    page.after.as_deref(),
                    page.limit + 1,
                )?;
                let views = rows
                    .into_iter()
                    .map(|r| view::load(s, r, today))
                    .collect::<AppResult<Vec<_>>>()?;
                Ok(Page::from_rows(views, page.limit, |m: &MembershipView| {
                    &m.id
                }))
            })
        })
        .await
    }

    /// The caller's memberships (and their dependants'), newest first.
    pub async fn my_memberships(&self, ctx: &Ctx) -> AppResult<Vec<MembershipView>> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let mut rows = memberships::of_account(s, &principal.id)?;
                for dependant in tessera_store::models::members::dependants(s, &principal.id)? {
                    rows.extend(memberships::of_account(s, &dependant.account_id)?);
                }
                rows.into_iter().map(|r| view::load(s, r, today)).collect()
            })
        })
        .await
    }

    /// One membership: staff, the member or their guardian.
    pub async fn get_membership(&self, ctx: &Ctx, id: &str) -> AppResult<MembershipView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Read, |s| {
                let (_, row) = reachable(&app, s, &ctx, &id, Permission::MembershipsRead, true)?;
                view::load(s, row, today)
            })
        })
        .await
    }

    /// A membership's history, oldest first.
    pub async fn membership_history(&self, ctx: &Ctx, id: &str) -> AppResult<Vec<HistoryView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let (_, row) = reachable(&app, s, &ctx, &id, Permission::MembershipsRead, true)?;
                Ok(memberships::history(s, &row.id)?
                    .into_iter()
                    .map(HistoryView::from)
                    .collect())
            })
        })
        .await
    }
}
