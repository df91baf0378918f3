//! Billing of memberships: the invoice of a period (idempotent by its billing key), what a payment settles
//! (activation, reinstatement) and the dunning steps of an unpaid membership.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use tessera_domain::billing::periods::{next_billing, BillingFacts, DueCharge};
use tessera_domain::billing::{dunning_step, DunningFacts};
use tessera_domain::gym::dates::BillingPeriod;
use tessera_domain::gym::membership::{MembershipAction, MembershipStatus, Proration};
use tessera_store::models::invoices::{self, InvoiceRow};
use tessera_store::models::memberships::{self, FreezeRow, MembershipRow};
use tessera_store::Scoped;

use super::documents::{
    build, draft_own_invoices_in, finalise_all_in, finalise_in, issue_own_invoice_in, locale_of,
    DocumentSpec, NewLine, OwnInvoice,
};
use crate::memberships::{change, status_of, Change};
use crate::tenants::Tenant;
use crate::{App, AppResult, Ctx};

/// The billing facts of a stored membership.
pub(crate) fn due_charge(
    s: &mut Scoped<'_>,
    row: &MembershipRow,
    today: NaiveDate,
) -> AppResult<Option<DueCharge>> {
    let freezes = memberships::freezes(s, &row.id)?;
    Ok(due_of(row, &freezes, today))
}

/// [`due_charge`] with the membership's freezes already read (those not called off).
pub(crate) fn due_of(
    row: &MembershipRow,
    freezes: &[FreezeRow],
    today: NaiveDate,
) -> Option<DueCharge> {
    let freezes: Vec<(NaiveDate, NaiveDate)> = freezes
        .iter()
        .filter(|f| f.membership_id == row.id)
        .map(|f| (f.starts_on, f.ends_on))
        .collect();
    let facts = BillingFacts {
        kind: &row.kind,
        billing_period: row
            .billing_period
            .as_deref()
            .and_then(|p| BillingPeriod::parse(p).ok()),
        term_months: row.term_months.and_then(|m| u32::try_from(m).ok()),
        starts_on: row.starts_on,
        trial_days: u32::try_from(row.trial_days).unwrap_or(0),
        billed_until: row.billed_until,
        ends_on: row.ends_on,
        freezes: &freezes,
    };
    next_billing(&facts, today)
}

/// The billing key of a membership's period: at most one invoice per membership and period, ever.
pub(crate) fn billing_key(membership_id: &str, period_start: NaiveDate) -> String {
    format!("membership:{membership_id}:{period_start}")
}

/// When an invoice issued in a transaction gets its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finalise {
    /// At once.
    Now,
    /// By the caller, with [`finalise_in`], before its transaction commits (a billing run's batch).
    Later,
}

/// Invoices (drafts, and finalises when `finalise` says so) the period `due` of `row` in the caller's
/// transaction, and moves `billed_until`. Returns the invoice, or None when there is nothing to pay (a free
/// plan). A period already invoiced is not invoiced again: the existing invoice is returned.
#[allow(clippy::too_many_arguments)]
pub(crate) fn invoice_period_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    row: &mut MembershipRow,
    due: &DueCharge,
    finalise: Finalise,
    now: DateTime<Utc>,
) -> AppResult<Option<InvoiceRow>> {
    let mut periods = [(row.clone(), due.clone())];
    let issued = invoice_periods_in(s, ctx, app, tenant, &mut periods, finalise, now)?;
    let [(billed, _)] = periods;
    *row = billed;
    Ok(issued.into_iter().next().flatten())
}

/// [`invoice_period_in`] for several periods (of distinct memberships, or successive periods of one, in order),
/// in a few statements whatever their number (a billing run's batch): the billing keys looked up together, the
/// memberships moved by one statement per end date, the invoices drafted together. Returns, for each period,
/// its invoice (found or made) or None.
pub(crate) fn invoice_periods_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    periods: &mut [(MembershipRow, DueCharge)],
    finalise: Finalise,
    now: DateTime<Utc>,
) -> AppResult<Vec<Option<InvoiceRow>>> {
    let keys: Vec<String> = periods
        .iter()
        .map(|(row, due)| billing_key(&row.id, due.period_start))
        .collect();
    let mut found: HashMap<String, InvoiceRow> = invoices::by_billing_keys(s, &keys)?
        .into_iter()
        .filter_map(|i| Some((i.billing_key.clone()?, i)))
        .collect();
    let mut out: Vec<Option<InvoiceRow>> = vec![None; periods.len()];
    let (mut owns, mut made_for) = (Vec::new(), Vec::new());
    let mut billed_until: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for (at, ((row, due), key)) in periods.iter_mut().zip(keys).enumerate() {
        if let Some(existing) = found.remove(&key) {
            out[at] = Some(existing);
            continue;
        }
        let vat = tenant.config.billing.membership_vat.clone();
        let last_day = due.period_end.pred_opt().unwrap_or(due.period_end);
        let (item, description) = match row.kind.as_str() {
            "pack" => (
                "class_pack",
                format!(
                    "{} ({} sessions)",
                    row.plan_name,
                    row.sessions_total.unwrap_or(0)
                ),
            ),
            _ => (
                "plan_period",
                format!("{} — {} → {}", row.plan_name, due.period_start, last_day),
            ),
        };
        let mut lines = vec![NewLine {
            item: item.into(),
            description,
            goods: false,
            quantity: 1,
            unit_price: row.price_amount,
            vat_code: vat.clone(),
        }];
        if due.first && row.enrolment_fee_amount > 0 {
            let description = if locale_of(s, tenant, &row.account_id)? == "fr" {
                "Frais d'inscription"
            } else {
                "Enrolment fee"
            };
            lines.push(NewLine {
                item: "enrolment_fee".into(),
                description: description.into(),
                goods: false,
                quantity: 1,
                unit_price: row.enrolment_fee_amount,
                vat_code: vat,
            });
        }
        row.billed_until = Some(due.period_end);
        let until = billed_until.entry(row.id.clone()).or_insert(due.period_end);
        *until = (*until).max(due.period_end);
        if lines.iter().all(|l| l.unit_price == 0) {
            continue;
        }
        owns.push(OwnInvoice {
            account_id: row.account_id.clone(),
            currency: row.currency.clone(),
            lines,
            membership_id: Some(row.id.clone()),
            billing_key: key,
            period: Some((due.period_start, due.period_end)),
            created_by: None,
        });
        made_for.push(at);
    }
    let mut moved: BTreeMap<NaiveDate, Vec<String>> = BTreeMap::new();
    for (id, until) in billed_until {
        moved.entry(until).or_default().push(id);
    }
    for (until, ids) in &moved {
        memberships::set_billed_until(s, ids, *until)?;
    }
    let mut drafts = draft_own_invoices_in(s, tenant, owns, now)?;
    if finalise == Finalise::Now {
        finalise_all_in(s, ctx, app, tenant, &mut drafts, now)?;
    }
    for (at, invoice) in made_for.into_iter().zip(drafts) {
        out[at] = Some(invoice);
    }
    Ok(out)
}

/// Bills a plan change made now, in the caller's transaction, from the gym core's proration: the new plan's
/// remaining days minus the old plan's unused ones. More to pay: an invoice for the difference (its billing key
/// names the change, so it is issued once). Less: a credit note on the current period's invoice, capped at what
/// that invoice can still be credited (nothing when the period was not invoiced). Returns the document issued.
#[allow(clippy::too_many_arguments)]
pub(crate) fn bill_plan_change_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    row: &MembershipRow,
    old_plan_name: &str,
    period_start: NaiveDate,
    proration: &Proration,
    now: DateTime<Utc>,
) -> AppResult<Option<InvoiceRow>> {
    let net = proration.charge - proration.credit;
    if net == 0 {
        return Ok(None);
    }
    let description = format!(
        "{old_plan_name} → {} — {}/{} days from {}",
        row.plan_name, proration.days_left, proration.period_days, proration.effective_on
    );
    let line = NewLine {
        item: "plan_period".into(),
        description,
        goods: false,
        quantity: 1,
        unit_price: net.abs(),
        vat_code: tenant.config.billing.membership_vat.clone(),
    };
    let period = row.billed_until.map(|end| (proration.effective_on, end));
    if net > 0 {
        let key = format!(
            "membership:{}:change:{}:{}",
            row.id, proration.effective_on, row.plan_id
        );
        if let Some(existing) = invoices::by_billing_key(s, &key)? {
            return Ok(Some(existing));
        }
        let own = OwnInvoice {
            account_id: row.account_id.clone(),
            currency: row.currency.clone(),
            lines: vec![line],
            membership_id: Some(row.id.clone()),
            billing_key: key,
            period,
            created_by: None,
        };
        return Ok(Some(issue_own_invoice_in(s, ctx, app, tenant, own, now)?));
    }
    // A downgrade: credit the current period's invoice.
    let Some(mut invoice) = invoices::by_billing_key(s, &billing_key(&row.id, period_start))?
    else {
        return Ok(None);
    };
    let mut line = line;
    line.unit_price = line
        .unit_price
        .min(invoice.total_incl - invoice.amount_credited);
    if line.unit_price <= 0 || invoice.status == "draft" {
        return Ok(None);
    }
    let buyer = serde_json::from_str(&invoice.buyer_json)
        .map_err(|e| crate::AppError::Internal(format!("stored buyer: {e}")))?;
    let spec = DocumentSpec {
        kind: "credit_note",
        account_id: invoice.account_id.clone(),
        payer_account_id: invoice.payer_account_id.clone(),
        buyer,
        currency: invoice.currency.clone(),
        locale: invoice.locale.clone(),
        lines: vec![line],
        membership_id: Some(row.id.clone()),
        billing_key: None,
        corrects_invoice_id: Some(invoice.id.clone()),
        period,
        created_by: None,
    };
    let (mut note, lines) = build(tenant, spec, now)?;
    if note.total_incl > invoice.total_incl - invoice.amount_credited {
        // VAT rounding of the capped line: credit nothing rather than more than the invoice.
        return Ok(None);
    }
    invoices::insert(s, &note, &lines)?;
    finalise_in(s, ctx, app, tenant, &mut note, now)?;
    invoice.amount_credited += note.total_incl;
    invoice.status = super::documents::settled_status(&invoice).to_owned();
    invoice.updated_at = crate::naive(now);
    invoices::update(s, &invoice)?;
    let data = serde_json::json!({ "invoice_id": invoice.id, "credit_note_id": note.id,
        "amount": { "amount": note.total_incl, "currency": note.currency } });
    crate::events::publish(
        s,
        ctx,
        "invoice.credited",
        Some(&invoice.account_id),
        data,
        now,
    )?;
    Ok(Some(note))
}

fn step(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    row: &mut MembershipRow,
    action: MembershipAction,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
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
}

/// After invoices of the memberships were paid: a pending membership whose start has come becomes active; a
/// `past_due` or `suspended` one is reinstated once none of its invoices is left unpaid. Two reads whatever
/// their number (a billing run's batch of renewals paid, where most are active already and nothing changes).
pub(crate) fn settle_many_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    membership_ids: &[String],
    now: DateTime<Utc>,
) -> AppResult<()> {
    if membership_ids.is_empty() {
        return Ok(());
    }
    let rows = memberships::find_many_locked(s, membership_ids)?;
    let unpaid: std::collections::HashSet<String> =
        invoices::open_of_memberships(s, membership_ids)?
            .into_iter()
            .filter_map(|i| i.membership_id)
            .collect();
    let today = app.today_in(tenant);
    for mut row in rows.into_iter().filter(|r| !unpaid.contains(&r.id)) {
        match status_of(&row)? {
            MembershipStatus::Pending if row.starts_on <= today => step(
                s,
                ctx,
                &mut row,
                MembershipAction::Activate,
                serde_json::json!({ "reason": "first payment" }),
                now,
            )?,
            MembershipStatus::PastDue | MembershipStatus::Suspended => step(
                s,
                ctx,
                &mut row,
                MembershipAction::Reinstate,
                serde_json::json!({ "reason": "overdue invoices paid" }),
                now,
            )?,
            _ => {}
        }
    }
    Ok(())
}

/// True when a pending membership's first invoice is paid (the roll then activates it on its start day).
pub(crate) fn paid_up(s: &mut Scoped<'_>, row: &MembershipRow) -> AppResult<bool> {
    Ok(row.billed_until.is_some() && invoices::open_of_membership(s, &row.id)?.is_empty())
}

/// Applies today's dunning step to an unpaid membership; returns the unpaid invoice to retry when the
/// schedule says so (and `with_retry`; the caller charges it outside the transaction).
pub(crate) fn dunning_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    tenant: &Tenant,
    membership_id: &str,
    today: NaiveDate,
    with_retry: bool,
    now: DateTime<Utc>,
) -> AppResult<Option<InvoiceRow>> {
    let Some(mut row) = memberships::find_locked(s, membership_id)? else {
        return Ok(None);
    };
    let open = invoices::open_of_membership(s, membership_id)?;
    let Some(oldest) = open
        .iter()
        .filter(|i| i.dunning_started_on.is_some())
        .min_by_key(|i| i.dunning_started_on)
        .cloned()
    else {
        return Ok(None);
    };
    let overdue: i64 = invoices::open_of(s, Some(&row.account_id))?
        .iter()
        .filter(|i| i.due_on.is_some_and(|d| d <= today))
        .map(|i| i.total_incl - i.amount_paid - i.amount_credited)
        .sum();
    let facts = DunningFacts {
        first_failed_on: oldest.dunning_started_on.unwrap_or(today),
        attempts: u32::try_from(oldest.attempts).unwrap_or(0),
        status: status_of(&row)?,
        overdue_amount: overdue,
    };
    let policy = &tenant.config.billing;
    let decision = dunning_step(policy, &facts, today);
    let detail = serde_json::json!({ "invoice_id": oldest.id, "since": facts.first_failed_on, "overdue": overdue });
    if decision.mark_past_due {
        step(
            s,
            ctx,
            &mut row,
            MembershipAction::MarkPastDue,
            detail.clone(),
            now,
        )?;
    }
    if decision.suspend {
        step(
            s,
            ctx,
            &mut row,
            MembershipAction::Suspend,
            detail.clone(),
            now,
        )?;
    }
    // Once per membership and day, however many times the run passes.
    if decision.warn_suspension
        && tessera_store::models::payments::claim_notice(
            s,
            &row.id,
            "suspension_upcoming",
            today,
            crate::naive(now),
        )?
    {
        let suspends_on =
            facts.first_failed_on + chrono::Duration::days(i64::from(policy.suspend_after_days));
        let data = serde_json::json!({ "membership_id": row.id, "invoice_id": oldest.id,
            "suspends_on": suspends_on, "overdue": { "amount": overdue, "currency": row.currency } });
        crate::events::publish(
            s,
            ctx,
            "billing.suspension_upcoming",
            Some(&row.account_id),
            data,
            now,
        )?;
    }
    Ok((with_retry && decision.retry).then_some(oldest))
}
