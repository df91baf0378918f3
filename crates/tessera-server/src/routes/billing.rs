//! Billing: invoices and credit notes, payments (desk, online, refunds), the Stripe webhook, money figures.
//! Handlers parse and call one service each; the rules live in `tessera_app::billing`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use tessera_app::billing::money::{Balance, MoneySummary, RevenuePeriod};
use tessera_app::billing::webhook::WebhookResult;
use tessera_app::billing::{
    CreditNoteInput, InvoiceInput, InvoiceView, ManualPayment, PaymentView, RefundInput,
    RefundView, SendInvoice,
};
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::{App, AppError};
use tessera_store::models::invoices::InvoiceFilter;

use crate::extract::{ApiJson, ApiQuery, IdempotencyKey, PublicCtx, RealmCaller};
use crate::problem::{ApiError, Problem};

/// Listing parameters of invoices and credit notes.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InvoiceQuery {
    /// Only this client's.
    pub member_id: Option<String>,
    /// Only in this status (`draft`, `open`, `paid`, `void`, `issued`).
    pub status: Option<String>,
    /// Only this membership's.
    pub membership_id: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Listing parameters of payments and refunds (newest first).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentQuery {
    /// Only this payer's.
    pub member_id: Option<String>,
    /// Only older than this id.
    pub before: Option<String>,
    /// Rows, 1 to 100 (default 20).
    pub limit: Option<i64>,
}

/// Revenue parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevenueQuery {
    /// First day (inclusive); the month's first when absent.
    pub from: Option<NaiveDate>,
    /// Last day (exclusive); a month after `from` when absent.
    pub to: Option<NaiveDate>,
}

/// Balance parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BalanceQuery {
    /// Only this client's balance.
    pub member_id: Option<String>,
}

async fn list(
    app: &App,
    caller: &RealmCaller,
    query: InvoiceQuery,
    kind: &str,
) -> Result<Json<Page<InvoiceView>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let filter = InvoiceFilter {
        account_id: query.member_id,
        status: query.status,
        kind: Some(kind.to_owned()),
        membership_id: query.membership_id,
        ..InvoiceFilter::default()
    };
    Ok(Json(app.list_invoices(&caller.0, filter, page).await?))
}

fn json<T: serde::Serialize>(
    status: StatusCode,
    value: T,
) -> Result<(StatusCode, serde_json::Value), AppError> {
    Ok((
        status,
        serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))?,
    ))
}

/// `GET /api/v1/invoices`: a page of invoices (`invoices.read`).
#[utoipa::path(get, path = "/api/v1/invoices", tag = "billing", security(("bearer" = [])), params(InvoiceQuery),
    responses((status = 200, body = Page<InvoiceView>), (status = 403, body = Problem)))]
pub async fn list_invoices(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<InvoiceQuery>,
) -> Result<Json<Page<InvoiceView>>, ApiError> {
    list(&app, &caller, query, "invoice").await
}

/// `POST /api/v1/invoices`: draft an invoice, or finalise it at once (`finalise: true`). Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/invoices", tag = "billing", security(("bearer" = [])), request_body = InvoiceInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = InvoiceView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_invoice(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<InvoiceInput>,
) -> Response {
    let raw = body.raw.clone();
    crate::idempotent::run(
        &app,
        &caller.0,
        key,
        "POST",
        "/api/v1/invoices",
        &raw,
        || async {
            json(
                StatusCode::CREATED,
                app.create_invoice(&caller.0, body.value).await?,
            )
        },
    )
    .await
}

/// `GET /api/v1/invoices/{id}`: one invoice or credit note (staff, its client or its payer).
#[utoipa::path(get, path = "/api/v1/invoices/{id}", tag = "billing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice id")),
    responses((status = 200, body = InvoiceView), (status = 404, body = Problem)))]
pub async fn get_invoice(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<InvoiceView>, ApiError> {
    Ok(Json(app.get_invoice(&caller.0, &id).await?))
}

/// `DELETE /api/v1/invoices/{id}`: delete a draft; a finalised document is refused (`invoice_finalised`).
#[utoipa::path(delete, path = "/api/v1/invoices/{id}", tag = "billing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice id")),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_invoice(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.delete_draft_invoice(&caller.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/invoices/{id}/finalise`: number a draft (gap-free series) and issue it.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/finalise", tag = "billing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice id")),
    responses((status = 200, body = InvoiceView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn finalise_invoice(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<InvoiceView>, ApiError> {
    Ok(Json(app.finalise_invoice(&caller.0, &id).await?))
}

/// `POST /api/v1/invoices/{id}/send`: e-mail a finalised document again with its PDF (`invoices.manage`), to
/// the payer (`{}`) or to `{"to": "addr"}`; 202 once queued.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/send", tag = "billing", security(("bearer" = [])),
    request_body = SendInvoice,
    params(("id" = String, Path, description = "Invoice or credit note id")),
    responses((status = 202, description = "Queued"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn send_invoice(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<SendInvoice>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    app.send_invoice(&caller.0, &id, body.value).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "queued": true })),
    ))
}

/// `POST /api/v1/invoices/{id}/payments`: record a payment taken at the desk. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/payments", tag = "billing", security(("bearer" = [])),
    request_body = ManualPayment,
    params(("id" = String, Path, description = "Invoice id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = InvoiceView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn record_payment(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<ManualPayment>,
) -> Response {
    let raw = body.raw.clone();
    let path = format!("/api/v1/invoices/{id}/payments");
    crate::idempotent::run(&app, &caller.0, key, "POST", &path, &raw, || async {
        json(
            StatusCode::CREATED,
            app.record_payment(&caller.0, &id, body.value).await?,
        )
    })
    .await
}

/// `POST /api/v1/invoices/{id}/pay`: start paying an open invoice online; returns the payment with the
/// `client_secret` to confirm with Stripe Elements. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/invoices/{id}/pay", tag = "billing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = PaymentView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn pay_invoice(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
) -> Response {
    let path = format!("/api/v1/invoices/{id}/pay");
    crate::idempotent::run(&app, &caller.0, key, "POST", &path, b"", || async {
        json(
            StatusCode::CREATED,
            app.pay_invoice_online(&caller.0, &id).await?,
        )
    })
    .await
}

/// `GET /api/v1/credit-notes`: a page of credit notes (`invoices.read`).
#[utoipa::path(get, path = "/api/v1/credit-notes", tag = "billing", security(("bearer" = [])), params(InvoiceQuery),
    responses((status = 200, body = Page<InvoiceView>), (status = 403, body = Problem)))]
pub async fn list_credit_notes(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<InvoiceQuery>,
) -> Result<Json<Page<InvoiceView>>, ApiError> {
    list(&app, &caller, query, "credit_note").await
}

/// `POST /api/v1/credit-notes`: correct a finalised invoice (`invoices.credit`). Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/credit-notes", tag = "billing", security(("bearer" = [])), request_body = CreditNoteInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = InvoiceView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_credit_note(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    body: ApiJson<CreditNoteInput>,
) -> Response {
    let raw = body.raw.clone();
    crate::idempotent::run(
        &app,
        &caller.0,
        key,
        "POST",
        "/api/v1/credit-notes",
        &raw,
        || async {
            json(
                StatusCode::CREATED,
                app.create_credit_note(&caller.0, body.value).await?,
            )
        },
    )
    .await
}

/// `GET /api/v1/me/invoices`: the caller's invoices and credit notes (billed to them or paid by them).
#[utoipa::path(get, path = "/api/v1/me/invoices", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = Vec<InvoiceView>), (status = 401, body = Problem)))]
pub async fn my_invoices(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Vec<InvoiceView>>, ApiError> {
    Ok(Json(app.my_invoices(&caller.0).await?))
}

/// `POST /api/v1/me/payment-methods`: start saving a card or a SEPA mandate; returns the SetupIntent's
/// `client_secret` for Stripe Elements (no card data ever reaches Tessera).
#[utoipa::path(post, path = "/api/v1/me/payment-methods", tag = "billing", security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 409, body = Problem)))]
pub async fn save_payment_method(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(app.start_saving_payment_method(&caller.0).await?),
    ))
}

/// `GET /api/v1/payments`: payments and attempts, newest first (`invoices.read`).
#[utoipa::path(get, path = "/api/v1/payments", tag = "billing", security(("bearer" = [])), params(PaymentQuery),
    responses((status = 200, body = Vec<PaymentView>), (status = 403, body = Problem)))]
pub async fn list_payments(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<PaymentQuery>,
) -> Result<Json<Vec<PaymentView>>, ApiError> {
    let limit = PageRequest::parse(query.limit, None)?.limit;
    Ok(Json(
        app.list_payments(&caller.0, query.member_id, query.before, limit)
            .await?,
    ))
}

/// `POST /api/v1/payments/{id}/refunds`: refund a payment in part or in full (`invoices.credit`). Accepts
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "billing", security(("bearer" = [])),
    request_body = RefundInput,
    params(("id" = String, Path, description = "Payment id"), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses((status = 201, body = RefundView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn refund_payment(
    State(app): State<App>,
    caller: RealmCaller,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    body: ApiJson<RefundInput>,
) -> Response {
    let raw = body.raw.clone();
    let path = format!("/api/v1/payments/{id}/refunds");
    crate::idempotent::run(&app, &caller.0, key, "POST", &path, &raw, || async {
        json(
            StatusCode::CREATED,
            app.refund_payment(&caller.0, &id, body.value).await?,
        )
    })
    .await
}

/// `GET /api/v1/refunds`: refunds, newest first (`invoices.read`).
#[utoipa::path(get, path = "/api/v1/refunds", tag = "billing", security(("bearer" = [])), params(PaymentQuery),
    responses((status = 200, body = Vec<RefundView>), (status = 403, body = Problem)))]
pub async fn list_refunds(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<PaymentQuery>,
) -> Result<Json<Vec<RefundView>>, ApiError> {
    let limit = PageRequest::parse(query.limit, None)?.limit;
    Ok(Json(
        app.list_refunds(&caller.0, query.before, limit).await?,
    ))
}

/// `POST /api/v1/payments/stripe/webhook`: Stripe's events for the brand of the host. The `Stripe-Signature`
/// is checked on the raw body (any `v1`, 300 s tolerance); each event is applied once.
#[utoipa::path(post, path = "/api/v1/payments/stripe/webhook", tag = "billing",
    request_body(content = Object, description = "A Stripe event, as Stripe signs it", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=...,v1=...")),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn stripe_webhook(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::BadRequest {
            code: "bad_signature",
            detail: "Stripe-Signature header missing".into(),
        })?;
    let payload = std::str::from_utf8(&body).map_err(|_| AppError::BadRequest {
        code: "bad_signature",
        detail: "the body is not UTF-8".into(),
    })?;
    let result = app.stripe_webhook(&ctx, payload, signature).await?;
    let outcome = match result {
        WebhookResult::Applied => "applied",
        WebhookResult::Duplicate => "duplicate",
        WebhookResult::Ignored => "ignored",
    };
    Ok(Json(
        serde_json::json!({ "received": true, "outcome": outcome }),
    ))
}

/// `GET /api/v1/money/summary`: outstanding and overdue totals per currency (`money.read`).
#[utoipa::path(get, path = "/api/v1/money/summary", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = Vec<MoneySummary>), (status = 403, body = Problem)))]
pub async fn money_summary(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Vec<MoneySummary>>, ApiError> {
    Ok(Json(app.money_summary(&caller.0).await?))
}

/// `GET /api/v1/money/balances`: what each client owes, most overdue first (`money.read`).
#[utoipa::path(get, path = "/api/v1/money/balances", tag = "billing", security(("bearer" = [])), params(BalanceQuery),
    responses((status = 200, body = Vec<Balance>), (status = 403, body = Problem)))]
pub async fn balances(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<BalanceQuery>,
) -> Result<Json<Vec<Balance>>, ApiError> {
    Ok(Json(app.balances(&caller.0, query.member_id).await?))
}

/// `GET /api/v1/money/revenue`: revenue by month of issue with its VAT breakdown (`money.read`).
#[utoipa::path(get, path = "/api/v1/money/revenue", tag = "billing", security(("bearer" = [])), params(RevenueQuery),
    responses((status = 200, body = Vec<RevenuePeriod>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn revenue(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<RevenueQuery>,
) -> Result<Json<Vec<RevenuePeriod>>, ApiError> {
    Ok(Json(app.revenue(&caller.0, query.from, query.to).await?))
}

/// `GET /api/v1/invoices/{id}/pdf`: the document's PDF (Factur-X, PDF/A-3), for staff, its client or its payer;
/// 409 `pdf_not_ready` while it is being rendered.
#[utoipa::path(get, path = "/api/v1/invoices/{id}/pdf", tag = "billing", security(("bearer" = [])),
    params(("id" = String, Path, description = "Invoice id")),
    responses((status = 200, description = "The PDF", content_type = "application/pdf"),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn invoice_pdf(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(super::files::stream_response(
        app.invoice_pdf(&caller.0, &id).await?,
    ))
}
