//! Cancellation and withdrawal. A member cancels online in three requests (French law for contracts sold
//! online): list their memberships (`GET /api/v1/me/memberships`, each with its `cancellation_url`), read the
//! terms (`GET .../cancellation`: the end date computed from notice, commitment and billing period), confirm
//! (`POST .../cancellation`). A contract concluded online may also be withdrawn from within 14 days, at once.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tessera_domain::gym::membership::{
    cancellation_effective_on, MembershipAction, MembershipStatus,
};
use tessera_domain::role::Permission;
use tessera_store::models::memberships::MembershipRow;
use tessera_store::TxMode;

use super::view::{self, MembershipView};
use super::{change, reachable, status_of, terms_of, Change};
use crate::{naive, App, AppError, AppResult, Ctx};

/// The terms of a cancellation asked today, shown before confirming.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CancellationQuote {
    /// The membership.
    pub membership_id: String,
    /// Asked on (the brand's date).
    #[schema(value_type = String, format = Date)]
    pub asked_on: NaiveDate,
    /// The first day without the membership.
    #[schema(value_type = String, format = Date)]
    pub effective_on: NaiveDate,
    /// The last day of access.
    #[schema(value_type = String, format = Date)]
    pub last_day: NaiveDate,
    /// End of the minimum commitment.
    #[schema(value_type = String, format = Date)]
    pub commitment_until: NaiveDate,
    /// Notice, days.
    pub notice_days: i32,
    /// The rule applied, in words.
    pub rule: String,
    /// True while the 14-day withdrawal right runs: withdrawing ends the contract at once.
    pub withdrawal_available: bool,
    /// Where to confirm (`POST`).
    pub confirm_url: String,
}

/// A confirmed cancellation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CancellationConfirmed {
    /// The terms applied.
    pub cancellation: CancellationQuote,
    /// The membership now.
    pub membership: MembershipView,
}

fn quote_for(row: &MembershipRow, today: NaiveDate) -> AppResult<CancellationQuote> {
    let status = status_of(row)?;
    if status.is_final() {
        return Err(AppError::Conflict {
            code: "transition_not_allowed",
            detail: format!("a {} membership cannot be cancelled", status.as_str()),
        });
    }
    if row.cancel_requested_at.is_some() {
        return Err(AppError::Conflict {
            code: "already_cancelled",
            detail: "a cancellation was already confirmed".into(),
        });
    }
    let terms = terms_of(row);
    let effective_on = if status == MembershipStatus::Pending || row.kind == "class_pack" {
        // Nothing started, or nothing runs on: it ends today.
        today.max(row.starts_on.min(today))
    } else {
        let term_end = row.ends_on.filter(|_| row.kind == "fixed_term");
        cancellation_effective_on(&terms, row.starts_on, row.commitment_until, term_end, today)
    };
    let effective_on = effective_on.max(today);
    Ok(CancellationQuote {
        membership_id: row.id.clone(),
        asked_on: today,
        effective_on,
        last_day: effective_on.pred_opt().unwrap_or(effective_on),
        commitment_until: row.commitment_until,
        notice_days: row.notice_days,
        rule: "the notice runs from today; the membership never ends before its commitment; a recurring plan ends at the end of the billing period in which both are over".into(),
        withdrawal_available: row.withdrawal_until.is_some_and(|d| today <= d)
            && matches!(status, MembershipStatus::Pending | MembershipStatus::Active),
        confirm_url: format!("/api/v1/memberships/{}/cancellation", row.id),
    })
}

impl App {
    /// The terms of cancelling today (staff, the member or their guardian); nothing is written.
    pub async fn cancellation_quote(&self, ctx: &Ctx, id: &str) -> AppResult<CancellationQuote> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Read, |s| {
                let (_, row) = reachable(&app, s, &ctx, &id, Permission::MembershipsManage, true)?;
                quote_for(&row, today)
            })
        })
        .await
    }

    /// Confirms a cancellation with the terms of today: the end date is fixed, the daily roll ends the
    /// membership on it (at once when it is today).
    pub async fn confirm_cancellation(
        &self,
        ctx: &Ctx,
        id: &str,
        reason: Option<String>,
    ) -> AppResult<CancellationConfirmed> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let now = self.clock().now();
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let (_, mut row) = reachable(&app, s, &ctx, &id, Permission::MembershipsManage, true)?;
                let quote = quote_for(&row, today)?;
                row.cancel_requested_at = Some(naive(now));
                row.cancel_reason = reason.map(|r| r.chars().take(500).collect());
                row.ends_on = Some(quote.effective_on);
                row.next_plan_id = None;
                row.next_plan_on = None;
                let detail = serde_json::json!({ "effective_on": quote.effective_on, "reason": row.cancel_reason });
                change(s, &mut row, Change { action: "cancellation_scheduled", transition: None, detail, ctx: &ctx, now })?;
                if quote.effective_on <= today {
                    let detail = serde_json::json!({ "effective_on": quote.effective_on });
                    change(s, &mut row, Change { action: "cancel", transition: Some(MembershipAction::Cancel), detail, ctx: &ctx, now })?;
                }
                Ok(CancellationConfirmed { cancellation: quote, membership: view::load(s, row, today)? })
            })
        })
        .await
    }

    /// Withdraws from a contract concluded online within its 14 days: it ends today, and billing refunds what
    /// was paid (the event `membership.withdrawn` carries what it needs).
    pub async fn withdraw_membership(&self, ctx: &Ctx, id: &str) -> AppResult<MembershipView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let now = self.clock().now();
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let (_, mut row) = reachable(&app, s, &ctx, &id, Permission::MembershipsManage, true)?;
                match row.withdrawal_until {
                    Some(until) if today <= until => {}
                    Some(_) => {
                        return Err(AppError::Conflict {
                            code: "withdrawal_period_over",
                            detail: "the 14-day withdrawal period is over; cancel instead".into(),
                        })
                    }
                    None => {
                        return Err(AppError::Conflict {
                            code: "withdrawal_not_available",
                            detail: "only contracts concluded online can be withdrawn from".into(),
                        })
                    }
                }
                row.ends_on = Some(today);
                row.cancel_requested_at = Some(naive(now));
                let detail = serde_json::json!({ "on": today, "refund_due": true,
                    "concluded_at": DateTime::<Utc>::from_naive_utc_and_offset(row.concluded_at, Utc) });
                change(s, &mut row, Change { action: "withdraw", transition: Some(MembershipAction::Withdraw), detail, ctx: &ctx, now })?;
                view::load(s, row, today)
            })
        })
        .await
    }
}
