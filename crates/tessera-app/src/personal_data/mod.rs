//! Personal data (GDPR): the export of everything Tessera holds about one account, and its erasure.
//!
//! Every module that stores personal data adds a [`Section`] to [`SECTIONS`], saying what it exports and
//! how it erases: deleted, anonymised, or kept with the legal reason. Export and erasure walk the same list, so a
//! module cannot be forgotten by one and not the other. Billing will add invoices (kept ten years, anonymised
//! where the law allows).
//!
//! Erasure runs in the system context (a listed use): it must see whether the group person is still used by
//! another brand, and delete the account's queued e-mails, which the app role may not.

mod archive;
mod section;
mod sections;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_store::models::accounts;
use tessera_store::TxMode;

pub use section::{Erased, ErasureLine, Section, Subject};
pub use sections::SECTIONS;

use crate::auth::authorize;
use crate::{audit, App, AppError, AppResult, Ctx};

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

/// A finished export: a zip file (`personal-data.json` and the account's files under `files/`).
pub struct Export {
    /// `personal-data-<account>.zip`.
    pub filename: String,
    /// The zip, a temporary file deleted when this is dropped.
    pub path: tempfile::TempPath,
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
        // The door decisions about the account are part of its data.
        self.door_records_written(&tenant).await;
        let (ctx, app, now) = (ctx.clone(), self.clone(), self.clock().now());
        let realm = tenant.clone();
        let document = self
            .blocking(move |db| {
                db.scoped(&realm, TxMode::Write, |s| {
                    authorize(app.principals(), s, &ctx, permission)?;
                    let account = accounts::find(s, &account_id)?
                        .filter(|a| a.status != "erased")
                        .ok_or(AppError::NotFound("account"))?;
                    let subject = Subject::new(&account, &app);
                    let mut sections = serde_json::Map::new();
                    for section in SECTIONS {
                        sections.insert(section.name.to_owned(), (section.export)(s, &subject)?);
                    }
                    let event = audit::Event::on("gdpr.exported", "account", &account.id);
                    audit::record(s, &ctx, event, now)?;
                    Ok(serde_json::json!({
                        "format": "tessera.personal-data.v1",
                        "exported_at": now,
                        "tenant_id": realm,
                        "sections": sections,
                    }))
                })
            })
            .await?;
        let account = document["sections"]["account"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let archive = archive::Archive::start()?;
        archive.entry("personal-data.json".into()).await?;
        let json =
            serde_json::to_vec_pretty(&document).map_err(|e| AppError::Internal(e.to_string()))?;
        archive.write(json.into()).await?;
        // The files' contents, decrypted, beside the JSON that lists them.
        for file in document["sections"]["files"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let (Some(id), Some(entry)) = (file["id"].as_str(), file["archive_path"].as_str())
            else {
                continue;
            };
            let mut download = self.open_file(&tenant, id, "personal data export").await?;
            archive.entry(entry.to_owned()).await?;
            while let Some(chunk) = futures::StreamExt::next(&mut download.body).await {
                archive
                    .write(chunk.map_err(|e| AppError::Internal(format!("file {id}: {e}")))?)
                    .await?;
            }
        }
        Ok(Export {
            filename: format!("personal-data-{account}.zip"),
            path: archive.finish().await?,
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
        // A door decision written after the erasure would bring the member back into the log.
        self.door_records_written(&tenant).await;
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
                    let subject = Subject::new(&account, &app);
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
                    Ok((report, subject.doomed_objects.take()))
                })
            })
            .await?;
        let (report, doomed_objects) = report;
        self.principals().evict(&realm_key, &report.account_id);
        // After the commit: a failure leaves bytes no row points at (and, for sensitive files, encrypted under
        // a key only Tessera holds); the reverse order could leave rows whose bytes are gone.
        for key in doomed_objects {
            if let Err(error) = self.storage().store().delete(&key).await {
                tracing::warn!(%error, key, "could not remove an erased file's object");
            }
        }
        Ok(report)
    }
}
