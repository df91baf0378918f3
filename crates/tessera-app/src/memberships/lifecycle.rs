//! Status changes driven by staff or billing (activate, past due, suspend, reinstate, end), freezes, and plan
//! changes with their proration.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use tessera_domain::gym::membership::{
    check_freeze, contract_year, prorate, ChangeTiming, FreezeRefused, MembershipAction,
    MembershipStatus, Proration,
};
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::memberships::{self, FreezeRow, MembershipRow};
use tessera_store::models::plans;
use tessera_store::{Scoped, TxMode};

use super::view::{self, MembershipView};
use super::{change, current_period, reachable, status_of, Change};
use crate::{naive, App, AppError, AppResult, Ctx};

/// Actions staff (and billing) may apply directly.
pub const STAFF_ACTIONS: [MembershipAction; 5] = [
    MembershipAction::Activate,
    MembershipAction::MarkPastDue,
    MembershipAction::Suspend,
    MembershipAction::Reinstate,
    MembershipAction::End,
];

/// A freeze request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreezeRequest {
    /// First frozen day (today or later).
    #[schema(value_type = String, format = Date)]
    pub starts_on: NaiveDate,
    /// First day active again.
    #[schema(value_type = String, format = Date)]
    pub ends_on: NaiveDate,
    /// Why (medical, travel...).
    pub reason: Option<String>,
}

/// The result of a plan change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanChanged {
    /// The membership after the change (or with the change scheduled).
    pub membership: MembershipView,
    /// What billing credits and charges (zero amounts for a change at the next period).
    pub proration: Proration,
}

/// Days of `freezes` inside `[from, until)`.
fn frozen_days_within(freezes: &[FreezeRow], from: NaiveDate, until: NaiveDate) -> u32 {
    freezes
        .iter()
        .map(|f| {
            let start = f.starts_on.max(from);
            let end = f.ends_on.min(until);
            u32::try_from((end - start).num_days().max(0)).unwrap_or(0)
        })
        .sum()
}

/// Starts a freeze on `row` now: status, and the contract's dates moved by its length.
pub(crate) fn begin_freeze(
    s: &mut Scoped<'_>,
    row: &mut MembershipRow,
    freeze: &FreezeRow,
    ctx: &Ctx,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let days = Duration::days((freeze.ends_on - freeze.starts_on).num_days());
    row.commitment_until += days;
    if row.cancel_requested_at.is_none() {
        row.ends_on = row.ends_on.map(|d| d + days);
    }
    let detail = serde_json::json!({ "freeze_id": freeze.id, "starts_on": freeze.starts_on,
        "ends_on": freeze.ends_on, "commitment_until": row.commitment_until });
    change(
        s,
        row,
        Change {
            action: "freeze",
            transition: Some(MembershipAction::Freeze),
            detail,
            ctx,
            now,
        },
    )
}

impl App {
    /// Applies a staff or billing action (`memberships.manage`): activate, mark past due, suspend, reinstate, end.
    pub async fn apply_membership_action(
        &self,
        ctx: &Ctx,
        id: &str,
        action: &str,
    ) -> AppResult<MembershipView> {
        let Some(action) = STAFF_ACTIONS.into_iter().find(|a| a.as_str() == action) else {
            return Err(FieldErrors::from(FieldError::new(
                "action",
                "unknown_action",
                "activate, mark_past_due, suspend, reinstate or end",
            ))
            .into());
        };
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let now = self.clock().now();
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let (_, mut row) =
                    reachable(&app, s, &ctx, &id, Permission::MembershipsManage, false)?;
                let detail = serde_json::json!({ "by": "staff" });
                change(
                    s,
                    &mut row,
                    Change {
                        action: action.as_str(),
                        transition: Some(action),
                        detail,
                        ctx: &ctx,
                        now,
                    },
                )?;
                view::load(s, row, today)
            })
        })
        .await
    }

    /// Freezes a membership (staff, the member or their guardian) within the plan's yearly allowance. A freeze
    /// starting today applies at once; a later one is planned and the daily roll applies it.
    pub async fn freeze_membership(
        &self,
        ctx: &Ctx,
        id: &str,
        request: FreezeRequest,
    ) -> AppResult<MembershipView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let now = self.clock().now();
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let (_, mut row) = reachable(&app, s, &ctx, &id, Permission::MembershipsManage, true)?;
                let status = status_of(&row)?;
                if status != MembershipStatus::Active {
                    return Err(AppError::Conflict {
                        code: "transition_not_allowed",
                        detail: format!("a {} membership cannot freeze", status.as_str()),
                    });
                }
                let freezes = memberships::freezes(s, &row.id)?;
                if freezes.iter().any(|f| f.starts_on < request.ends_on && request.starts_on < f.ends_on) {
                    return Err(AppError::Conflict {
                        code: "freeze_overlaps",
                        detail: "another freeze covers some of these days".into(),
                    });
                }
                let (year_start, year_end) = contract_year(row.starts_on, request.starts_on);
                let used = frozen_days_within(&freezes, year_start, year_end);
                let max = u32::try_from(row.freeze_max_days_per_year).unwrap_or(0);
                check_freeze(today, request.starts_on, request.ends_on, max, used).map_err(|e| {
                    let (field, code) = match e {
                        FreezeRefused::EndBeforeStart => ("ends_on", "end_before_start"),
                        FreezeRefused::StartsInPast => ("starts_on", "in_past"),
                        FreezeRefused::OverAllowance { .. } => ("ends_on", "freeze_allowance_exceeded"),
                    };
                    AppError::from(FieldErrors::from(FieldError::new(field, code, e.to_string())))
                })?;
                let freeze = FreezeRow {
                    tenant_id: row.tenant_id.clone(),
                    id: IdKind::Freeze.new_id(),
                    membership_id: row.id.clone(),
                    starts_on: request.starts_on,
                    ends_on: request.ends_on,
                    reason: request.reason.map(|r| r.chars().take(500).collect()),
                    created_at: naive(now),
                    cancelled_at: None,
                };
                memberships::insert_freeze(s, &freeze)?;
                if freeze.starts_on <= today {
                    begin_freeze(s, &mut row, &freeze, &ctx, now)?;
                } else {
                    let detail = serde_json::json!({ "freeze_id": freeze.id, "starts_on": freeze.starts_on,
                        "ends_on": freeze.ends_on });
                    change(s, &mut row, Change { action: "freeze_scheduled", transition: None, detail, ctx: &ctx, now })?;
                }
                view::load(s, row, today)
            })
        })
        .await
    }

    /// Ends the current freeze today (staff, the member or their guardian); the contract's dates move back by
    /// the days not used.
    pub async fn unfreeze_membership(&self, ctx: &Ctx, id: &str) -> AppResult<MembershipView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let now = self.clock().now();
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let (_, mut row) =
                    reachable(&app, s, &ctx, &id, Permission::MembershipsManage, true)?;
                end_current_freeze(s, &mut row, today, &ctx, now)?;
                view::load(s, row, today)
            })
        })
        .await
    }

    /// Changes the plan (`memberships.manage`, or the member online): now, with the current period prorated,
    /// or at the start of the next period. The new plan must be of the same kind and currency.
    pub async fn change_membership_plan(
        &self,
        ctx: &Ctx,
        id: &str,
        plan_id: &str,
        timing: ChangeTiming,
    ) -> AppResult<PlanChanged> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let now = self.clock().now();
        let (ctx, id, plan_id, app) =
            (ctx.clone(), id.to_owned(), plan_id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let (principal, mut row) =
                    reachable(&app, s, &ctx, &id, Permission::MembershipsManage, true)?;
                let plan = plans::find(s, &plan_id)?.ok_or(AppError::NotFound("plan"))?;
                let staff = Permission::MembershipsManage.allowed_for(&principal.roles);
                if !staff && plan.visibility != "public" {
                    return Err(AppError::NotFound("plan"));
                }
                if !crate::plans::on_sale(&plan, today) {
                    return Err(AppError::Conflict { code: "plan_not_on_sale", detail: "this plan is not on sale".into() });
                }
                let status = status_of(&row)?;
                if !matches!(status, MembershipStatus::Active | MembershipStatus::Pending) || row.cancel_requested_at.is_some() {
                    return Err(AppError::Conflict {
                        code: "transition_not_allowed",
                        detail: format!("a {} membership cannot change plan", status.as_str()),
                    });
                }
                if plan.kind != "recurring" || row.kind != "recurring" || plan.currency != row.currency {
                    return Err(AppError::Conflict {
                        code: "plan_change_not_allowed",
                        detail: "plans change between recurring plans of the same currency".into(),
                    });
                }
                if plan.id == row.plan_id {
                    return Err(AppError::Conflict { code: "same_plan", detail: "this is the current plan".into() });
                }
                let (period_start, period_end) =
                    current_period(&row, today).unwrap_or((today, today + Duration::days(1)));
                let proration = match timing {
                    ChangeTiming::Now => {
                        let p = prorate(row.price_amount, plan.price_amount, period_start, period_end, today);
                        let old_name = row.plan_name.clone();
                        apply_plan(&mut row, &plan);
                        // The remaining days are billed at once (an invoice, or a credit note for a downgrade);
                        // a membership not billed yet (pending) is billed at the new price by its first invoice.
                        if row.billed_until.is_some_and(|end| end > today) {
                            crate::billing::memberships::bill_plan_change_in(
                                s, &ctx, &app, &tenant, &row, &old_name, period_start, &p, now,
                            )?;
                        }
                        p
                    }
                    ChangeTiming::NextPeriod => {
                        row.next_plan_id = Some(plan.id.clone());
                        row.next_plan_on = Some(period_end);
                        let mut p = prorate(row.price_amount, plan.price_amount, period_start, period_end, period_end);
                        p.rule = "no proration: the new price applies from the next period".into();
                        p
                    }
                };
                let action = match timing {
                    ChangeTiming::Now => "plan_changed",
                    ChangeTiming::NextPeriod => "plan_change_scheduled",
                };
                let detail = serde_json::json!({ "plan_id": plan.id, "timing": timing,
                    "effective_on": proration.effective_on, "credit": proration.credit, "charge": proration.charge });
                change(s, &mut row, Change { action, transition: None, detail, ctx: &ctx, now })?;
                Ok(PlanChanged { membership: view::load(s, row, today)?, proration })
            })
        })
        .await
    }
}

/// Puts `row` on `plan`'s price and access (kind, currency and contract dates stay).
pub(crate) fn apply_plan(row: &mut MembershipRow, plan: &plans::PlanRow) {
    row.plan_id = plan.id.clone();
    row.plan_name = plan.name.clone();
    row.price_amount = plan.price_amount;
    row.billing_period = plan.billing_period.clone();
    row.access_json = plan.access_json.clone();
    row.freeze_max_days_per_year = plan.freeze_max_days_per_year;
    row.next_plan_id = None;
    row.next_plan_on = None;
}

/// Ends the freeze covering `today`, giving back the unused days to the contract's dates.
pub(crate) fn end_current_freeze(
    s: &mut Scoped<'_>,
    row: &mut MembershipRow,
    today: NaiveDate,
    ctx: &Ctx,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let status = status_of(row)?;
    if status != MembershipStatus::Frozen {
        return Err(AppError::Conflict {
            code: "transition_not_allowed",
            detail: format!("a {} membership cannot unfreeze", status.as_str()),
        });
    }
    let freezes = memberships::freezes(s, &row.id)?;
    if let Some(current) = freezes
        .iter()
        .find(|f| f.starts_on <= today && today < f.ends_on)
    {
        let unused = Duration::days((current.ends_on - today).num_days());
        memberships::end_freeze(s, &current.id, today, None)?;
        row.commitment_until -= unused;
        if row.cancel_requested_at.is_none() {
            row.ends_on = row.ends_on.map(|d| d - unused);
        }
    }
    let detail = serde_json::json!({ "on": today, "commitment_until": row.commitment_until });
    change(
        s,
        row,
        Change {
            action: "unfreeze",
            transition: Some(MembershipAction::Unfreeze),
            detail,
            ctx,
            now,
        },
    )
}
