//! Body composition (`/api/v1/body-measurements`, `/api/v1/members/{id}/body-measurements`, `/api/v1/me/health`):
//! measurements from a paired analyser or a staff upload, in the canonical JSON or an analyser's export (Tanita,
//! InBody), matched to a member by member id, card number or phone; stored only with the member's health-data
//! consent and sealed at rest under the brand's data key; an unmatched measurement waits for staff, never dropped.
//! History, trends and goals per member, their 3D body scans, and a report per measurement (HTML or PDF).

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tessera_domain::body::{self, Measurement, MetricTrend, Parsed};
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::{FieldError, FieldErrors};
use tessera_store::models::body::{self as store, GoalRow, MeasurementRow};
use tessera_store::models::{files, members};
use tessera_store::{Scoped, TxMode};

use crate::audit::{self, Event};
use crate::auth::{authorize, Principal};
use crate::storage::{crypto, data_keys};
use crate::{naive, ActorKind, App, AppError, AppResult, Ctx};

/// An upload.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyUpload {
    /// The member, when known.
    pub member_id: Option<String>,
    /// Or their card number.
    pub card_number: Option<String>,
    /// Or their phone number.
    pub phone: Option<String>,
    /// `canonical` (default: `measurement`), `tanita` or `inbody` (`data`).
    pub format: Option<String>,
    /// A canonical measurement.
    pub measurement: Option<Measurement>,
    /// An analyser's export, as text.
    pub data: Option<String>,
}

/// A stored measurement, as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeasurementView {
    /// `bdm_...`.
    pub id: String,
    /// The member, once matched.
    pub member_id: Option<String>,
    /// `matched` or `unmatched`.
    pub status: String,
    /// `device` or `staff`.
    pub source: String,
    /// `canonical`, `tanita` or `inbody`.
    pub format: String,
    /// What the upload said about who it is (unmatched ones only).
    pub member_hint: Option<String>,
    /// When it was taken.
    pub measured_at: DateTime<Utc>,
    /// The values.
    pub measurement: Measurement,
}

/// What an upload stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadOutcome {
    /// Each measurement, in the order of the upload.
    pub stored: Vec<MeasurementView>,
    /// How many wait for staff to match them.
    pub unmatched: usize,
}

/// A goal set by a pro.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Goal {
    /// A metric (`weight_kg`, `body_fat_percent`, `skeletal_muscle_mass_kg`...).
    pub metric: String,
    /// Target value.
    pub target: f64,
    /// By when.
    #[schema(value_type = Option<String>, format = Date)]
    pub due_on: Option<NaiveDate>,
}

/// A member's health view.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HealthView {
    /// The member.
    pub member_id: String,
    /// The latest measurement.
    pub latest: Option<MeasurementView>,
    /// Per metric: latest, change since the previous and the first, series for charts.
    pub trends: Vec<MetricTrend>,
    /// Goals.
    pub goals: Vec<Goal>,
    /// Every measurement, oldest first.
    pub history: Vec<MeasurementView>,
}

fn sealed_text(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Opens a stored measurement.
fn open(app: &App, s: &mut Scoped<'_>, row: &MeasurementRow) -> AppResult<MeasurementView> {
    let key_row = tessera_store::models::files::data_key(s, &row.data_key_id)?
        .ok_or_else(|| AppError::Internal(format!("data key {} missing", row.data_key_id)))?;
    let key = data_keys::open(&key_row, app.master())?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&row.sealed)
        .map_err(|_| AppError::FileCorrupt)?;
    let plain = crypto::open_record(&key, &row.tenant_id, &row.id, &bytes)
        .map_err(|_| AppError::FileCorrupt)?;
    let measurement: Measurement =
        serde_json::from_slice(&plain).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(MeasurementView {
        id: row.id.clone(),
        member_id: row.member_id.clone(),
        status: row.status.clone(),
        source: row.source.clone(),
        format: row.format.clone(),
        member_hint: row.member_hint.clone(),
        measured_at: tessera_store::utc(row.measured_at),
        measurement,
    })
}

/// True when the member's latest health-data decision is a consent.
fn has_health_consent(s: &mut Scoped<'_>, member_id: &str) -> AppResult<bool> {
    Ok(members::consents(s, member_id)?
        .into_iter()
        .rfind(|c| c.kind == "health_data")
        .is_some_and(|c| c.granted))
}

fn no_consent() -> AppError {
    AppError::Conflict {
        code: "health_consent_required",
        detail: "the member has not consented to the processing of their health data".into(),
    }
}

/// The member a hint names: a member id, a card number, or a phone number.
fn by_hint(s: &mut Scoped<'_>, hint: &str) -> AppResult<Option<String>> {
    let hint = hint.trim();
    if let Some(p) = members::find(s, hint)? {
        return Ok(Some(p.account_id));
    }
    if let Some(p) = members::find_by_card(s, hint)? {
        return Ok(Some(p.account_id));
    }
    let found = store::members_by_phone(s, hint)?;
    Ok(match found.as_slice() {
        [one] => Some(one.clone()),
        // Nobody, or a phone shared by several members (a family): staff decide.
        _ => None,
    })
}

/// Who an upload names, when it names someone explicitly: that member must exist.
fn named_member(s: &mut Scoped<'_>, upload: &BodyUpload) -> AppResult<Option<String>> {
    let unknown = |field: &str| {
        AppError::invalid(
            field,
            FieldError::new("", "unknown_member", "no member of this brand"),
        )
    };
    if let Some(id) = &upload.member_id {
        return members::find(s, id)?
            .map(|p| Some(p.account_id))
            .ok_or_else(|| unknown("member_id"));
    }
    if let Some(card) = &upload.card_number {
        return members::find_by_card(s, card)?
            .map(|p| Some(p.account_id))
            .ok_or_else(|| unknown("card_number"));
    }
    if let Some(phone) = &upload.phone {
        return by_hint(s, phone);
    }
    Ok(None)
}

/// The measurements of an upload, parsed and checked.
fn parse(upload: &BodyUpload, tz: Tz) -> AppResult<(String, Vec<Parsed>)> {
    let format = upload.format.clone().unwrap_or_else(|| "canonical".into());
    let data = || {
        upload.data.as_deref().ok_or_else(|| {
            AppError::invalid("data", FieldError::new("", "required", "the export's text"))
        })
    };
    let parsed = match format.as_str() {
        "canonical" => vec![Parsed {
            measurement: upload.measurement.clone().ok_or_else(|| {
                AppError::invalid(
                    "measurement",
                    FieldError::new("", "required", "a canonical measurement"),
                )
            })?,
            member_hint: None,
        }],
        "tanita" => body::tanita::parse(data()?, tz).map_err(FieldErrors::from)?,
        "inbody" => body::inbody::parse(data()?, tz).map_err(FieldErrors::from)?,
        _ => {
            return Err(AppError::invalid(
                "format",
                FieldError::new("", "unknown_format", "canonical, tanita or inbody"),
            ))
        }
    };
    let mut errors = FieldErrors::default();
    let mut checked = Vec::new();
    for (i, p) in parsed.into_iter().enumerate() {
        match p.measurement.clone().validate() {
            Ok(m) => checked.push(Parsed {
                measurement: m,
                member_hint: p.member_hint,
            }),
            Err(e) => {
                let prefix = if format == "canonical" {
                    "measurement".to_owned()
                } else {
                    format!("measurements[{i}]")
                };
                errors.0.extend(e.0.into_iter().map(|f| f.under(&prefix)));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok((format, checked))
}

/// Who may read a member's health data: staff with `body.read` (audited), the member, their guardian.
fn readable(
    app: &App,
    s: &mut Scoped<'_>,
    ctx: &Ctx,
    member_id: &str,
) -> AppResult<(Principal, bool)> {
    let principal = authorize(app.principals(), s, ctx, Permission::ProfileReadOwn)?;
    let profile = members::find(s, member_id)?.ok_or(AppError::NotFound("member"))?;
    if principal.id == member_id
        || profile.guardian_account_id.as_deref() == Some(principal.id.as_str())
    {
        return Ok((principal, false));
    }
    if Permission::BodyRead.allowed_for(&principal.roles) {
        return Ok((principal, true));
    }
    Err(AppError::NotFound("member"))
}

fn health(app: &App, s: &mut Scoped<'_>, member_id: &str) -> AppResult<HealthView> {
    let history = store::of_member(s, member_id)?
        .iter()
        .map(|row| open(app, s, row))
        .collect::<AppResult<Vec<_>>>()?;
    let measurements: Vec<Measurement> = history.iter().map(|v| v.measurement.clone()).collect();
    let goals = store::goals(s, member_id)?
        .into_iter()
        .map(|g| Goal {
            metric: g.metric,
            target: g.target_milli as f64 / 1000.0,
            due_on: g.due_on,
        })
        .collect();
    Ok(HealthView {
        member_id: member_id.to_owned(),
        latest: history.last().cloned(),
        trends: body::trends(&measurements),
        goals,
        history,
    })
}

impl App {
    /// `POST /api/v1/body-measurements`: from a paired body analyser, or staff (`body.manage`).
    pub async fn upload_body_measurements(
        &self,
        ctx: &Ctx,
        upload: BodyUpload,
    ) -> AppResult<UploadOutcome> {
        let (tenant, tenant_row) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let (source, device_id, uploader, tz) = match ctx.actor.as_ref().map(|a| a.kind) {
                    Some(ActorKind::Device) => {
                        let device = crate::devices::calling_device(s, &ctx)?;
                        if device.kind != "body_analyzer" {
                            return Err(AppError::Denied {
                                code: "device_not_allowed",
                                detail: "only a body analyser uploads measurements".into(),
                            });
                        }
                        let tz = crate::access::location_tz(s, device.location_id.as_deref())?;
                        ("device", Some(device.id), None, tz)
                    }
                    _ => {
                        let principal = authorize(app.principals(), s, &ctx, Permission::BodyManage)?;
                        let tz = crate::scheduling::tenant_tz(&tenant_row);
                        ("staff", None, Some(principal.id), tz)
                    }
                };
                let (format, parsed) = parse(&upload, tz)?;
                let named = named_member(s, &upload)?;
                let key = data_keys::current(s, app.master())?;
                let mut outcome = UploadOutcome { stored: Vec::new(), unmatched: 0 };
                for p in parsed {
                    let hint = p.member_hint.clone().or_else(|| {
                        upload.phone.clone().filter(|_| named.is_none())
                    });
                    let member = match (&named, &p.member_hint) {
                        (Some(m), _) => Some(m.clone()),
                        (None, Some(h)) => by_hint(s, h)?,
                        (None, None) => None,
                    };
                    if let Some(m) = &member {
                        if !has_health_consent(s, m)? {
                            return Err(no_consent());
                        }
                    }
                    let id = IdKind::BodyMeasurement.new_id();
                    let plain = serde_json::to_vec(&p.measurement)
                        .map_err(|e| AppError::Internal(e.to_string()))?;
                    let sealed = crypto::seal_record(&key, s.realm_key(), &id, &plain)
                        .map_err(crate::storage::app_error)?;
                    let measured_at = p.measurement.measured_at.unwrap_or(now);
                    let row = MeasurementRow {
                        tenant_id: s.realm_key().to_owned(),
                        id,
                        member_id: member.clone(),
                        status: if member.is_some() { "matched" } else { "unmatched" }.into(),
                        source: source.into(),
                        format: format.clone(),
                        device_id: device_id.clone(),
                        uploaded_by: uploader.clone(),
                        member_hint: if member.is_some() { None } else { hint },
                        measured_at: naive(measured_at),
                        data_key_id: key.id.clone(),
                        sealed: sealed_text(&sealed),
                        created_at: naive(now),
                        matched_at: member.as_ref().map(|_| naive(now)),
                        matched_by: None,
                    };
                    store::insert(s, &row)?;
                    audit::record(
                        s,
                        &ctx,
                        Event::on("body.measured", "body_measurement", &row.id).with(
                            serde_json::json!({ "member_id": row.member_id, "format": row.format, "source": row.source }),
                        ),
                        now,
                    )?;
                    let event = if member.is_some() { "body.measured" } else { "body.unmatched" };
                    crate::events::publish(
                        s,
                        &ctx,
                        event,
                        member.as_deref(),
                        serde_json::json!({ "measurement_id": row.id, "member_id": row.member_id,
                            "measured_at": measured_at }),
                        now,
                    )?;
                    if member.is_none() {
                        outcome.unmatched += 1;
                    }
                    outcome.stored.push(MeasurementView {
                        id: row.id,
                        member_id: row.member_id,
                        status: row.status,
                        source: row.source,
                        format: row.format,
                        member_hint: row.member_hint,
                        measured_at,
                        measurement: p.measurement,
                    });
                }
                Ok(outcome)
            })
        })
        .await
    }

    /// `GET /api/v1/body-measurements/unmatched` (`body.manage`): measurements waiting for a member.
    pub async fn unmatched_body_measurements(&self, ctx: &Ctx) -> AppResult<Vec<MeasurementView>> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::BodyManage)?;
                store::unmatched(s)?
                    .iter()
                    .map(|row| open(&app, s, row))
                    .collect()
            })
        })
        .await
    }

    /// `POST /api/v1/body-measurements/{id}/match` (`body.manage`): links a waiting measurement to a member, who
    /// must have consented.
    pub async fn match_body_measurement(
        &self,
        ctx: &Ctx,
        id: &str,
        member_id: &str,
    ) -> AppResult<MeasurementView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id, member_id) = (
            ctx.clone(),
            self.clone(),
            id.to_owned(),
            member_id.to_owned(),
        );
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::BodyManage)?;
                store::find(s, &id)?.ok_or(AppError::NotFound("body measurement"))?;
                members::find(s, &member_id)?.ok_or_else(|| {
                    AppError::invalid(
                        "member_id",
                        FieldError::new("", "unknown_member", "no member of this brand"),
                    )
                })?;
                if !has_health_consent(s, &member_id)? {
                    return Err(no_consent());
                }
                if !store::set_member(s, &id, &member_id, &principal.id, naive(now))? {
                    return Err(AppError::Conflict {
                        code: "already_matched",
                        detail: "this measurement already belongs to a member".into(),
                    });
                }
                audit::record(
                    s,
                    &ctx,
                    Event::on("body.matched", "body_measurement", &id)
                        .with(serde_json::json!({ "member_id": member_id })),
                    now,
                )?;
                crate::events::publish(
                    s,
                    &ctx,
                    "body.measured",
                    Some(&member_id),
                    serde_json::json!({ "measurement_id": id, "member_id": member_id }),
                    now,
                )?;
                let row = store::find(s, &id)?.ok_or(AppError::NotFound("body measurement"))?;
                open(&app, s, &row)
            })
        })
        .await
    }

    /// `GET /api/v1/members/{id}/body-measurements`: staff with `body.read` (each read audited), the member or
    /// their guardian.
    pub async fn member_health(&self, ctx: &Ctx, member_id: &str) -> AppResult<HealthView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, member_id) = (ctx.clone(), self.clone(), member_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let (_, audited) = readable(&app, s, &ctx, &member_id)?;
                if audited {
                    audit::record(s, &ctx, Event::on("body.viewed", "member", &member_id), now)?;
                }
                health(&app, s, &member_id)
            })
        })
        .await
    }

    /// `GET /api/v1/members/{id}/body-scans`: the member's 3D body scans and their measurements files (files of
    /// purpose `body_scan` the member owns), newest first; the same readers as the measurements, staff audited.
    /// Their content is read through `/api/v1/files/{id}` like any sensitive file.
    pub async fn member_body_scans(
        &self,
        ctx: &Ctx,
        member_id: &str,
    ) -> AppResult<Vec<crate::storage::FileView>> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, member_id) = (ctx.clone(), self.clone(), member_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let (_, audited) = readable(&app, s, &ctx, &member_id)?;
                if audited {
                    audit::record(
                        s,
                        &ctx,
                        Event::on("body.viewed", "member", &member_id)
                            .with(serde_json::json!({ "what": "body_scans" })),
                        now,
                    )?;
                }
                let scan = tessera_domain::files::FilePurpose::BodyScan.as_str();
                let mut scans: Vec<crate::storage::FileView> = files::owned_by(s, &member_id)?
                    .iter()
                    .filter(|f| f.purpose == scan)
                    .map(crate::storage::FileView::from)
                    .collect();
                scans.reverse();
                Ok(scans)
            })
        })
        .await
    }

    /// `GET /api/v1/me/health`: the caller's own.
    pub async fn my_health(&self, ctx: &Ctx) -> AppResult<HealthView> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        let (ctx, app) = (ctx.clone(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::ProfileReadOwn)?;
                health(&app, s, &principal.id)
            })
        })
        .await
    }

    /// `PUT /api/v1/members/{id}/body-goals` (`body.manage`): a pro sets a goal for a metric.
    pub async fn set_body_goal(&self, ctx: &Ctx, member_id: &str, goal: Goal) -> AppResult<Goal> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        if body::metric(&goal.metric).is_none() {
            return Err(AppError::invalid(
                "metric",
                FieldError::new(
                    "",
                    "unknown_metric",
                    "a metric of the canonical measurement",
                ),
            ));
        }
        if !goal.target.is_finite() || goal.target < 0.0 || goal.target > 10_000.0 {
            return Err(AppError::invalid(
                "target",
                FieldError::new("", "out_of_range", "0 to 10000"),
            ));
        }
        let now = self.clock().now();
        let (ctx, app, member_id) = (ctx.clone(), self.clone(), member_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Write, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::BodyManage)?;
                members::find(s, &member_id)?.ok_or(AppError::NotFound("member"))?;
                store::set_goal(
                    s,
                    &GoalRow {
                        tenant_id: s.realm_key().to_owned(),
                        id: IdKind::BodyGoal.new_id(),
                        member_id: member_id.clone(),
                        metric: goal.metric.clone(),
                        target_milli: (goal.target * 1000.0).round() as i64,
                        due_on: goal.due_on,
                        set_by: principal.id,
                        created_at: naive(now),
                    },
                )?;
                audit::record(
                    s,
                    &ctx,
                    Event::on("body.goal_set", "member", &member_id)
                        .with(serde_json::json!({ "metric": goal.metric })),
                    now,
                )?;
                Ok(goal)
            })
        })
        .await
    }

    /// `GET /api/v1/body-measurements/{id}/report`: one measurement as a report, HTML or PDF (the member, their
    /// guardian, or staff with `body.read`, audited).
    pub async fn body_report(
        &self,
        ctx: &Ctx,
        id: &str,
        format: ReportFormat,
    ) -> AppResult<BodyReport> {
        let (tenant, tenant_row) = crate::scheduling::tenant_of(self, ctx)?;
        let now = self.clock().now();
        let (ctx, app, id) = (ctx.clone(), self.clone(), id.to_owned());
        let (view, name, history) = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    let row = store::find(s, &id)?.ok_or(AppError::NotFound("body measurement"))?;
                    let member = row
                        .member_id
                        .clone()
                        .ok_or(AppError::NotFound("body measurement"))?;
                    let (_, audited) = readable(&app, s, &ctx, &member)
                        .map_err(|_| AppError::NotFound("body measurement"))?;
                    if audited {
                        audit::record(
                            s,
                            &ctx,
                            Event::on("body.viewed", "body_measurement", &id),
                            now,
                        )?;
                    }
                    let profile = members::find(s, &member)?.ok_or(AppError::NotFound("member"))?;
                    let view = open(&app, s, &row)?;
                    let history = health(&app, s, &member)?;
                    Ok((
                        view,
                        format!("{} {}", profile.given_name, profile.family_name),
                        history,
                    ))
                })
            })
            .await?;
        let content = report::Content::of(&tenant_row.display_name, &name, &view, &history.trends);
        match format {
            ReportFormat::Html => Ok(BodyReport::Html(content.html()?)),
            ReportFormat::Pdf => {
                let color = tenant_row.config.branding.primary_color.clone();
                // Laying out and compressing a PDF is CPU work: off the async workers.
                let pdf = tokio::task::spawn_blocking(move || content.pdf(&color))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))??;
                Ok(BodyReport::Pdf(pdf))
            }
        }
    }
}

/// The forms of a measurement's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    /// A web page (the default).
    #[default]
    Html,
    /// An A4 PDF, to print or send.
    Pdf,
}

/// A rendered report.
#[derive(Debug, Clone)]
pub enum BodyReport {
    /// The web page.
    Html(String),
    /// The PDF's bytes.
    Pdf(Vec<u8>),
}

mod report {
    //! The report of one measurement: its content (the measures with their changes, the segments) laid out
    //! once, then rendered as an HTML page or an A4 PDF.

    use tessera_domain::body::MetricTrend;
    use tessera_invoicing::{render_report_pdf, ReportDocument, ReportTable};

    use super::MeasurementView;
    use crate::{AppError, AppResult};

    const TEMPLATE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ brand }} — body composition</title>
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}</style></head>
<body><h1>{{ brand }}</h1><h2>Body composition of {{ name }}</h2>
<p>Measured {{ measured_at }} ({{ format }})</p>
<table><tr><th>Measure</th><th>Value</th><th>Since previous</th><th>Since first</th></tr>
{% for row in rows %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td><td>{{ row[2] }}</td><td>{{ row[3] }}</td></tr>
{% endfor %}</table>
{% if segments %}<h3>Segments</h3><table><tr><th>Segment</th><th>Lean, kg</th><th>Fat, %</th><th>Fat, kg</th></tr>
{% for s in segments %}<tr><td>{{ s[0] }}</td><td>{{ s[1] }}</td><td>{{ s[2] }}</td><td>{{ s[3] }}</td></tr>
{% endfor %}</table>{% endif %}
<p><small>{{ footer }}</small></p></body></html>"#;

    const FOOTER: &str = "Health data: confidential. Produced by Tessera.";

    fn show(v: Option<f64>) -> String {
        v.map(|x| format!("{x}")).unwrap_or_default()
    }

    /// What a report says, whatever its form.
    pub struct Content {
        brand: String,
        name: String,
        measured_at: String,
        format: String,
        /// Measure, value, change since the previous measurement, since the first.
        rows: Vec<[String; 4]>,
        /// Segment, lean kg, fat %, fat kg (empty when the analyser measures no segments).
        segments: Vec<[String; 4]>,
    }

    impl Content {
        /// The content of `view`'s report, with the member's `trends`.
        pub fn of(
            brand: &str,
            name: &str,
            view: &MeasurementView,
            trends: &[MetricTrend],
        ) -> Content {
            let m = &view.measurement;
            let rows = tessera_domain::body::METRICS
                .iter()
                .filter_map(|(metric, read)| {
                    let value = read(m)?;
                    let trend = trends.iter().find(|t| t.metric == *metric);
                    Some([
                        metric.replace('_', " "),
                        format!("{value}"),
                        show(trend.and_then(|t| t.since_previous)),
                        show(trend.and_then(|t| t.since_first)),
                    ])
                })
                .collect();
            let segments = if m.has_segments() {
                [
                    (
                        "right arm",
                        m.segmental_lean_kg.right_arm,
                        m.segmental_fat_percent.right_arm,
                        m.segmental_fat_kg.right_arm,
                    ),
                    (
                        "left arm",
                        m.segmental_lean_kg.left_arm,
                        m.segmental_fat_percent.left_arm,
                        m.segmental_fat_kg.left_arm,
                    ),
                    (
                        "trunk",
                        m.segmental_lean_kg.trunk,
                        m.segmental_fat_percent.trunk,
                        m.segmental_fat_kg.trunk,
                    ),
                    (
                        "right leg",
                        m.segmental_lean_kg.right_leg,
                        m.segmental_fat_percent.right_leg,
                        m.segmental_fat_kg.right_leg,
                    ),
                    (
                        "left leg",
                        m.segmental_lean_kg.left_leg,
                        m.segmental_fat_percent.left_leg,
                        m.segmental_fat_kg.left_leg,
                    ),
                ]
                .into_iter()
                .map(|(name, lean, pct, kg)| [name.to_owned(), show(lean), show(pct), show(kg)])
                .collect()
            } else {
                Vec::new()
            };
            Content {
                brand: brand.to_owned(),
                name: name.to_owned(),
                measured_at: view.measured_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                format: view.format.clone(),
                rows,
                segments,
            }
        }

        /// The web page (values escaped by the template engine).
        pub fn html(&self) -> AppResult<String> {
            let mut env = minijinja::Environment::new();
            env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
            env.add_template("report.html", TEMPLATE)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            env.get_template("report.html")
                .and_then(|t| {
                    t.render(minijinja::context! {
                        brand => self.brand, name => self.name, measured_at => self.measured_at,
                        format => self.format, rows => self.rows, segments => self.segments, footer => FOOTER,
                    })
                })
                .map_err(|e| AppError::Internal(e.to_string()))
        }

        /// The A4 PDF, in the brand's `color`.
        pub fn pdf(&self, color: &str) -> AppResult<Vec<u8>> {
            let mut tables = vec![ReportTable {
                heading: "Measures".into(),
                columns: ["Measure", "Value", "Since previous", "Since first"]
                    .map(String::from)
                    .to_vec(),
                rows: self.rows.iter().map(|r| r.to_vec()).collect(),
            }];
            if !self.segments.is_empty() {
                tables.push(ReportTable {
                    heading: "Segments".into(),
                    columns: ["Segment", "Lean, kg", "Fat, %", "Fat, kg"]
                        .map(String::from)
                        .to_vec(),
                    rows: self.segments.iter().map(|r| r.to_vec()).collect(),
                });
            }
            render_report_pdf(&ReportDocument {
                brand: self.brand.clone(),
                primary_color: color.to_owned(),
                title: format!("Body composition of {}", self.name),
                lines: vec![format!("Measured {} ({})", self.measured_at, self.format)],
                tables,
                footer: FOOTER.to_owned(),
                language: "en".to_owned(),
            })
            .map_err(|e| AppError::Internal(e.to_string()))
        }
    }
}

pub(crate) mod personal {
    //! The personal-data section of body composition: measurements (opened) and goals.

    use chrono::{DateTime, Utc};
    use tessera_store::models::body as store;
    use tessera_store::Scoped;

    use crate::personal_data::{Erased, Subject};
    use crate::AppResult;

    /// Every measurement, opened, and the goals.
    pub fn export(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
        let id = &subject.account.id;
        let measurements = store::of_member(s, id)?
            .iter()
            .map(|row| super::open(subject.app, s, row))
            .collect::<AppResult<Vec<_>>>()?;
        let goals: Vec<serde_json::Value> = store::goals(s, id)?
            .into_iter()
            .map(|g| {
                serde_json::json!({ "metric": g.metric, "target": g.target_milli as f64 / 1000.0,
                "due_on": g.due_on, "set_by": g.set_by })
            })
            .collect();
        Ok(serde_json::json!({ "measurements": measurements, "goals": goals }))
    }

    /// Measurements and goals are deleted.
    pub fn erase(
        s: &mut Scoped<'_>,
        subject: &Subject<'_>,
        _now: DateTime<Utc>,
    ) -> AppResult<Erased> {
        Ok(Erased::deleted(store::delete_of_member(
            s,
            &subject.account.id,
        )?))
    }
}
