//! How memberships are shown.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tessera_domain::gym::plan::AccessRules;
use tessera_domain::money::Money;
use tessera_store::models::memberships::{self, HistoryRow, MembershipRow};
use tessera_store::Scoped;

use crate::AppResult;

/// A freeze as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FreezeView {
    /// Id.
    pub id: String,
    /// First frozen day.
    #[schema(value_type = String, format = Date)]
    pub starts_on: NaiveDate,
    /// First day active again.
    #[schema(value_type = String, format = Date)]
    pub ends_on: NaiveDate,
    /// Why.
    pub reason: Option<String>,
}

/// A membership as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MembershipView {
    /// Id.
    pub id: String,
    /// The member.
    pub member_id: String,
    /// The plan sold.
    pub plan_id: String,
    /// Its name at sale.
    pub plan_name: String,
    /// `recurring`, `fixed_term` or `class_pack`.
    pub kind: String,
    /// `pending`, `active`, `frozen`, `past_due`, `suspended`, `cancelled` or `ended`.
    pub status: String,
    /// Price per period (or of the term or pack), for billing.
    pub price: Money,
    /// Billing period, for billing.
    pub billing_period: Option<String>,
    /// Enrolment fee, for billing.
    pub enrolment_fee: Money,
    /// Free trial, days.
    pub trial_days: i32,
    /// What it gives access to.
    pub access: AccessRules,
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub starts_on: NaiveDate,
    /// End of the minimum commitment (moved by freezes).
    #[schema(value_type = String, format = Date)]
    pub commitment_until: NaiveDate,
    /// First day without it, when known (term end, or the effective date of a cancellation).
    #[schema(value_type = Option<String>, format = Date)]
    pub ends_on: Option<NaiveDate>,
    /// The current billing period `[start, end)`, for recurring plans.
    #[schema(value_type = Option<Vec<String>>)]
    pub current_period: Option<(NaiveDate, NaiveDate)>,
    /// Sessions of a pack: total.
    pub sessions_total: Option<i32>,
    /// Sessions left in a pack.
    pub sessions_left: Option<i32>,
    /// Concluded online.
    pub sold_online: bool,
    /// When the contract was concluded.
    pub concluded_at: DateTime<Utc>,
    /// Last day of the 14-day withdrawal right, for online sales.
    #[schema(value_type = Option<String>, format = Date)]
    pub withdrawal_until: Option<NaiveDate>,
    /// When cancellation was asked.
    pub cancel_requested_at: Option<DateTime<Utc>>,
    /// A plan change waiting for the next period.
    pub next_plan_id: Option<String>,
    /// When it takes over.
    #[schema(value_type = Option<String>, format = Date)]
    pub next_plan_on: Option<NaiveDate>,
    /// Freezes (past, current and planned).
    pub freezes: Vec<FreezeView>,
    /// Where to see the cancellation terms and confirm them (`GET` then `POST`), while it can be cancelled.
    pub cancellation_url: Option<String>,
}

/// One change in a membership's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryView {
    /// What happened.
    pub action: String,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: String,
    /// Details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// Who (absent for the system).
    pub actor_id: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl From<HistoryRow> for HistoryView {
    fn from(row: HistoryRow) -> Self {
        HistoryView {
            action: row.action,
            from_status: row.from_status,
            to_status: row.to_status,
            detail: serde_json::from_str(&row.detail_json).unwrap_or(serde_json::Value::Null),
            actor_id: row.actor_id,
            at: tessera_store::utc(row.at),
        }
    }
}

/// The view of a membership on `today` (the brand's date).
pub fn load(s: &mut Scoped<'_>, row: MembershipRow, today: NaiveDate) -> AppResult<MembershipView> {
    let freezes = memberships::freezes(s, &row.id)?
        .into_iter()
        .map(|f| FreezeView {
            id: f.id,
            starts_on: f.starts_on,
            ends_on: f.ends_on,
            reason: f.reason,
        })
        .collect();
    let current_period = super::current_period(&row, today);
    let cancellable =
        !matches!(row.status.as_str(), "cancelled" | "ended") && row.cancel_requested_at.is_none();
    Ok(MembershipView {
        cancellation_url: cancellable
            .then(|| format!("/api/v1/memberships/{}/cancellation", row.id)),
        id: row.id,
        member_id: row.account_id,
        plan_id: row.plan_id,
        plan_name: row.plan_name,
        kind: row.kind,
        status: row.status,
        price: Money {
            amount: row.price_amount,
            currency: row.currency.clone(),
        },
        billing_period: row.billing_period,
        enrolment_fee: Money {
            amount: row.enrolment_fee_amount,
            currency: row.currency,
        },
        trial_days: row.trial_days,
        access: serde_json::from_str(&row.access_json).unwrap_or_default(),
        starts_on: row.starts_on,
        commitment_until: row.commitment_until,
        ends_on: row.ends_on,
        current_period,
        sessions_total: row.sessions_total,
        sessions_left: row.sessions_total.map(|t| t - row.sessions_used),
        sold_online: row.sold_online,
        concluded_at: tessera_store::utc(row.concluded_at),
        withdrawal_until: row.withdrawal_until,
        cancel_requested_at: row.cancel_requested_at.map(tessera_store::utc),
        next_plan_id: row.next_plan_id,
        next_plan_on: row.next_plan_on,
        freezes,
    })
}
