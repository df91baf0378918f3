//! Reports: the list, and one report as JSON or CSV. The figures come from `tessera_app::reports`, shared with
//! the CLI and the console.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use tessera_app::reports::{Report, ReportInfo, ReportName, ReportParams};
use tessera_app::{App, AppError};
use tessera_domain::{FieldError, FieldErrors};

use crate::extract::{ApiQuery, RealmCaller};
use crate::problem::{ApiError, Problem};

/// Parameters of a report.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First local day, `YYYY-MM-DD` (default: the first of this month).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// Last local day, included (default: today).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// `revenue` only: `month` (default), `plan`, `vat` or `method`.
    pub by: Option<String>,
    /// `json` (default) or `csv`; `Accept: text/csv` also asks for CSV.
    pub format: Option<String>,
}

/// `GET /api/v1/reports`: the reports of this realm (brand reports on a brand's host, `group` on the group host).
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = Vec<ReportInfo>), (status = 401, body = Problem)))]
pub async fn list_reports(State(app): State<App>, caller: RealmCaller) -> Json<Vec<ReportInfo>> {
    Json(app.report_list(&caller.0))
}

/// `GET /api/v1/reports/{name}`: one report (`reports.read`, `reports.finance` or `reports.group`, per report).
#[utoipa::path(get, path = "/api/v1/reports/{name}", tag = "reports", security(("bearer" = [])),
    params(("name" = String, Path, description = "revenue, mrr, members, attendance, pro-hours, receivables, checkins or group"), ReportQuery),
    responses((status = 200, body = Report), (status = 200, description = "CSV", content_type = "text/csv"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn get_report(
    State(app): State<App>,
    caller: RealmCaller,
    Path(name): Path<String>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Response, ApiError> {
    let csv = match query.format.as_deref() {
        Some("csv") => true,
        Some("json") => false,
        Some(other) => {
            return Err(AppError::from(FieldErrors::from(FieldError::new(
                "format",
                "invalid_choice",
                format!("{other:?} is not json or csv"),
            )))
            .into())
        }
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv")),
    };
    let name: ReportName = name.parse()?;
    let params = ReportParams {
        from: query.from,
        to: query.to,
        by: query.by,
    };
    let report = app.report(&caller.0, name, params).await?;
    if !csv {
        return Ok(Json(report).into_response());
    }
    let body = report
        .to_csv()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))?;
    let filename = format!(
        "attachment; filename=\"{}-{}-{}.csv\"",
        report.name, report.from, report.to
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&filename) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
