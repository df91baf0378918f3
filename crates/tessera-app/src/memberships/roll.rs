//! The daily roll: applies the changes that fall due on a day (a start without payment, a planned freeze
//! starting or ending, a cancellation or a term reaching its date, a plan change at the new period, a pack
//! used up). Run by the `memberships.roll` schedule every night after midnight in the brand's zone, and by
//! `tessera memberships roll` (which may name the day). Running it twice on a day changes nothing more.

use chrono::NaiveDate;
use tessera_domain::gym::membership::{transition, MembershipAction, MembershipStatus};
use tessera_domain::realm::Realm;
use tessera_store::models::memberships::{self, MembershipRow};
use tessera_store::models::plans;
use tessera_store::{Scoped, TxMode};

use super::lifecycle::{apply_plan, begin_freeze};
use super::sell::starts_without_payment;
use super::{change, status_of, Change};
use crate::{App, AppError, AppResult, Ctx};

/// The job kind and schedule name.
pub const ROLL_KIND: &str = "memberships.roll";

fn roll_one(
    s: &mut Scoped<'_>,
    row: &mut MembershipRow,
    today: NaiveDate,
    ctx: &Ctx,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<usize> {
    let mut changes = 0;
    let step = |s: &mut Scoped<'_>,
                row: &mut MembershipRow,
                action: MembershipAction,
                detail: serde_json::Value| {
        change(
            s,
            row,
            Change {
                action: action.as_str(),
                transition: Some(action),
                detail,
                ctx,
                now,
            },
        )
    };
    let status = status_of(row)?;
    let may_start = starts_without_payment(row) || crate::billing::memberships::paid_up(s, row)?;
    if status == MembershipStatus::Pending && may_start && row.starts_on <= today {
        step(
            s,
            row,
            MembershipAction::Activate,
            serde_json::json!({ "reason": "start date" }),
        )?;
        changes += 1;
    }
    if let Some(on) = row.next_plan_on.filter(|on| *on <= today) {
        if let Some(plan) = row
            .next_plan_id
            .clone()
            .and_then(|id| plans::find(s, &id).transpose())
        {
            let plan = plan?;
            apply_plan(row, &plan);
            let detail = serde_json::json!({ "plan_id": plan.id, "effective_on": on });
            change(
                s,
                row,
                Change {
                    action: "plan_changed",
                    transition: None,
                    detail,
                    ctx,
                    now,
                },
            )?;
            changes += 1;
        }
    }
    let freezes = memberships::freezes(s, &row.id)?;
    let covering = freezes
        .iter()
        .find(|f| f.starts_on <= today && today < f.ends_on);
    match (status_of(row)?, covering) {
        (MembershipStatus::Active, Some(freeze)) => {
            let freeze = freeze.clone();
            begin_freeze(s, row, &freeze, ctx, now)?;
            changes += 1;
        }
        (MembershipStatus::Frozen, None) => {
            step(
                s,
                row,
                MembershipAction::Unfreeze,
                serde_json::json!({ "on": today }),
            )?;
            changes += 1;
        }
        _ => {}
    }
    let pack_used_up = row.sessions_total.is_some_and(|t| row.sessions_used >= t);
    let due = row.ends_on.is_some_and(|end| end <= today) || pack_used_up;
    if due {
        let action = if row.cancel_requested_at.is_some() {
            MembershipAction::Cancel
        } else {
            MembershipAction::End
        };
        if transition(status_of(row)?, action).is_ok() {
            step(
                s,
                row,
                action,
                serde_json::json!({ "on": today, "pack_used_up": pack_used_up }),
            )?;
            changes += 1;
        }
    }
    Ok(changes)
}

impl App {
    /// Rolls every open membership of a brand to `day` (the brand's today when absent); returns how many
    /// changes were applied.
    pub async fn roll_memberships(
        &self,
        tenant_id: &str,
        day: Option<NaiveDate>,
    ) -> AppResult<usize> {
        let tenant = self
            .tenants()
            .by_id(tenant_id)
            .ok_or(AppError::NotFound("tenant"))?;
        let today = day.unwrap_or_else(|| self.today_in(&tenant));
        let ctx = Ctx::cli(Realm::Tenant {
            id: tenant.id.clone(),
            slug: tenant.slug.clone(),
        });
        let tenant_id = tenant.id.clone();
        let now = self.clock().now();
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let mut total = 0;
                for mut row in memberships::open(s)? {
                    total += roll_one(s, &mut row, today, &ctx, now)?;
                }
                Ok(total)
            })
        })
        .await
    }
}
