//! Invoices and credit notes: drafting (lines checked against the brand's VAT rates and currencies, totals by
//! `tessera_invoicing::compute_totals`), finalising with the next number of the series, and correcting by a
//! credit note. Finalising queues the PDF job; the PDF is never rendered inside the finalising transaction.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tessera_domain::billing::{format_number, series_for, DocumentSeries};
use tessera_domain::ids::IdKind;
use tessera_domain::money::parse_currency;
use tessera_domain::role::Permission;
use tessera_domain::tenant::{check_vat_number, is_luhn_number};
use tessera_domain::{FieldError, FieldErrors};
use tessera_invoicing::{compute_totals, InvoiceLine, LineKind};
use tessera_store::models::accounts::AccountRow;
use tessera_store::models::invoices::{self, InvoiceFilter, InvoiceRow, LineRow};
use tessera_store::models::members::ProfileRow;
use tessera_store::models::{accounts, members};
use tessera_store::{Scoped, TxMode};

use super::faults;
use super::view::{self, InvoiceView};
use crate::audit::{self, Event};
use crate::auth::authorize;
use crate::events::NewEvent;
use crate::jobs::{enqueue_many, NewJob};
use crate::members::tenant_of;
use crate::pagination::{Page, PageRequest};
use crate::tenants::Tenant;
use crate::{naive, App, AppError, AppResult, Ctx};

/// The job that renders a finalised document's PDF.
pub const RENDER_PDF_KIND: &str = "invoices.render_pdf";

/// One line as asked.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// What it bills: `plan_period`, `enrolment_fee`, `class_pack`, `service`, `fee`, `product` or `other`
    /// (default).
    pub item: Option<String>,
    /// Printed description.
    pub description: String,
    /// Goods rather than services.
    #[serde(default)]
    pub goods: bool,
    /// Quantity, at least 1.
    pub quantity: i64,
    /// Unit price excluding VAT, minor units, not negative.
    pub unit_price: i64,
    /// One of the brand's VAT codes (`standard`, `reduced`...).
    pub vat_code: String,
}

/// A postal address on a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyerAddress {
    /// First line.
    pub line1: String,
    /// Second line.
    pub line2: Option<String>,
    /// Postal code.
    pub postal_code: String,
    /// City.
    pub city: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// A company paying for a member: what French B2B invoices must name.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyBuyer {
    /// Registered name.
    pub name: String,
    /// 9-digit SIREN.
    pub siren: Option<String>,
    /// Intra-community VAT number.
    pub vat_number: Option<String>,
    /// Registered office.
    pub address: BuyerAddress,
}

/// The buyer as printed on a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Buyer {
    /// Person's or company's name.
    pub name: String,
    /// Where the document is sent.
    pub email: Option<String>,
    /// Postal address.
    pub address: Option<BuyerAddress>,
    /// SIREN of a company buyer.
    pub siren: Option<String>,
    /// VAT number of a company buyer.
    pub vat_number: Option<String>,
}

/// A new invoice.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceInput {
    /// The client billed.
    pub member_id: String,
    /// Who pays, when not the client (a guardian).
    pub payer_id: Option<String>,
    /// A company paying: printed as the buyer.
    pub company: Option<CompanyBuyer>,
    /// ISO 4217; the brand's default when absent.
    pub currency: Option<String>,
    /// `fr` or `en`; the client's language when absent.
    pub locale: Option<String>,
    /// The lines, at least one.
    pub lines: Vec<LineInput>,
    /// Finalise at once (number it) instead of keeping a draft.
    #[serde(default)]
    pub finalise: bool,
}

/// A credit note correcting a finalised invoice.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditNoteInput {
    /// The invoice corrected.
    pub invoice_id: String,
    /// Why (printed).
    pub reason: String,
    /// The lines credited; the whole remaining invoice when absent.
    pub lines: Option<Vec<LineInput>>,
}

/// A line ready to store.
#[derive(Debug, Clone)]
pub(crate) struct NewLine {
    pub item: String,
    pub description: String,
    pub goods: bool,
    pub quantity: i64,
    pub unit_price: i64,
    pub vat_code: String,
}

/// Everything a document is made of.
pub(crate) struct DocumentSpec {
    pub kind: &'static str,
    pub account_id: String,
    pub payer_account_id: String,
    pub buyer: Buyer,
    pub currency: String,
    pub locale: String,
    pub lines: Vec<NewLine>,
    pub membership_id: Option<String>,
    pub billing_key: Option<String>,
    pub corrects_invoice_id: Option<String>,
    pub period: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    pub created_by: Option<String>,
}

const ITEMS: [&str; 8] = [
    "plan_period",
    "enrolment_fee",
    "class_pack",
    "service",
    "fee",
    "product",
    "credit",
    "other",
];

/// Checks lines asked through the API; every error names its `lines[i].field`.
pub(crate) fn check_lines(tenant: &Tenant, lines: &[LineInput]) -> AppResult<Vec<NewLine>> {
    let mut errors = FieldErrors::default();
    if lines.is_empty() || lines.len() > 200 {
        errors.push(FieldError::new(
            "lines",
            "invalid",
            "between 1 and 200 lines",
        ));
    }
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let item = l.item.clone().unwrap_or_else(|| "other".into());
        if !ITEMS.contains(&item.as_str()) {
            errors.push(FieldError::new(
                field("item"),
                "invalid",
                format!("one of {}", ITEMS.join(", ")),
            ));
        }
        let description = l.description.trim();
        if description.is_empty() || description.chars().count() > 300 {
            errors.push(FieldError::new(
                field("description"),
                "invalid",
                "1 to 300 characters",
            ));
        }
        if !(1..=1_000_000).contains(&l.quantity) {
            errors.push(FieldError::new(
                field("quantity"),
                "out_of_range",
                "from 1 to 1000000",
            ));
        }
        if l.unit_price < 0 {
            errors.push(FieldError::new(
                field("unit_price"),
                "negative_amount",
                "an amount cannot be negative",
            ));
        } else if l.unit_price > 100_000_000_000 {
            errors.push(FieldError::new(
                field("unit_price"),
                "out_of_range",
                "too large",
            ));
        }
        if !tenant.config.vat_rates.iter().any(|r| r.code == l.vat_code) {
            errors.push(FieldError::new(
                field("vat_code"),
                "unknown_vat_rate",
                format!("{:?} is not a VAT rate of this brand", l.vat_code),
            ));
        }
        out.push(NewLine {
            item,
            description: description.to_owned(),
            goods: l.goods,
            quantity: l.quantity,
            unit_price: l.unit_price,
            vat_code: l.vat_code.clone(),
        });
    }
    errors.into_result()?;
    Ok(out)
}

/// Checks a currency against the brand's.
pub(crate) fn check_currency(tenant: &Tenant, currency: &str) -> AppResult<String> {
    let code = parse_currency(currency).map_err(FieldErrors::from)?;
    if !tenant.config.currencies.contains(&code) {
        return Err(FieldErrors::from(FieldError::new(
            "currency",
            "currency_not_accepted",
            format!("this brand does not invoice in {code}"),
        ))
        .into());
    }
    Ok(code)
}

fn check_company(company: &CompanyBuyer) -> AppResult<()> {
    let mut errors = FieldErrors::default();
    if company.name.trim().is_empty() || company.name.len() > 200 {
        errors.push(FieldError::new(
            "company.name",
            "required",
            "the company's registered name",
        ));
    }
    if let Some(siren) = &company.siren {
        if !is_luhn_number(siren, 9) {
            errors.push(FieldError::new(
                "company.siren",
                "invalid_siren",
                "9 digits passing the Luhn check",
            ));
        }
    }
    if let Some(vat) = &company.vat_number {
        if let Err(mut e) = check_vat_number(vat, company.siren.as_deref()) {
            e.field = "company.vat_number".into();
            errors.push(e);
        }
    }
    if company.address.country.len() != 2 || company.address.city.trim().is_empty() {
        errors.push(FieldError::new(
            "company.address",
            "invalid",
            "a full address with an ISO country code",
        ));
    }
    errors.into_result()?;
    Ok(())
}

/// The buyer of a client's document: a company when given, else the member's name, e-mail and address.
pub(crate) fn buyer_of(
    s: &mut Scoped<'_>,
    account_id: &str,
    company: Option<&CompanyBuyer>,
) -> AppResult<Buyer> {
    let profile = members::find(s, account_id)?;
    buyer_from(s, account_id, profile.as_ref(), company, None)
}

/// [`buyer_of`] with the client's member profile already read, and their account too when they have no profile
/// (the billing run reads both for a whole batch at once).
fn buyer_from(
    s: &mut Scoped<'_>,
    account_id: &str,
    profile: Option<&ProfileRow>,
    company: Option<&CompanyBuyer>,
    account: Option<&AccountRow>,
) -> AppResult<Buyer> {
    if let Some(c) = company {
        return Ok(Buyer {
            name: c.name.trim().to_owned(),
            // Not a mandatory mention: kept off the document, which outlives an erasure for ten years.
            email: None,
            address: Some(c.address.clone()),
            siren: c.siren.clone(),
            vat_number: c.vat_number.clone(),
        });
    }
    let address = profile
        .and_then(|p| p.address_json.as_deref())
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a).ok())
        .and_then(|a| {
            Some(BuyerAddress {
                line1: a["line1"].as_str()?.to_owned(),
                line2: a["line2"].as_str().map(str::to_owned),
                postal_code: a["postal_code"].as_str()?.to_owned(),
                city: a["city"].as_str()?.to_owned(),
                country: a["country"].as_str().unwrap_or("FR").to_owned(),
            })
        });
    // A client without a member profile (a company's contact, staff) is named by their account.
    let name = match (profile, account) {
        (Some(p), _) => format!("{} {}", p.given_name, p.family_name),
        (None, Some(a)) => a.display_name.clone(),
        (None, None) => {
            accounts::find(s, account_id)?
                .ok_or(AppError::NotFound("member"))?
                .display_name
        }
    };
    Ok(Buyer {
        name,
        email: None,
        address,
        siren: None,
        vat_number: None,
    })
}

/// The language of a client's documents: their profile's, else the brand's default.
pub(crate) fn locale_of(
    s: &mut Scoped<'_>,
    tenant: &Tenant,
    account_id: &str,
) -> AppResult<String> {
    Ok(locale_from(tenant, members::find(s, account_id)?.as_ref()))
}

/// [`locale_of`] with the profile already read.
fn locale_from(tenant: &Tenant, profile: Option<&ProfileRow>) -> String {
    let locale = profile.map_or(tenant.config.default_locale.as_str(), |p| p.locale.as_str());
    if locale.starts_with("fr") { "fr" } else { "en" }.to_owned()
}

/// The invoicing crate's view of stored lines, for totals and documents.
pub(crate) fn invoice_lines(tenant: &Tenant, lines: &[NewLine]) -> AppResult<Vec<InvoiceLine>> {
    lines
        .iter()
        .map(|l| {
            let rate = super::vat_rate(tenant, &l.vat_code)?;
            Ok(InvoiceLine {
                description: l.description.clone(),
                kind: if l.goods {
                    LineKind::Goods
                } else {
                    LineKind::Service
                },
                quantity: l.quantity,
                unit_price_minor: l.unit_price,
                vat: tessera_invoicing::VatRate {
                    code: rate.code.clone(),
                    rate_bps: i64::from(rate.rate_bps),
                    exemption_note: rate.exemption_note.clone(),
                },
            })
        })
        .collect()
}

/// Builds a draft's rows (totals computed, nothing stored).
pub(crate) fn build(
    tenant: &Tenant,
    spec: DocumentSpec,
    now: DateTime<Utc>,
) -> AppResult<(InvoiceRow, Vec<LineRow>)> {
    let doc_lines = invoice_lines(tenant, &spec.lines)?;
    let totals = compute_totals(&doc_lines, &spec.currency).map_err(|e| {
        AppError::from(FieldErrors::from(FieldError::new(
            "lines",
            "invalid",
            e.to_string(),
        )))
    })?;
    let id = IdKind::Invoice.new_id();
    let lines = spec
        .lines
        .iter()
        .zip(&doc_lines)
        .enumerate()
        .map(|(i, (l, d))| LineRow {
            tenant_id: tenant.id.clone(),
            invoice_id: id.clone(),
            position: i32::try_from(i + 1).unwrap_or(i32::MAX),
            item: l.item.clone(),
            description: l.description.clone(),
            goods: l.goods,
            quantity: l.quantity,
            unit_price: l.unit_price,
            vat_code: l.vat_code.clone(),
            vat_rate_bps: d.vat.rate_bps,
            exemption_note: d.vat.exemption_note.clone(),
            net_amount: l.quantity * l.unit_price,
        })
        .collect();
    let row = InvoiceRow {
        tenant_id: tenant.id.clone(),
        id,
        kind: spec.kind.to_owned(),
        status: "draft".into(),
        number: None,
        series: None,
        sequence_no: None,
        account_id: spec.account_id,
        payer_account_id: spec.payer_account_id,
        buyer_json: serde_json::to_string(&spec.buyer)
            .map_err(|e| AppError::Internal(format!("buyer: {e}")))?,
        membership_id: spec.membership_id,
        billing_key: spec.billing_key,
        corrects_invoice_id: spec.corrects_invoice_id,
        currency: spec.currency,
        total_excl: totals.total_excl_minor,
        total_vat: totals.total_vat_minor,
        total_incl: totals.total_incl_minor,
        amount_paid: 0,
        amount_credited: 0,
        locale: spec.locale,
        issued_on: None,
        due_on: None,
        period_start: spec.period.map(|p| p.0),
        period_end: spec.period.map(|p| p.1),
        pdf_file_id: None,
        dunning_started_on: None,
        attempts: 0,
        created_by: spec.created_by,
        created_at: naive(now),
        finalised_at: None,
        paid_at: None,
        updated_at: naive(now),
    };
    Ok((row, lines))
}

/// The status an invoice has from its amounts.
pub(crate) fn settled_status(row: &InvoiceRow) -> &'static str {
    if row.kind == "credit_note" {
        return "issued";
    }
    if row.amount_credited >= row.total_incl && row.amount_paid == 0 {
        "void"
    } else if row.amount_paid + row.amount_credited >= row.total_incl {
        "paid"
    } else {
        "open"
    }
}

/// An invoice billing issues by itself (a period, a plan change, an appointment), in the caller's transaction.
pub(crate) struct OwnInvoice {
    /// The member it is for; the payer is their guardian when they have one.
    pub account_id: String,
    pub currency: String,
    pub lines: Vec<NewLine>,
    pub membership_id: Option<String>,
    pub billing_key: String,
    pub period: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    pub created_by: Option<String>,
}

/// Issues `own`: the buyer is the payer (the member's guardian, else the member, as a company when their billing
/// profile says so), in the member's locale; inserted, then finalised with its number.
pub(crate) fn issue_own_invoice_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    own: OwnInvoice,
    now: DateTime<Utc>,
) -> AppResult<InvoiceRow> {
    let mut invoice = draft_own_invoice_in(s, tenant, own, now)?;
    finalise_in(s, ctx, app, tenant, &mut invoice, now)?;
    Ok(invoice)
}

/// Drafts `own` as [`issue_own_invoice_in`] does, without finalising it: for a caller that finalises many drafts
/// together at the end of its transaction, so that the series stays locked for as short a time as possible.
pub(crate) fn draft_own_invoice_in(
    s: &mut Scoped<'_>,
    tenant: &Tenant,
    own: OwnInvoice,
    now: DateTime<Utc>,
) -> AppResult<InvoiceRow> {
    draft_own_invoices_in(s, tenant, vec![own], now)?
        .pop()
        .ok_or_else(|| AppError::Internal("no draft made".into()))
}

/// Drafts several invoices as [`draft_own_invoice_in`] does, in a few statements whatever their number (a
/// billing run's batch): the members' and payers' profiles and billing profiles read together, the drafts and
/// their lines inserted together. Returns the drafts in the order of `owns`.
pub(crate) fn draft_own_invoices_in(
    s: &mut Scoped<'_>,
    tenant: &Tenant,
    owns: Vec<OwnInvoice>,
    now: DateTime<Utc>,
) -> AppResult<Vec<InvoiceRow>> {
    if owns.is_empty() {
        return Ok(Vec::new());
    }
    // The member's profile names the payer (a guardian pays for a dependant), and for a member who pays for
    // themselves it is also the buyer's.
    let members: Vec<String> = owns.iter().map(|o| o.account_id.clone()).collect();
    let mut profiles: HashMap<String, ProfileRow> = members::find_many(s, &members)?
        .into_iter()
        .map(|p| (p.account_id.clone(), p))
        .collect();
    let payer_of = |profiles: &HashMap<String, ProfileRow>, own: &OwnInvoice| {
        profiles
            .get(&own.account_id)
            .and_then(|p| p.guardian_account_id.clone())
            .unwrap_or_else(|| own.account_id.clone())
    };
    let payers: Vec<String> = owns.iter().map(|o| payer_of(&profiles, o)).collect();
    let guardians: Vec<String> = payers
        .iter()
        .filter(|p| !profiles.contains_key(*p))
        .cloned()
        .collect();
    if !guardians.is_empty() {
        profiles.extend(
            members::find_many(s, &guardians)?
                .into_iter()
                .map(|p| (p.account_id.clone(), p)),
        );
    }
    let companies = super::provider::companies_of(s, &payers)?;
    // A payer without a member profile (a company's contact) is named by their account.
    let nameless: Vec<String> = payers
        .iter()
        .filter(|p| !profiles.contains_key(*p) && !companies.contains_key(*p))
        .cloned()
        .collect();
    let accounts: HashMap<String, AccountRow> = if nameless.is_empty() {
        HashMap::new()
    } else {
        accounts::find_many(s, &nameless)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect()
    };
    let (mut rows, mut all_lines) = (Vec::with_capacity(owns.len()), Vec::new());
    for (own, payer) in owns.into_iter().zip(payers) {
        let spec = DocumentSpec {
            kind: "invoice",
            buyer: buyer_from(
                s,
                &payer,
                profiles.get(&payer),
                companies.get(&payer),
                accounts.get(&payer),
            )?,
            locale: locale_from(tenant, profiles.get(&own.account_id)),
            payer_account_id: payer,
            account_id: own.account_id,
            currency: own.currency,
            lines: own.lines,
            membership_id: own.membership_id,
            billing_key: Some(own.billing_key),
            corrects_invoice_id: None,
            period: own.period,
            created_by: own.created_by,
        };
        let (invoice, lines) = build(tenant, spec, now)?;
        rows.push(invoice);
        all_lines.extend(lines);
    }
    invoices::insert_many(s, &rows, &all_lines)?;
    faults::point("after_invoice_insert");
    Ok(rows)
}

/// Finalises a draft in the caller's transaction: the next number of its series (the series row stays locked
/// until commit), the issue and due dates, the event; queues the PDF job.
pub(crate) fn finalise_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    row: &mut InvoiceRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    finalise_all_in(s, ctx, app, tenant, std::slice::from_mut(row), now)
}

/// Finalises drafts in the caller's transaction, in order, as [`finalise_in`] does: each series' numbers are
/// reserved in one statement, and the audit entries and events written together (a billing run's batch).
pub(crate) fn finalise_all_in(
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    app: &App,
    tenant: &Tenant,
    rows: &mut [InvoiceRow],
    now: DateTime<Utc>,
) -> AppResult<()> {
    if rows.iter().any(|row| row.status != "draft") {
        return Err(AppError::Conflict {
            code: "invoice_finalised",
            detail: "this document is already finalised".into(),
        });
    }
    let today = app.today_in(tenant);
    let series: Vec<DocumentSeries> = rows
        .iter()
        .map(|row| {
            series_for(
                &tenant.config.invoice_prefix,
                row.kind == "credit_note",
                today,
            )
        })
        .collect();
    // Each series' numbers, handed out in the documents' order.
    let mut next: Vec<(DocumentSeries, i64)> = Vec::new();
    for one in &series {
        if next.iter().all(|(known, _)| known != one) {
            let count = i64::try_from(series.iter().filter(|s| *s == one).count()).unwrap_or(1);
            next.push((one.clone(), invoices::reserve_in_series(s, &one.0, count)?));
        }
    }
    // Read the clock once the series are locked, so that finalisation times follow the numbers.
    let finalised_at = naive(app.clock().now().max(now));
    let mut audited = Vec::with_capacity(rows.len());
    let mut published = Vec::with_capacity(rows.len());
    let mut pdf_jobs = Vec::with_capacity(rows.len());
    for (row, series) in rows.iter_mut().zip(series) {
        let Some((_, value)) = next.iter_mut().find(|(known, _)| *known == series) else {
            return Err(AppError::Internal("series not reserved".into()));
        };
        // A finalisation that waited for the series across midnight keeps the day it started: the number and
        // the date of a series never disagree with each other.
        row.number = Some(format_number(&series, *value));
        row.sequence_no = Some(*value);
        *value += 1;
        row.series = Some(series.0);
        row.issued_on = Some(today);
        row.due_on =
            Some(today + Duration::days(i64::from(tenant.config.billing.payment_terms_days)));
        row.finalised_at = Some(finalised_at);
        row.updated_at = naive(now);
        row.status = settled_status(row).to_owned();
        if row.status == "paid" {
            row.paid_at = Some(naive(now));
        }
        audited.push((row.id.clone(), row.number.clone(), row.total_incl));
        published.push(NewEvent {
            type_name: "invoice.finalised",
            subject: Some(row.account_id.clone()),
            data: serde_json::json!({
                "invoice_id": row.id, "kind": row.kind, "number": row.number,
                "total": { "amount": row.total_incl, "currency": row.currency },
                "due_on": row.due_on, "membership_id": row.membership_id,
            }),
            request_id: None,
        });
        pdf_jobs.push(NewJob {
            unique_key: Some(format!("pdf:{}", row.id)),
            ..NewJob::new(RENDER_PDF_KIND, serde_json::json!({ "invoice_id": row.id }))
        });
    }
    invoices::update_many(s, rows)?;
    faults::point("after_numbering");
    enqueue_many(s, &pdf_jobs, app.settings().jobs.default_max_attempts, now)?;
    let entries = audited
        .iter()
        .map(|(id, number, total)| {
            Event::on("invoice.finalised", "invoice", id)
                .with(serde_json::json!({ "number": number, "total": total }))
        })
        .collect();
    audit::record_many(s, ctx, entries, now)?;
    crate::events::publish_many(s, ctx, published, now)?;
    Ok(())
}

/// A client's document if the caller may read it: staff with `invoices.read`, the client or the payer.
pub(crate) fn readable(
    app: &App,
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    id: &str,
) -> AppResult<InvoiceRow> {
    let principal = authorize(app.principals(), s, ctx, Permission::ProfileReadOwn)?;
    let row = invoices::find(s, id)?.ok_or(AppError::NotFound("invoice"))?;
    if Permission::InvoicesRead.allowed_for(&principal.roles)
        || row.account_id == principal.id
        || row.payer_account_id == principal.id
    {
        Ok(row)
    } else {
        Err(AppError::NotFound("invoice"))
    }
}

impl App {
    /// Drafts an invoice (`invoices.manage`), finalised at once when asked.
    pub async fn create_invoice(&self, ctx: &Ctx, input: InvoiceInput) -> AppResult<InvoiceView> {
        let tenant = self.tenant_for(ctx)?;
        let currency = check_currency(
            &tenant,
            input
                .currency
                .as_deref()
                .unwrap_or(&tenant.config.default_currency),
        )?;
        let lines = check_lines(&tenant, &input.lines)?;
        if let Some(company) = &input.company {
            check_company(company)?;
        }
        if let Some(locale) = &input.locale {
            if !["fr", "en"].contains(&locale.as_str()) {
                return Err(
                    FieldErrors::from(FieldError::new("locale", "invalid", "fr or en")).into(),
                );
            }
        }
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::InvoicesManage)?;
                members::find(s, &input.member_id)?.ok_or(AppError::NotFound("member"))?;
                let payer = input
                    .payer_id
                    .clone()
                    .unwrap_or_else(|| input.member_id.clone());
                accounts::find(s, &payer)?.ok_or(AppError::NotFound("payer"))?;
                let buyer = buyer_of(s, &payer, input.company.as_ref())?;
                let locale = match input.locale.clone() {
                    Some(l) => l,
                    None => locale_of(s, &tenant, &input.member_id)?,
                };
                let spec = DocumentSpec {
                    kind: "invoice",
                    account_id: input.member_id.clone(),
                    payer_account_id: payer,
                    buyer,
                    currency,
                    locale,
                    lines,
                    membership_id: None,
                    billing_key: None,
                    corrects_invoice_id: None,
                    period: None,
                    created_by: Some(principal.id.clone()),
                };
                let (mut row, lines) = build(&tenant, spec, now)?;
                invoices::insert(s, &row, &lines)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("invoice.drafted", "invoice", &row.id),
                    now,
                )?;
                if input.finalise {
                    finalise_in(s, &ctx, &app, &tenant, &mut row, now)?;
                }
                view::load(s, row)
            })
        })
        .await
    }

    /// Finalises a draft (`invoices.manage`).
    pub async fn finalise_invoice(&self, ctx: &Ctx, id: &str) -> AppResult<InvoiceView> {
        let tenant = self.tenant_for(ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::InvoicesManage)?;
                let mut row =
                    invoices::find_locked(s, &id)?.ok_or(AppError::NotFound("invoice"))?;
                finalise_in(s, &ctx, &app, &tenant, &mut row, now)?;
                view::load(s, row)
            })
        })
        .await
    }

    /// Deletes a draft (`invoices.manage`); a finalised document is refused (`invoice_finalised`).
    pub async fn delete_draft_invoice(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        let tenant = tenant_of(ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                authorize(app.principals(), s, &ctx, Permission::InvoicesManage)?;
                let row = invoices::find_locked(s, &id)?.ok_or(AppError::NotFound("invoice"))?;
                if row.status != "draft" {
                    return Err(AppError::Conflict {
                        code: "invoice_finalised",
                        detail: "a finalised document is never deleted; issue a credit note".into(),
                    });
                }
                invoices::delete_draft(s, &id)?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("invoice.draft_deleted", "invoice", &id),
                    now,
                )?;
                Ok(())
            })
        })
        .await
    }

    /// Issues a credit note for a finalised invoice (`invoices.credit`): the given lines, or all that is not
    /// credited yet. It is finalised at once, in its own series.
    pub async fn create_credit_note(
        &self,
        ctx: &Ctx,
        input: CreditNoteInput,
    ) -> AppResult<InvoiceView> {
        let tenant = self.tenant_for(ctx)?;
        let asked = match &input.lines {
            Some(lines) => Some(check_lines(&tenant, lines)?),
            None => None,
        };
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(FieldErrors::from(FieldError::new(
                "reason",
                "required",
                "say why, up to 500 characters",
            ))
            .into());
        }
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::InvoicesCredit)?;
                let mut invoice = invoices::find_locked(s, &input.invoice_id)?
                    .filter(|i| i.kind == "invoice")
                    .ok_or(AppError::NotFound("invoice"))?;
                if invoice.status == "draft" {
                    return Err(AppError::Conflict {
                        code: "invoice_not_finalised",
                        detail: "a draft is changed or deleted, not credited".into(),
                    });
                }
                let lines = match asked.clone() {
                    Some(lines) => lines,
                    None if invoice.amount_credited == 0 => invoices::lines(s, &invoice.id)?
                        .into_iter()
                        .map(|l| NewLine {
                            item: l.item,
                            description: l.description,
                            goods: l.goods,
                            quantity: l.quantity,
                            unit_price: l.unit_price,
                            vat_code: l.vat_code,
                        })
                        .collect(),
                    None => {
                        return Err(AppError::Conflict {
                            code: "partly_credited",
                            detail: "this invoice is partly credited already: name the lines to credit".into(),
                        })
                    }
                };
                let buyer: Buyer = serde_json::from_str(&invoice.buyer_json)
                    .map_err(|e| AppError::Internal(format!("stored buyer: {e}")))?;
                let spec = DocumentSpec {
                    kind: "credit_note",
                    account_id: invoice.account_id.clone(),
                    payer_account_id: invoice.payer_account_id.clone(),
                    buyer,
                    currency: invoice.currency.clone(),
                    locale: invoice.locale.clone(),
                    lines,
                    membership_id: invoice.membership_id.clone(),
                    billing_key: None,
                    corrects_invoice_id: Some(invoice.id.clone()),
                    period: invoice.period_start.zip(invoice.period_end),
                    created_by: Some(principal.id.clone()),
                };
                let (mut note, lines) = build(&tenant, spec, now)?;
                if note.total_incl > invoice.total_incl - invoice.amount_credited {
                    return Err(AppError::Conflict {
                        code: "credit_exceeds_invoice",
                        detail: format!(
                            "at most {} can still be credited on this invoice",
                            invoice.total_incl - invoice.amount_credited
                        ),
                    });
                }
                invoices::insert(s, &note, &lines)?;
                finalise_in(s, &ctx, &app, &tenant, &mut note, now)?;
                invoice.amount_credited += note.total_incl;
                invoice.status = settled_status(&invoice).to_owned();
                invoice.updated_at = naive(now);
                invoices::update(s, &invoice)?;
                let event = Event::on("invoice.credited", "invoice", &invoice.id)
                    .with(serde_json::json!({ "credit_note_id": note.id, "amount": note.total_incl, "reason": reason }));
                audit::record(s, &ctx, event, now)?;
                let data = serde_json::json!({ "invoice_id": invoice.id, "credit_note_id": note.id,
                    "amount": { "amount": note.total_incl, "currency": note.currency } });
                crate::events::publish(s, &ctx, "invoice.credited", Some(&invoice.account_id), data, now)?;
                view::load(s, note)
            })
        })
        .await
    }

    /// One document: staff with `invoices.read`, its client or its payer.
    pub async fn get_invoice(&self, ctx: &Ctx, id: &str) -> AppResult<InvoiceView> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let row = readable(&app, s, &ctx, &id)?;
                view::load(s, row)
            })
        })
        .await
    }

    /// A page of documents (`invoices.read`).
    pub async fn list_invoices(
        &self,
        ctx: &Ctx,
        filter: InvoiceFilter,
        page: PageRequest,
    ) -> AppResult<Page<InvoiceView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::InvoicesRead)?;
                let rows = invoices::list(s, &filter, page.after.as_deref(), page.limit + 1)?;
                let views = rows
                    .into_iter()
                    .map(|r| view::load(s, r))
                    .collect::<AppResult<Vec<_>>>()?;
                Ok(Page::from_rows(views, page.limit, |v: &InvoiceView| &v.id))
            })
        })
        .await
    }

    /// The caller's documents (billed to them or paid by them), finalised ones only.
    pub async fn my_invoices(&self, ctx: &Ctx) -> AppResult<Vec<InvoiceView>> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                let mut rows = Vec::new();
                for filter in [
                    InvoiceFilter {
                        account_id: Some(principal.id.clone()),
                        ..Default::default()
                    },
                    InvoiceFilter {
                        payer_account_id: Some(principal.id.clone()),
                        ..Default::default()
                    },
                ] {
                    rows.extend(invoices::list(s, &filter, None, 500)?);
                }
                rows.sort_by(|a, b| b.id.cmp(&a.id));
                rows.dedup_by(|a, b| a.id == b.id);
                rows.into_iter()
                    .filter(|r| r.status != "draft")
                    .map(|r| view::load(s, r))
                    .collect()
            })
        })
        .await
    }
}
