//! Selling a plan: at the desk by staff, or online by the member (which opens the 14-day withdrawal right and
//! needs a verified address). A new membership is `pending` until its first payment (billing) or staff
//! activate it; plans with nothing to pay up front (a trial, a free plan) start on their start day.

use chrono::{DateTime, NaiveDate, Utc};
use tessera_domain::gym::dates::add_months;
use tessera_domain::gym::membership::{commitment_until, withdrawal_deadline};
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::memberships::{self, MembershipRow};
use tessera_store::models::plans::{self, PlanRow};
use tessera_store::models::{accounts, members};
use tessera_store::{Scoped, TxMode};

use super::append_history;
use super::view::{self, MembershipView};
use crate::auth::authorize;
use crate::{naive, App, AppError, AppResult, Ctx};

/// A sale.
#[derive(Debug, Clone)]
pub struct SellMembership {
    /// The member (staff sales; online sales are for the caller or their dependant).
    pub member_id: Option<String>,
    /// The plan.
    pub plan_id: String,
    /// First day; today when absent.
    pub starts_on: Option<NaiveDate>,
}

/// Builds the membership row from the plan's terms.
pub(crate) fn from_plan(
    plan: &PlanRow,
    member_id: &str,
    starts_on: NaiveDate,
    online: bool,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> MembershipRow {
    let commitment = commitment_until(
        starts_on,
        u32::try_from(plan.commitment_months).unwrap_or(0),
    );
    let ends_on = plan
        .term_months
        .map(|m| add_months(starts_on, u32::try_from(m).unwrap_or(0)));
    MembershipRow {
        tenant_id: plan.tenant_id.clone(),
        id: IdKind::Membership.new_id(),
        account_id: member_id.to_owned(),
        plan_id: plan.id.clone(),
        status: "pending".into(),
        plan_name: plan.name.clone(),
        kind: plan.kind.clone(),
        price_amount: plan.price_amount,
        currency: plan.currency.clone(),
        billing_period: plan.billing_period.clone(),
        term_months: plan.term_months,
        commitment_months: plan.commitment_months,
        notice_days: plan.notice_days,
        enrolment_fee_amount: plan.enrolment_fee_amount,
        trial_days: plan.trial_days,
        freeze_max_days_per_year: plan.freeze_max_days_per_year,
        access_json: plan.access_json.clone(),
        sessions_total: plan.sessions,
        sessions_used: 0,
        starts_on,
        commitment_until: commitment,
        ends_on,
        sold_online: online,
        concluded_at: naive(now),
        withdrawal_until: online.then(|| withdrawal_deadline(today)),
        cancel_requested_at: None,
        cancel_reason: None,
        next_plan_id: None,
        next_plan_on: None,
        created_at: naive(now),
        updated_at: naive(now),
        billed_until: None,
    }
}

/// True when nothing is due before the membership may start.
pub(crate) fn starts_without_payment(row: &MembershipRow) -> bool {
    row.trial_days > 0 || (row.price_amount == 0 && row.enrolment_fee_amount == 0)
}

/// When and how a sale happens.
struct SaleTerms<'a> {
    starts_on: NaiveDate,
    online: bool,
    today: NaiveDate,
    app: &'a App,
    tenant: &'a crate::tenants::Tenant,
}

fn sell_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    plan: PlanRow,
    member_id: &str,
    sale: SaleTerms<'_>,
    now: DateTime<Utc>,
) -> AppResult<MembershipRow> {
    let SaleTerms {
        starts_on,
        online,
        today,
        app,
        tenant,
    } = sale;
    let mut row = from_plan(&plan, member_id, starts_on, online, today, now);
    memberships::insert(s, &row)?;
    let detail = serde_json::json!({ "plan_id": plan.id, "starts_on": starts_on, "sold_online": online,
        "price": row.price_amount, "currency": row.currency });
    append_history(s, &row, "created", None, &detail, ctx, now)?;
    if !starts_without_payment(&row) {
        // The first invoice (with the enrolment fee) is issued with the sale; paying it starts the membership.
        if let Some(due) = crate::billing::memberships::due_charge(s, &row, today)? {
            crate::billing::memberships::invoice_period_in(
                s,
                ctx,
                app,
                tenant,
                &mut row,
                &due,
                crate::billing::memberships::Finalise::Now,
                now,
            )?;
        }
    }
    if starts_without_payment(&row) && starts_on <= today {
        super::change(
            s,
            &mut row,
            super::Change {
                action: "activate",
                transition: Some(tessera_domain::gym::membership::MembershipAction::Activate),
                detail: serde_json::json!({ "reason": "nothing to pay up front" }),
                ctx,
                now,
            },
        )?;
    }
    Ok(row)
}

fn check_start(starts_on: NaiveDate, today: NaiveDate) -> AppResult<()> {
    if starts_on < today {
        return Err(FieldErrors::from(FieldError::new(
            "starts_on",
            "in_past",
            "a membership starts today or later",
        ))
        .into());
    }
    Ok(())
}

impl App {
    /// Sells a plan at the desk (`memberships.manage`): any active plan, public or staff-only.
    pub async fn sell_membership(
        &self,
        ctx: &Ctx,
        sale: SellMembership,
    ) -> AppResult<MembershipView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let starts_on = sale.starts_on.unwrap_or(today);
        check_start(starts_on, today)?;
        let Some(member_id) = sale.member_id.clone() else {
            return Err(FieldErrors::from(FieldError::new(
                "member_id",
                "required",
                "name the member",
            ))
            .into());
        };
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::MembershipsManage)?;
                members::find(s, &member_id)?.ok_or(AppError::NotFound("member"))?;
                let plan = plans::find(s, &sale.plan_id)?.ok_or(AppError::NotFound("plan"))?;
                if !crate::plans::on_sale(&plan, starts_on) {
                    return Err(AppError::Conflict {
                        code: "plan_not_on_sale",
                        detail: "this plan is not on sale on that day".into(),
                    });
                }
                let sale = SaleTerms {
                    starts_on,
                    online: false,
                    today,
                    app: &app,
                    tenant: &tenant,
                };
                let row = sell_in(s, &ctx, plan, &member_id, sale, now)?;
                view::load(s, row, today)
            })
        })
        .await
    }

    /// Buys a public plan online, for oneself or a dependant: needs a verified address, and opens the 14-day
    /// withdrawal right.
    pub async fn buy_membership(
        &self,
        ctx: &Ctx,
        sale: SellMembership,
    ) -> AppResult<MembershipView> {
        let tenant = self.tenant_for(ctx)?;
        let today = self.today_in(&tenant);
        let starts_on = sale.starts_on.unwrap_or(today);
        check_start(starts_on, today)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let buyer =
                    accounts::find(s, &principal.id)?.ok_or(AppError::NotFound("account"))?;
                if buyer.email_verified_at.is_none() {
                    return Err(AppError::Conflict {
                        code: "email_not_verified",
                        detail: "verify your e-mail address before buying online".into(),
                    });
                }
                let member_id = sale
                    .member_id
                    .clone()
                    .unwrap_or_else(|| principal.id.clone());
                crate::members::access_to(s, &principal, &member_id, true)?;
                members::find(s, &member_id)?.ok_or(AppError::NotFound("member"))?;
                let plan = plans::find(s, &sale.plan_id)?
                    .filter(|p| p.visibility == "public")
                    .ok_or(AppError::NotFound("plan"))?;
                if !crate::plans::on_sale(&plan, starts_on) {
                    return Err(AppError::Conflict {
                        code: "plan_not_on_sale",
                        detail: "this plan is not on sale on that day".into(),
                    });
                }
                let sale = SaleTerms {
                    starts_on,
                    online: true,
                    today,
                    app: &app,
                    tenant: &tenant,
                };
                let row = sell_in(s, &ctx, plan, &member_id, sale, now)?;
                view::load(s, row, today)
            })
        })
        .await
    }
}
