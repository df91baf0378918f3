//! Invoices and credit notes, their lines, and the numbering sequences. A finalised document is never edited
//! nor deleted: besides the code, database triggers refuse it (`invoice_finalised`).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::schema::{invoice_lines, invoice_sequences, invoices};
use crate::{Scoped, StoreResult};

/// A stored invoice or credit note.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = invoices, treat_none_as_null = true)]
pub struct InvoiceRow {
    /// Tenant.
    pub tenant_id: String,
    /// `inv_...` (credit notes too).
    pub id: String,
    /// `invoice` or `credit_note`.
    pub kind: String,
    /// `draft`, `open`, `paid`, `void` (fully credited); credit notes: `draft`, `issued`.
    pub status: String,
    /// The number, once finalised.
    pub number: Option<String>,
    /// The numbering series, once finalised.
    pub series: Option<String>,
    /// Position in the series, once finalised.
    pub sequence_no: Option<i64>,
    /// The client billed (a member or customer account).
    pub account_id: String,
    /// Who pays (the client, a guardian or the account of a company's contact).
    pub payer_account_id: String,
    /// The buyer's details as printed, JSON.
    pub buyer_json: String,
    /// The membership billed, if any.
    pub membership_id: Option<String>,
    /// What the document is for, unique per brand (`membership:{id}:{period_start}`), so a rerun bills once.
    pub billing_key: Option<String>,
    /// The invoice a credit note corrects.
    pub corrects_invoice_id: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// Total excluding VAT, minor units.
    pub total_excl: i64,
    /// VAT, minor units.
    pub total_vat: i64,
    /// Total including VAT, minor units.
    pub total_incl: i64,
    /// Received and kept (payments less refunds), minor units.
    pub amount_paid: i64,
    /// Cancelled by credit notes, minor units.
    pub amount_credited: i64,
    /// Language of the document (`fr`, `en`).
    pub locale: String,
    /// Issue date (finalisation day in the brand's zone).
    pub issued_on: Option<NaiveDate>,
    /// Due date.
    pub due_on: Option<NaiveDate>,
    /// First day of the period billed.
    pub period_start: Option<NaiveDate>,
    /// First day after the period billed.
    pub period_end: Option<NaiveDate>,
    /// The stored PDF, once rendered.
    pub pdf_file_id: Option<String>,
    /// First failed payment of this invoice (dunning day 0).
    pub dunning_started_on: Option<NaiveDate>,
    /// Payment attempts made by the provider.
    pub attempts: i32,
    /// Who created it (None: the billing run).
    pub created_by: Option<String>,
    /// Created.
    pub created_at: NaiveDateTime,
    /// Finalised.
    pub finalised_at: Option<NaiveDateTime>,
    /// Fully paid.
    pub paid_at: Option<NaiveDateTime>,
    /// Last changed.
    pub updated_at: NaiveDateTime,
}

/// One line.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invoice_lines)]
pub struct LineRow {
    /// Tenant.
    pub tenant_id: String,
    /// The document.
    pub invoice_id: String,
    /// 1-based order.
    pub position: i32,
    /// What it bills: `plan_period`, `enrolment_fee`, `class_pack`, `service`, `fee`, `product`, `other`.
    pub item: String,
    /// Printed description.
    pub description: String,
    /// Goods (true) or services.
    pub goods: bool,
    /// Quantity.
    pub quantity: i64,
    /// Unit price excluding VAT, minor units.
    pub unit_price: i64,
    /// The brand's VAT code.
    pub vat_code: String,
    /// Its rate at the time, basis points.
    pub vat_rate_bps: i64,
    /// Exemption wording of a zero rate.
    pub exemption_note: Option<String>,
    /// quantity × unit price.
    pub net_amount: i64,
}

/// Inserts a draft (or a document finalised in the same transaction).
pub fn insert(s: &mut Scoped<'_>, row: &InvoiceRow, lines: &[LineRow]) -> StoreResult<()> {
    diesel::insert_into(invoices::table)
        .values(row)
        .execute(s.conn())?;
    crate::on_backend!(s.conn(), |c| diesel::insert_into(invoice_lines::table)
        .values(lines)
        .execute(c))?;
    Ok(())
}

/// Writes every field of a document.
pub fn update(s: &mut Scoped<'_>, row: &InvoiceRow) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::update(
        invoices::table
            .filter(invoices::tenant_id.eq(tenant))
            .filter(invoices::id.eq(&row.id)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// Inserts several drafts and all their lines in two statements (a billing run's batch).
pub fn insert_many(s: &mut Scoped<'_>, rows: &[InvoiceRow], lines: &[LineRow]) -> StoreResult<()> {
    // Chunks: SQLite takes at most 32,766 bound values in one statement.
    for chunk in rows.chunks(500) {
        crate::on_backend!(s.conn(), |c| diesel::insert_into(invoices::table)
            .values(chunk)
            .execute(c))?;
    }
    for chunk in lines.chunks(1_000) {
        crate::on_backend!(s.conn(), |c| diesel::insert_into(invoice_lines::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Writes every field of several documents in one statement, as [`update`] does for one. The rows were read in
/// the same transaction; the triggers that guard finalised documents apply to each row.
pub fn update_many(s: &mut Scoped<'_>, rows: &[InvoiceRow]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    crate::backend::own_realm(s.realm_key(), rows.iter().map(|r| &r.tenant_id))?;
    // SQLite (in-process, no round trips) writes them one by one: diesel builds no multi-row upsert for it.
    let crate::DbConnection::Postgres(c) = s.conn() else {
        return rows.iter().try_for_each(|row| update(s, row));
    };
    for chunk in rows.chunks(500) {
        diesel::insert_into(invoices::table)
            .values(chunk)
            .on_conflict((invoices::tenant_id, invoices::id))
            .do_update()
            .set(crate::replace_columns!(invoices: kind, status, number, series, sequence_no, account_id,
                payer_account_id, buyer_json, membership_id, billing_key, corrects_invoice_id, currency,
                total_excl, total_vat, total_incl, amount_paid, amount_credited, locale, issued_on, due_on,
                period_start, period_end, pdf_file_id, dunning_started_on, attempts, created_by, created_at,
                finalised_at, paid_at, updated_at))
            .execute(c)?;
    }
    Ok(())
}

/// Replaces a draft's lines.
pub fn replace_lines(s: &mut Scoped<'_>, invoice_id: &str, lines: &[LineRow]) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        invoice_lines::table
            .filter(invoice_lines::tenant_id.eq(tenant))
            .filter(invoice_lines::invoice_id.eq(invoice_id)),
    )
    .execute(conn)?;
    crate::on_backend!(s.conn(), |c| diesel::insert_into(invoice_lines::table)
        .values(lines)
        .execute(c))?;
    Ok(())
}

/// Deletes a draft and its lines (the database refuses it for a finalised document).
pub fn delete_draft(s: &mut Scoped<'_>, invoice_id: &str) -> StoreResult<()> {
    let (tenant, conn) = s.parts();
    diesel::delete(
        invoice_lines::table
            .filter(invoice_lines::tenant_id.eq(tenant))
            .filter(invoice_lines::invoice_id.eq(invoice_id)),
    )
    .execute(conn)?;
    let (tenant, conn) = s.parts();
    diesel::delete(
        invoices::table
            .filter(invoices::tenant_id.eq(tenant))
            .filter(invoices::id.eq(invoice_id))
            .filter(invoices::status.eq("draft")),
    )
    .execute(conn)?;
    Ok(())
}

/// One document.
pub fn find(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    Ok(invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::id.eq(id))
        .select(InvoiceRow::as_select())
        .first(conn)
        .optional()?)
}

/// One document, locked for the rest of the transaction.
pub fn find_locked(s: &mut Scoped<'_>, id: &str) -> StoreResult<Option<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    let rows = crate::load_locked!(
        conn,
        invoices::table
            .filter(invoices::tenant_id.eq(tenant))
            .filter(invoices::id.eq(id))
            .select(InvoiceRow::as_select()),
        InvoiceRow
    )?;
    Ok(rows.into_iter().next())
}

/// Several documents, locked for the rest of the transaction, by id.
pub fn find_many_locked(s: &mut Scoped<'_>, ids: &[String]) -> StoreResult<Vec<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    let mut rows = crate::load_locked!(
        conn,
        invoices::table
            .filter(invoices::tenant_id.eq(tenant))
            .filter(invoices::id.eq_any(ids))
            .select(InvoiceRow::as_select()),
        InvoiceRow
    )?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// The documents made for any of `keys`.
pub fn by_billing_keys(s: &mut Scoped<'_>, keys: &[String]) -> StoreResult<Vec<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    Ok(invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::billing_key.eq_any(keys))
        .select(InvoiceRow::as_select())
        .load(conn)?)
}

/// The document made for `billing_key`, if any.
pub fn by_billing_key(s: &mut Scoped<'_>, key: &str) -> StoreResult<Option<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    Ok(invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::billing_key.eq(key))
        .select(InvoiceRow::as_select())
        .first(conn)
        .optional()?)
}

/// A document's lines, in order.
pub fn lines(s: &mut Scoped<'_>, invoice_id: &str) -> StoreResult<Vec<LineRow>> {
    let (tenant, conn) = s.parts();
    Ok(invoice_lines::table
        .filter(invoice_lines::tenant_id.eq(tenant))
        .filter(invoice_lines::invoice_id.eq(invoice_id))
        .order(invoice_lines::position.asc())
        .select(LineRow::as_select())
        .load(conn)?)
}

/// Filters of a document list.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    /// Of one client.
    pub account_id: Option<String>,
    /// Or paid by them.
    pub payer_account_id: Option<String>,
    /// In one status.
    pub status: Option<String>,
    /// Of one kind.
    pub kind: Option<String>,
    /// Of one membership.
    pub membership_id: Option<String>,
}

/// A page of documents by id.
pub fn list(
    s: &mut Scoped<'_>,
    filter: &InvoiceFilter,
    after: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    let mut query = invoices::table
        .filter(invoices::tenant_id.eq(tenant.to_owned()))
        .order(invoices::id.asc())
        .limit(limit)
        .select(InvoiceRow::as_select())
        .into_boxed();
    if let Some(v) = &filter.account_id {
        query = query.filter(invoices::account_id.eq(v.clone()));
    }
    if let Some(v) = &filter.payer_account_id {
        query = query.filter(invoices::payer_account_id.eq(v.clone()));
    }
    if let Some(v) = &filter.status {
        query = query.filter(invoices::status.eq(v.clone()));
    }
    if let Some(v) = &filter.kind {
        query = query.filter(invoices::kind.eq(v.clone()));
    }
    if let Some(v) = &filter.membership_id {
        query = query.filter(invoices::membership_id.eq(v.clone()));
    }
    if let Some(after) = after {
        query = query.filter(invoices::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Open invoices (finalised, not fully paid), optionally of one client, oldest due first.
pub fn open_of(s: &mut Scoped<'_>, account_id: Option<&str>) -> StoreResult<Vec<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    let mut query = invoices::table
        .filter(invoices::tenant_id.eq(tenant.to_owned()))
        .filter(invoices::status.eq("open"))
        .select(InvoiceRow::as_select())
        .into_boxed();
    if let Some(account) = account_id {
        query = query.filter(invoices::account_id.eq(account.to_owned()));
    }
    // Sorted here, not by SQL: an ORDER BY due_on lures SQLite into walking all open invoices of the brand in
    // `invoices_status` order even when one client's few are asked for.
    let mut rows = query.load(conn)?;
    rows.sort_by(|a, b| (a.due_on, &a.id).cmp(&(b.due_on, &b.id)));
    Ok(rows)
}

/// Open invoices of a membership, oldest first.
pub fn open_of_membership(s: &mut Scoped<'_>, membership_id: &str) -> StoreResult<Vec<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    // Sorted here, not by SQL: an ORDER BY id lures SQLite into walking every invoice of the brand in primary-key
    // order instead of looking the membership up in `invoices_membership`.
    let mut rows = invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::status.eq("open"))
        .filter(invoices::membership_id.eq(membership_id))
        .select(InvoiceRow::as_select())
        .load(conn)?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// Open invoices of several memberships, oldest first.
pub fn open_of_memberships(
    s: &mut Scoped<'_>,
    membership_ids: &[String],
) -> StoreResult<Vec<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    let query = invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::status.eq("open"))
        .select(InvoiceRow::as_select());
    let mut rows: Vec<InvoiceRow> =
        crate::load_any_of!(query, invoices::membership_id, membership_ids, conn)?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// Finalised documents issued in `[from, to)`, for revenue figures.
pub fn issued_between(
    s: &mut Scoped<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<InvoiceRow>> {
    let (tenant, conn) = s.parts();
    Ok(invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::issued_on.ge(from))
        .filter(invoices::issued_on.lt(to))
        .select(InvoiceRow::as_select())
        .load(conn)?)
}

/// Lines of the documents issued in `[from, to)`, with the document's kind and currency.
pub fn lines_issued_between(
    s: &mut Scoped<'_>,
    from: NaiveDate,
    to: NaiveDate,
) -> StoreResult<Vec<(String, String, LineRow)>> {
    let (tenant, conn) = s.parts();
    Ok(invoice_lines::table
        .inner_join(
            invoices::table.on(invoices::tenant_id
                .eq(invoice_lines::tenant_id)
                .and(invoices::id.eq(invoice_lines::invoice_id))),
        )
        .filter(invoice_lines::tenant_id.eq(tenant))
        .filter(invoices::issued_on.ge(from))
        .filter(invoices::issued_on.lt(to))
        .select((invoices::kind, invoices::currency, LineRow::as_select()))
        .load(conn)?)
}

/// Hands out the next `count` numbers of `series` and returns the first: the series row is locked until the
/// transaction ends, so concurrent finalisations take turns and a rollback gives the numbers back (no gap, no
/// duplicate).
pub fn reserve_in_series(s: &mut Scoped<'_>, series: &str, count: i64) -> StoreResult<i64> {
    let (tenant, conn) = s.parts();
    let row = (
        invoice_sequences::tenant_id.eq(tenant),
        invoice_sequences::series.eq(series),
        invoice_sequences::last_value.eq(0_i64),
    );
    crate::on_backend!(conn, |c| diesel::insert_into(invoice_sequences::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    let (tenant, conn) = s.parts();
    let value = diesel::update(
        invoice_sequences::table
            .filter(invoice_sequences::tenant_id.eq(tenant))
            .filter(invoice_sequences::series.eq(series)),
    )
    .set(invoice_sequences::last_value.eq(invoice_sequences::last_value + count))
    .returning(invoice_sequences::last_value)
    .get_result::<i64>(conn)?;
    Ok(value - count + 1)
}

/// Open invoices no provider attempt has been made on yet (attempts that never reached the provider do not
/// count) and not in dunning, by id after `after`.
pub fn never_attempted(
    s: &mut Scoped<'_>,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<InvoiceRow>> {
    use crate::schema::payments;
    let (tenant, conn) = s.parts();
    let attempted = payments::table
        .filter(payments::tenant_id.eq(invoices::tenant_id))
        .filter(payments::invoice_id.eq(invoices::id))
        .filter(payments::provider.ne("manual"))
        .filter(
            payments::failure_code
                .is_null()
                .or(payments::failure_code.ne("never_sent")),
        );
    Ok(invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::status.eq("open"))
        .filter(invoices::kind.eq("invoice"))
        .filter(invoices::dunning_started_on.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(attempted)))
        .filter(invoices::id.gt(after))
        .order(invoices::id.asc())
        .limit(limit)
        .select(InvoiceRow::as_select())
        .load(conn)?)
}

/// Memberships with an open invoice in dunning (a failed payment).
pub fn memberships_in_dunning(s: &mut Scoped<'_>) -> StoreResult<Vec<String>> {
    let (tenant, conn) = s.parts();
    let ids: Vec<Option<String>> = invoices::table
        .filter(invoices::tenant_id.eq(tenant))
        .filter(invoices::status.eq("open"))
        .filter(invoices::dunning_started_on.is_not_null())
        .filter(invoices::membership_id.is_not_null())
        .select(invoices::membership_id)
        .distinct()
        .load(conn)?;
    Ok(ids.into_iter().flatten().collect())
}
