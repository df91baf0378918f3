//! Personal data (GDPR): the export of everything Tessera holds about one account, and its erasure.
//!
//! Every module that stores personal data adds a [`Section`] to [`SECTIONS`], saying what it exports and
//! how it erases: deleted, anonymised, or kept with the legal reason. Export and erasure walk the same list, so a
//! module cannot be forgotten by one and not the other. Billing will add invoices (kept ten years, anonymised
//! where the law allows); storage adds the account's files.
//!
//! Erasure runs in the system context (a listed use): it must see whether the group person is still used by
//! another brand, and delete the account's queued e-mails, which the app role may not.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_store::models::personal_data as records;
use tessera_store::models::{accounts, events};
use tessera_store::{Scoped, TxMode};

use crate::auth::authorize;
use crate::{audit, naive, App, AppError, AppResult, Ctx};

/// What erasure did to one section.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErasureLine {
    /// The section.
    pub section: &'static str,
    /// Rows deleted.
    pub deleted: usize,
    /// Rows anonymised.
    pub anonymised: usize,
    /// What was kept, and why (a legal duty or a security record), when anything was.
    pub kept: Option<&'static str>,
}

/// What a section's erasure did, before the walker names it.
pub struct Erased {
    deleted: usize,
    anonymised: usize,
    kept: Option<&'static str>,
}

impl Erased {
    /// `n` rows deleted, nothing kept.
    pub fn deleted(n: usize) -> Erased {
        Erased {
            deleted: n,
            anonymised: 0,
            kept: None,
        }
    }

    /// Nothing touched: all of it stays, for this reason.
    pub fn kept(reason: &'static str) -> Erased {
        Erased {
            deleted: 0,
            anonymised: 0,
            kept: Some(reason),
        }
    }

    /// `n` rows anonymised; what stays, and why.
    pub fn anonymised(n: usize, kept: &'static str) -> Erased {
        Erased {
            deleted: 0,
            anonymised: n,
            kept: Some(kept),
        }
    }
}

/// The account an export or erasure is about.
pub struct Subject<'a> {
    /// The account.
    pub account: &'a accounts::AccountRow,
    /// The application, for the master key of sealed records.
    pub app: &'a App,
}

/// Everything a section holds about the subject, as JSON.
type ExportFn = fn(&mut Scoped<'_>, &Subject<'_>) -> AppResult<serde_json::Value>;
/// Deletes or anonymises a section (system context, scoped to the subject's realm).
type EraseFn = fn(&mut Scoped<'_>, &Subject<'_>, DateTime<Utc>) -> AppResult<Erased>;

/// One module's personal data: its name in the export and the erasure report, and what it does for each.
pub struct Section {
    /// Name.
    pub name: &'static str,
    /// Export.
    pub export: ExportFn,
    /// Erasure.
    pub erase: EraseFn,
}

/// Every section, in export order.
pub static SECTIONS: &[Section] = &[
    Section {
        name: "account",
        export: export_profile,
        erase: erase_profile,
    },
    Section {
        name: "sessions",
        export: export_credentials,
        erase: |s, subject, _| {
            Ok(Erased::deleted(records::delete_credentials(
                s,
                &subject.account.id,
            )?))
        },
    },
    Section {
        name: "events",
        export: export_events,
        erase: |s, subject, _| {
            let n = events::scrub_about_account(s, &subject.account.id)?;
            Ok(Erased::anonymised(n, "the events' ids, types and times, emptied of data, for the webhook delivery history"))
        },
    },
    Section {
        name: "emails",
        export: export_emails,
        erase: |s, subject, _| {
            let ids = emails_to(s, subject)?;
            Ok(Erased::deleted(records::delete_jobs(s, &ids)?))
        },
    },
    Section {
        name: "request_records",
        export: |_, _| {
            Ok(
                serde_json::json!({ "note": "answers to retried requests are kept 24 hours, for retries only" }),
            )
        },
        erase: |s, subject, _| {
            Ok(Erased::deleted(records::delete_idempotency_records(
                s,
                &subject.account.id,
            )?))
        },
    },
    Section {
        name: "audit",
        export: export_audit,
        erase: |_, _, _| {
            Ok(Erased::kept("security audit entries (ids and actions only, no name or address): a legitimate-interest record that must stay tamper-evident"))
        },
    },
];

fn to_json<T: Serialize>(value: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn export_profile(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let a = subject.account;
    Ok(serde_json::json!({
        "id": a.id,
        "email": a.email,
        "display_name": a.display_name,
        "specialty": a.specialty,
        "status": a.status,
        "roles": accounts::roles(s, &a.id)?,
        "created_at": a.created_at.and_utc(),
        "email_verified_at": a.email_verified_at.map(|t| t.and_utc()),
    }))
}

fn erase_profile(
    s: &mut Scoped<'_>,
    subject: &Subject<'_>,
    now: DateTime<Utc>,
) -> AppResult<Erased> {
    let account = records::anonymise_account(s, &subject.account.id, naive(now))?;
    let person = usize::from(records::anonymise_person_if_unused(
        s,
        &subject.account.person_id,
    )?);
    Ok(Erased::anonymised(
        account + person,
        "the account's id, creation date and status 'erased', so that records that must be kept still point somewhere; name, address and password are gone",
    ))
}

fn export_credentials(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    Ok(serde_json::json!({
        "sessions": to_json(&records::sessions(s, &subject.account.id)?)?,
        "links": to_json(&records::links(s, &subject.account.id)?)?,
    }))
}

fn export_events(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let rows = events::about_account(s, &subject.account.id)?;
    to_json(
        &rows
            .iter()
            .map(crate::events::EventView::of)
            .collect::<Vec<_>>(),
    )
}

/// The realm's e-mail jobs addressed to the subject: they are sealed, so each is opened to find them.
fn emails_to(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<Vec<String>> {
    let mut ids = Vec::new();
    for (id, payload) in records::jobs_of_kind(s, "email.send")? {
        let sealed = serde_json::from_str::<serde_json::Value>(&payload)
            .ok()
            .and_then(|p| p["sealed"].as_str().map(str::to_owned));
        let Some(sealed) = sealed else { continue };
        let Ok(json) = subject.app.master().open(&sealed, "email") else {
            continue;
        };
        let to = serde_json::from_slice::<crate::email::OutgoingEmail>(&json).map(|m| m.to);
        if to.is_ok_and(|to| to.eq_ignore_ascii_case(&subject.account.email)) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn export_emails(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    Ok(serde_json::json!({
        "messages_kept": emails_to(s, subject)?.len(),
        "note": "sent e-mails are kept sealed for 30 days, then deleted",
    }))
}

fn export_audit(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let rows = records::audit_entries(s, &subject.account.id)?;
    let entries: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(seq, action, at, by_subject)| {
            serde_json::json!({ "seq": seq, "action": action, "at": at.and_utc(), "by_you": by_subject })
        })
        .collect();
    Ok(serde_json::Value::Array(entries))
}

/// An erasure's report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErasureReport {
    /// The account.
    pub account_id: String,
    /// When.
    pub erased_at: DateTime<Utc>,
    /// Section by section.
    pub sections: Vec<ErasureLine>,
}

/// A finished export: a zip file's bytes.
pub struct Export {
    /// `personal-data-<account>.zip`.
    pub filename: String,
    /// The zip.
    pub zip: Vec<u8>,
}

fn tenant_of(ctx: &Ctx) -> AppResult<String> {
    ctx.realm
        .tenant_id()
        .map(str::to_owned)
        .ok_or(AppError::NotFound("route"))
}

impl App {
    /// The caller's own data, as a zip.
    pub async fn export_my_data(&self, ctx: &Ctx) -> AppResult<Export> {
        let account = ctx
            .actor
            .as_ref()
            .map(|a| a.subject_id.clone())
            .ok_or(AppError::Forbidden)?;
        self.export_data(ctx, account, Permission::ProfileReadOwn)
            .await
    }

    /// An account's data, as a zip, for an admin answering a request.
    pub async fn export_account_data(&self, ctx: &Ctx, account_id: &str) -> AppResult<Export> {
        self.export_data(ctx, account_id.to_owned(), Permission::PersonalDataManage)
            .await
    }

    async fn export_data(
        &self,
        ctx: &Ctx,
        account_id: String,
        permission: Permission,
    ) -> AppResult<Export> {
        let tenant = tenant_of(ctx)?;
        let (ctx, app, now) = (ctx.clone(), self.clone(), self.clock().now());
        let document = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    authorize(app.principals(), s, &ctx, permission)?;
                    let account = accounts::find(s, &account_id)?
                        .filter(|a| a.status != "erased")
                        .ok_or(AppError::NotFound("account"))?;
                    let subject = Subject {
                        account: &account,
                        app: &app,
                    };
                    let mut sections = serde_json::Map::new();
                    for section in SECTIONS {
                        sections.insert(section.name.to_owned(), (section.export)(s, &subject)?);
                    }
                    let event = audit::Event::on("gdpr.exported", "account", &account.id);
                    audit::record(s, &ctx, event, now)?;
                    Ok(serde_json::json!({
                        "format": "tessera.personal-data.v1",
                        "exported_at": now,
                        "tenant_id": tenant,
                        "sections": sections,
                    }))
                })
            })
            .await?;
        let account = document["sections"]["account"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let zip = zip_json(&document)?;
        Ok(Export {
            filename: format!("personal-data-{account}.zip"),
            zip,
        })
    }

    /// Erases an account's personal data; returns what was deleted, anonymised and kept (also written to the
    /// audit log, without personal data).
    pub async fn erase_account(
        &self,
        ctx: &Ctx,
        account_id: &str,
        reason: &str,
    ) -> AppResult<ErasureReport> {
        let tenant = tenant_of(ctx)?;
        let reason = reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 500 {
            return Err(AppError::invalid(
                "reason",
                tessera_domain::FieldError::new(
                    "",
                    "required",
                    "say why, in at most 500 characters",
                ),
            ));
        }
        let realm_key = ctx.realm.key().to_owned();
        let (ctx, app, now, account_id) = (
            ctx.clone(),
            self.clone(),
            self.clock().now(),
            account_id.to_owned(),
        );
        let report = self
            .blocking(move |db| {
                // Who asks is checked in the brand's own context.
                let principal = db.scoped(&tenant, TxMode::Read, |s| {
                    authorize(app.principals(), s, &ctx, Permission::PersonalDataManage)
                })?;
                if principal.id == account_id {
                    return Err(AppError::Conflict {
                        code: "cannot_erase_self",
                        detail: "another admin must erase your account".into(),
                    });
                }
                db.system(TxMode::Write, |sys| {
                    let mut s = sys.scoped(&tenant);
                    let account = accounts::find(&mut s, &account_id)?
                        .filter(|a| a.status != "erased")
                        .ok_or(AppError::NotFound("account"))?;
                    let subject = Subject {
                        account: &account,
                        app: &app,
                    };
                    let mut sections = Vec::new();
                    for section in SECTIONS {
                        let erased = (section.erase)(&mut s, &subject, now)?;
                        sections.push(ErasureLine {
                            section: section.name,
                            deleted: erased.deleted,
                            anonymised: erased.anonymised,
                            kept: erased.kept,
                        });
                    }
                    let report = ErasureReport {
                        account_id: account.id.clone(),
                        erased_at: now,
                        sections,
                    };
                    let event = audit::Event::on("gdpr.erased", "account", &account.id)
                        .with(serde_json::json!({ "report": report, "reason": reason }));
                    audit::record(&mut s, &ctx, event, now)?;
                    Ok(report)
                })
            })
            .await?;
        self.principals().evict(&realm_key, &report.account_id);
        Ok(report)
    }
}

fn zip_json(document: &serde_json::Value) -> AppResult<Vec<u8>> {
    use std::io::Write;
    let internal = |e: &dyn std::fmt::Display| AppError::Internal(format!("zip: {e}"));
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer
        .start_file("personal-data.json", options)
        .map_err(|e| internal(&e))?;
    let json = serde_json::to_vec_pretty(document).map_err(|e| internal(&e))?;
    writer.write_all(&json).map_err(|e| internal(&e))?;
    let cursor = writer.finish().map_err(|e| internal(&e))?;
    Ok(cursor.into_inner())
}
