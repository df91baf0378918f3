//! Object storage: files uploaded and downloaded as streams, behind one [`ObjectStore`] trait with a local-folder
//! backend (the default) and an S3 backend. See `docs/storage.md`.
//!
//! The services here hold every rule: the purpose's content types and size limit, who may upload, read and
//! delete what (`files.*` permissions), envelope encryption of sensitive files, the audit of each view of one,
//! and signed download URLs (Tessera's own for the local backend, presigned for S3, none for sensitive files).
//! Database work runs in short transactions around the transfer, never during it.

pub mod backend;
pub mod backup;
pub mod crypto;
pub(crate) mod data_keys;
pub mod local;
mod measure;
pub mod s3;
pub mod signed_url;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use tessera_config::StorageSettings;
use tessera_domain::files::FilePurpose;
use tessera_domain::ids::IdKind;
use tessera_domain::role::Permission;
use tessera_domain::FieldError;
use tessera_store::models::{accounts, files};
use tessera_store::TxMode;

pub use backend::{ByteStream, ObjectStore, StorageError};

use crate::audit::{self, Event};
use crate::auth::{authorize, check, Principal};
use crate::sealing::MasterKey;
use crate::{naive, App, AppError, AppResult, Ctx};

/// The object store and what the services need beside it.
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    settings: StorageSettings,
    url_key: [u8; 32],
}

/// Opens the configured backend (used by [`App::start`] and by backups).
pub fn open_store(settings: &StorageSettings) -> AppResult<Arc<dyn ObjectStore>> {
    match settings.backend.as_str() {
        "s3" => Ok(Arc::new(
            s3::S3Store::new(settings).map_err(|e| AppError::Unavailable(e.to_string()))?,
        )),
        _ => Ok(Arc::new(local::LocalStore::new(&settings.local_dir))),
    }
}

impl Storage {
    /// The storage of `settings`, signing its URLs with a key derived from the master key.
    pub fn open(settings: &StorageSettings, master: &MasterKey) -> AppResult<Storage> {
        Ok(Storage {
            store: open_store(settings)?,
            settings: settings.clone(),
            url_key: master.derive_key("tessera.storage.signed-url.v1"),
        })
    }

    /// The backend.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }
}

/// A file as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    /// `fil_...`.
    pub id: String,
    /// What it is for.
    pub purpose: String,
    /// The account it belongs to.
    pub owner_account_id: Option<String>,
    /// Content type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Encrypted at rest, served only through Tessera, each view audited.
    pub sensitive: bool,
    /// The name it was uploaded under.
    pub filename: Option<String>,
    /// Who uploaded it.
    pub created_by: String,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<&files::FileRow> for FileView {
    fn from(row: &files::FileRow) -> Self {
        FileView {
            id: row.id.clone(),
            purpose: row.purpose.clone(),
            owner_account_id: row.owner_account_id.clone(),
            content_type: row.content_type.clone(),
            size_bytes: row.size_bytes,
            sha256: row.sha256.clone(),
            sensitive: row.sensitive,
            filename: row.original_filename.clone(),
            created_by: row.created_by.clone(),
            created_at: tessera_store::utc(row.created_at),
        }
    }
}

/// An upload's parameters, unvalidated.
#[derive(Debug, Clone, Default)]
pub struct NewUpload {
    /// Purpose name.
    pub purpose: String,
    /// Owner account id; the caller when absent.
    pub owner: Option<String>,
    /// Original file name.
    pub filename: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Content-Length` header, when sent.
    pub content_length: Option<u64>,
}

/// An upload that passed its checks, ready for its bytes.
#[derive(Debug)]
pub struct PreparedUpload {
    tenant: String,
    purpose: FilePurpose,
    content_type: &'static str,
    filename: Option<String>,
    uploader: String,
    owner: String,
    data_key: Option<crypto::DataKey>,
}

/// A file being downloaded: its metadata and its content. The first chunk has been read (and, for a sensitive
/// file, authenticated) already, so a file that is corrupt from the start fails before any header is sent.
pub struct Download {
    /// The file.
    pub file: FileView,
    /// Its content.
    pub body: ByteStream,
}

/// A download URL.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DownloadUrl {
    /// The URL: a path on the brand's host (local backend) or a presigned S3 URL.
    pub url: String,
    /// When it stops working.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn tenant_only(ctx: &Ctx) -> AppResult<String> {
    ctx.realm
        .tenant_id()
        .map(str::to_owned)
        .ok_or(AppError::NotFound("route"))
}

fn too_large(limit: u64) -> AppError {
    AppError::TooLarge {
        code: "file_too_large",
        detail: format!("the file is larger than this use allows ({limit} bytes)"),
    }
}

/// The service error for a storage error.
pub(crate) fn app_error(error: StorageError) -> AppError {
    match error {
        StorageError::TooLarge { limit } => too_large(limit),
        StorageError::Corrupt(detail) => {
            tracing::error!(%detail, "a stored file failed its integrity check");
            AppError::FileCorrupt
        }
        StorageError::Upload(detail) => AppError::BadRequest {
            code: "unreadable_body",
            detail: format!("the upload could not be read: {detail}"),
        },
        StorageError::NotFound => {
            AppError::Internal("a file's object is missing from the object store".into())
        }
        StorageError::InvalidKey(key) => AppError::Internal(format!("invalid object key {key}")),
        StorageError::Backend(detail) => AppError::Unavailable(detail),
    }
}

fn check_filename(name: &str) -> Result<(), FieldError> {
    if name.is_empty() || name.chars().count() > 255 {
        return Err(FieldError::new("", "out_of_range", "1 to 255 characters"));
    }
    // Bidirectional and invisible format characters make a name display as something else
    // ("invoice\u{202E}fdp.exe"): refused with the control characters.
    let deceptive = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
    if name
        .chars()
        .any(|c| c.is_control() || deceptive(c) || c == '/' || c == '\\')
    {
        return Err(FieldError::new(
            "",
            "invalid_format",
            "a file name without folders, control or direction characters",
        ));
    }
    Ok(())
}

/// Whether `principal` may delete `row`. Files the system makes or the law keeps (invoices, exports) are never
/// deleted through the API; the owner may delete the rest of their own files; others need `files.manage` (and
/// `files.read_sensitive` as well for a sensitive file: whoever may not see it may not destroy it either).
fn check_delete(principal: &Principal, row: &files::FileRow) -> AppResult<()> {
    let purpose = FilePurpose::parse(&row.purpose).ok();
    if purpose.is_some_and(|p| p.retention().is_some() || !p.rules().owner_may_upload) {
        return Err(AppError::Conflict {
            code: "file_not_deletable",
            detail:
                "this file is kept by the system (an invoice or an export) and cannot be deleted"
                    .into(),
        });
    }
    if row.owner_account_id.as_deref() == Some(principal.id.as_str()) {
        return Ok(());
    }
    check(principal.clone(), Permission::FilesManage)?;
    if row.sensitive {
        check(principal.clone(), Permission::FilesReadSensitive)?;
    }
    Ok(())
}

/// Whether `principal` may see `row`: its owner may; others need `files.manage` for non-sensitive files and
/// `files.read_sensitive` for sensitive ones.
fn check_access(principal: &Principal, row: &files::FileRow) -> AppResult<()> {
    if row.owner_account_id.as_deref() == Some(principal.id.as_str()) {
        return Ok(());
    }
    let needed = if row.sensitive {
        Permission::FilesReadSensitive
    } else {
        Permission::FilesManage
    };
    check(principal.clone(), needed).map(|_| ())
}

/// The data key of a sensitive file (none for the others).
fn file_data_key(
    app: &App,
    s: &mut tessera_store::Scoped<'_>,
    row: &files::FileRow,
) -> AppResult<Option<crypto::DataKey>> {
    match (&row.data_key_id, row.sensitive) {
        (Some(key_id), true) => {
            let key_row = files::data_key(s, key_id)?
                .ok_or_else(|| AppError::Internal(format!("data key {key_id} is missing")))?;
            Ok(Some(data_keys::open(&key_row, app.master())?))
        }
        _ => Ok(None),
    }
}

/// Reads the first chunk so that a file failing from the start fails before a response begins.
async fn prefetch(mut body: ByteStream) -> AppResult<ByteStream> {
    match body.next().await {
        None => Ok(futures::stream::empty().boxed()),
        Some(Err(error)) => Err(app_error(error)),
        Some(Ok(first)) => Ok(futures::stream::once(
            async move { Ok::<Bytes, StorageError>(first) },
        )
        .chain(body)
        .boxed()),
    }
}

impl App {
    /// The object storage.
    pub fn storage(&self) -> &Storage {
        &self.inner.storage
    }

    /// `POST /api/v1/files`: stores `body` as a file for `input.purpose`, streaming (and encrypting a sensitive
    /// file) in bounded memory: [`App::prepare_upload`] then [`App::store_upload`].
    pub async fn upload_file(
        &self,
        ctx: &Ctx,
        input: NewUpload,
        body: ByteStream,
    ) -> AppResult<FileView> {
        let prepared = self.prepare_upload(ctx, input).await?;
        self.store_upload(ctx, prepared, body).await
    }

    /// Checks an upload before a byte of it is read: purpose, content type, declared length, file name, the
    /// caller's permission and the owner; loads (or creates) the tenant's data key for a sensitive file.
    pub async fn prepare_upload(&self, ctx: &Ctx, input: NewUpload) -> AppResult<PreparedUpload> {
        let tenant = tenant_only(ctx)?;
        let purpose =
            FilePurpose::parse(&input.purpose).map_err(|e| AppError::invalid("purpose", e))?;
        let rules = purpose.rules();
        let content_type = input
            .content_type
            .as_deref()
            .and_then(|ct| purpose.accepts(ct))
            .ok_or_else(|| AppError::UnsupportedMediaType {
                code: "unsupported_content_type",
                detail: format!(
                    "a {purpose} must be one of {}",
                    rules.content_types.join(", ")
                ),
            })?;
        if input
            .content_length
            .is_some_and(|len| len > rules.max_bytes)
        {
            return Err(too_large(rules.max_bytes));
        }
        if let Some(name) = &input.filename {
            check_filename(name).map_err(|e| AppError::invalid("filename", e))?;
        }
        let (principal, owner, data_key) = {
            let ctx = ctx.clone();
            let app = self.clone();
            let tenant = tenant.clone();
            let owner = input.owner.clone();
            let mode = if rules.sensitive {
                TxMode::Write
            } else {
                TxMode::Read
            };
            self.blocking(move |db| {
                db.scoped(&tenant, mode, |s| {
                    let principal = authorize(app.principals(), s, &ctx, Permission::FilesOwn)?;
                    let owner = owner.unwrap_or_else(|| principal.id.clone());
                    if owner != principal.id || !rules.owner_may_upload {
                        check(principal.clone(), Permission::FilesManage)?;
                    }
                    if owner != principal.id && accounts::find(s, &owner)?.is_none() {
                        return Err(AppError::invalid(
                            "owner",
                            FieldError::new("", "unknown_account", "no such account in this brand"),
                        ));
                    }
                    let key = if rules.sensitive {
                        Some(data_keys::current(s, app.master())?)
                    } else {
                        None
                    };
                    Ok((principal, owner, key))
                })
            })
            .await?
        };
        Ok(PreparedUpload {
            tenant,
            purpose,
            content_type,
            filename: input.filename,
            uploader: principal.id,
            owner,
            data_key,
        })
    }

    /// Streams a prepared upload into the store, then records it (and its audit entry).
    pub async fn store_upload(
        &self,
        ctx: &Ctx,
        prepared: PreparedUpload,
        body: ByteStream,
    ) -> AppResult<FileView> {
        let PreparedUpload {
            tenant,
            purpose,
            content_type,
            filename,
            uploader,
            owner,
            data_key,
        } = prepared;
        let rules = purpose.rules();
        let file_id = IdKind::File.new_id();
        let key = backend::object_key(&tenant, purpose.as_str(), &file_id);
        let (plaintext, measured) = measure::measure(body, rules.max_bytes);
        let stored = match &data_key {
            Some(data_key) => crypto::encrypt(data_key, &tenant, &file_id, plaintext),
            None => plaintext,
        };
        let store = self.storage().store.clone();
        store.put(&key, stored).await.map_err(app_error)?;
        let (size, sha256) = measured.result();
        let row = files::FileRow {
            tenant_id: tenant.clone(),
            id: file_id,
            purpose: purpose.as_str().to_owned(),
            owner_account_id: Some(owner),
            content_type: content_type.to_owned(),
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            sha256,
            sensitive: rules.sensitive,
            storage_key: key.clone(),
            data_key_id: data_key.as_ref().map(|k| k.id.clone()),
            chunk_size: data_key
                .as_ref()
                .map(|_| i32::try_from(crypto::CHUNK_SIZE).unwrap_or(i32::MAX)),
            original_filename: filename,
            created_by: uploader,
            created_at: naive(self.clock().now()),
            deleted_at: None,
        };
        let view = FileView::from(&row);
        let ctx = ctx.clone();
        let now = self.clock().now();
        let recorded = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    files::insert(s, &row)?;
                    audit::record(
                        s,
                        &ctx,
                        Event::on("file.uploaded", "file", &row.id).with(serde_json::json!({
                            "purpose": row.purpose, "sensitive": row.sensitive, "size_bytes": row.size_bytes,
                        })),
                        now,
                    )
                })
            })
            .await;
        if let Err(error) = recorded {
            // No row points at the object: remove it rather than leave an orphan.
            if let Err(cleanup) = store.delete(&key).await {
                tracing::warn!(%cleanup, key, "could not remove the object of a failed upload");
            }
            return Err(error);
        }
        Ok(view)
    }

    /// Stores bytes a service generated (an invoice's PDF) as a file of `purpose` owned by `owner`, encrypted
    /// when the purpose is sensitive. Not for handlers: there is no caller and no permission check here; the
    /// service decided. Recorded and audited like an upload (`created_by` is `system`).
    pub(crate) async fn store_generated(
        &self,
        tenant_id: &str,
        purpose: FilePurpose,
        owner: &str,
        filename: &str,
        bytes: Vec<u8>,
    ) -> AppResult<FileView> {
        let rules = purpose.rules();
        let content_type =
            rules.content_types.first().copied().ok_or_else(|| {
                AppError::Internal(format!("purpose {purpose} has no content type"))
            })?;
        let data_key = if rules.sensitive {
            let (app, tenant) = (self.clone(), tenant_id.to_owned());
            self.blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    Ok(Some(data_keys::current(s, app.master())?))
                })
            })
            .await?
        } else {
            None
        };
        let realm = self
            .tenants()
            .by_id(tenant_id)
            .map(|t| t.realm())
            .ok_or(AppError::NotFound("tenant"))?;
        let prepared = PreparedUpload {
            tenant: tenant_id.to_owned(),
            purpose,
            content_type,
            filename: Some(filename.to_owned()),
            uploader: "system".into(),
            owner: owner.to_owned(),
            data_key,
        };
        let body: ByteStream = futures::stream::once(async move { Ok(Bytes::from(bytes)) }).boxed();
        self.store_upload(&Ctx::cli(realm), prepared, body).await
    }

    /// Loads a file the caller may access.
    async fn accessible_file(&self, ctx: &Ctx, id: &str) -> AppResult<files::FileRow> {
        let tenant = tenant_only(ctx)?;
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                let principal = authorize(app.principals(), s, &ctx, Permission::FilesOwn)?;
                let row = files::find(s, &id)?.ok_or(AppError::NotFound("file"))?;
                check_access(&principal, &row)?;
                Ok(row)
            })
        })
        .await
    }

    /// `GET /api/v1/files/{id}`: a file's metadata.
    pub async fn file_metadata(&self, ctx: &Ctx, id: &str) -> AppResult<FileView> {
        Ok(FileView::from(&self.accessible_file(ctx, id).await?))
    }

    /// `GET /api/v1/files/{id}/content`: the content, decrypted while it streams for a sensitive file. Each view
    /// of a sensitive file is audited (`file.viewed`) before a byte is sent.
    pub async fn download_file(&self, ctx: &Ctx, id: &str) -> AppResult<Download> {
        let row = self.accessible_file(ctx, id).await?;
        let data_key = if row.sensitive {
            let (ctx, app, row) = (ctx.clone(), self.clone(), row.clone());
            let now = self.clock().now();
            self.blocking(move |db| {
                db.scoped(&row.tenant_id, TxMode::Write, |s| {
                    audit::record(s, &ctx, Event::on("file.viewed", "file", &row.id), now)?;
                    file_data_key(&app, s, &row)
                })
            })
            .await?
        } else {
            None
        };
        self.stream_file(row, data_key).await
    }

    /// A file's content for a service that has already decided its caller may have it (a personal-data export,
    /// an e-mail attachment), decrypted when sensitive. Not for handlers: there is no permission check here. A
    /// sensitive file read this way is audited like any view (`file.viewed`, with `reason` in the details).
    pub(crate) async fn open_file(
        &self,
        realm_key: &str,
        id: &str,
        reason: &'static str,
    ) -> AppResult<Download> {
        let (app, realm, id, now) = (
            self.clone(),
            realm_key.to_owned(),
            id.to_owned(),
            self.clock().now(),
        );
        let (row, data_key) = self
            .blocking(move |db| {
                db.scoped(&realm, TxMode::Write, |s| {
                    let row = files::find(s, &id)?.ok_or(AppError::NotFound("file"))?;
                    if row.sensitive {
                        let ctx = Ctx::cli(tessera_domain::realm::Realm::Group);
                        let event = Event::on("file.viewed", "file", &row.id)
                            .with(serde_json::json!({ "reason": reason }));
                        audit::record(s, &ctx, event, now)?;
                    }
                    let key = file_data_key(&app, s, &row)?;
                    Ok((row, key))
                })
            })
            .await?;
        self.stream_file(row, data_key).await
    }

    async fn stream_file(
        &self,
        row: files::FileRow,
        data_key: Option<crypto::DataKey>,
    ) -> AppResult<Download> {
        let stored = self
            .storage()
            .store
            .get(&row.storage_key)
            .await
            .map_err(app_error)?;
        let body = match &data_key {
            Some(key) => crypto::decrypt(key, &row.tenant_id, &row.id, stored),
            None if row.sensitive => {
                return Err(AppError::Internal(format!(
                    "sensitive file {} has no data key",
                    row.id
                )))
            }
            None => stored,
        };
        Ok(Download {
            file: FileView::from(&row),
            body: prefetch(body).await?,
        })
    }

    /// `POST /api/v1/files/{id}/download-url`: a short-lived URL for a non-sensitive file (`expires_in_secs`
    /// defaults to `storage.signed_url_ttl_secs`, at most `storage.signed_url_max_ttl_secs`).
    pub async fn file_download_url(
        &self,
        ctx: &Ctx,
        id: &str,
        expires_in_secs: Option<u64>,
    ) -> AppResult<DownloadUrl> {
        let settings = &self.storage().settings;
        let ttl = expires_in_secs.unwrap_or(settings.signed_url_ttl_secs);
        if ttl == 0 || ttl > settings.signed_url_max_ttl_secs {
            return Err(AppError::invalid(
                "expires_in_secs",
                FieldError::new(
                    "",
                    "out_of_range",
                    format!("1 to {} seconds", settings.signed_url_max_ttl_secs),
                ),
            ));
        }
        let row = self.accessible_file(ctx, id).await?;
        if row.sensitive {
            return Err(AppError::Conflict {
                code: "sensitive_file_no_url",
                detail: "sensitive files are only served through the authenticated content route"
                    .into(),
            });
        }
        let now = self.clock().now();
        let expires_at = now + chrono::Duration::seconds(i64::try_from(ttl).unwrap_or(i64::MAX));
        // Tokens hold whole seconds: rounded up, so that a link lasts at least what was asked (truncated, a
        // one-second link asked at .95 would last 50 ms).
        let expires_at = chrono::DateTime::from_timestamp(
            expires_at.timestamp() + i64::from(expires_at.timestamp_subsec_nanos() > 0),
            0,
        )
        .unwrap_or(expires_at);
        let presigned = self
            .storage()
            .store
            .presign_get(&row.storage_key, Duration::from_secs(ttl))
            .await
            .map_err(app_error)?;
        let url = match presigned {
            Some(url) => url,
            None => format!(
                "/api/v1/files/download?token={}",
                signed_url::sign(
                    &self.storage().url_key,
                    &row.tenant_id,
                    &row.id,
                    expires_at.timestamp()
                )
            ),
        };
        Ok(DownloadUrl { url, expires_at })
    }

    /// `GET /api/v1/files/download?token=...`: the content of the non-sensitive file a signed token names, on
    /// the token's own brand host, until it expires. No bearer token: the signed token is the permission.
    pub async fn download_signed(&self, ctx: &Ctx, token: &str) -> AppResult<Download> {
        let tenant = tenant_only(ctx)?;
        let grant = signed_url::verify(
            &self.storage().url_key,
            token,
            &tenant,
            self.clock().now().timestamp(),
        )?;
        let row = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Read, |s| {
                    Ok(files::find(s, &grant.file_id)?)
                })
            })
            .await?
            // A file deleted since, or (defence in depth) a sensitive one: the link is simply no longer valid.
            .filter(|row| !row.sensitive)
            .ok_or(AppError::NotFound("file"))?;
        self.stream_file(row, None).await
    }

    /// `DELETE /api/v1/files/{id}`: marks the file deleted (the row stays for the audit trail) and removes its
    /// bytes.
    pub async fn delete_file(&self, ctx: &Ctx, id: &str) -> AppResult<()> {
        let tenant = tenant_only(ctx)?;
        let (ctx, id, app) = (ctx.clone(), id.to_owned(), self.clone());
        let now = self.clock().now();
        let row = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Write, |s| {
                    let principal = authorize(app.principals(), s, &ctx, Permission::FilesOwn)?;
                    let row = files::find(s, &id)?.ok_or(AppError::NotFound("file"))?;
                    check_access(&principal, &row)?;
                    check_delete(&principal, &row)?;
                    if !files::mark_deleted(s, &row.id, naive(now))? {
                        // Deleted by a concurrent request meanwhile.
                        return Err(AppError::NotFound("file"));
                    }
                    audit::record(s, &ctx, Event::on("file.deleted", "file", &row.id), now)?;
                    Ok(row)
                })
            })
            .await?;
        // After the commit: a failure here leaves bytes no row points at, which is harmless; the reverse order
        // could leave a row whose bytes are gone.
        if let Err(error) = self.storage().store.delete(&row.storage_key).await {
            tracing::warn!(%error, key = row.storage_key, "could not remove a deleted file's object");
        }
        Ok(())
    }

    /// Adds a tenant's next data key (`tessera keys rotate-data-key`): sensitive files uploaded from now on are
    /// encrypted with it; older files keep theirs. Returns the new key's id and generation.
    pub async fn rotate_data_key(&self, tenant_slug: &str) -> AppResult<(String, i32)> {
        let tenant = self
            .tenants()
            .by_slug(tenant_slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let (app, now) = (self.clone(), self.clock().now());
        self.blocking(move |db| {
            db.scoped(&tenant.id, TxMode::Write, |s| {
                let (id, generation) = data_keys::rotate(s, app.master(), now)?;
                let ctx = Ctx::cli(tenant.realm());
                let event = Event::on("storage.data_key_rotated", "data_key", &id)
                    .with(serde_json::json!({ "generation": generation }));
                audit::record(s, &ctx, event, now)?;
                Ok((id, generation))
            })
        })
        .await
    }

    /// Checks the object store for `/readyz`; returns the backend's name.
    pub async fn check_storage(&self) -> Result<&'static str, StorageError> {
        let store = &self.storage().store;
        store.check().await?;
        Ok(store.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_hide_what_they_are() {
        assert!(check_filename("facture 2026-11.pdf").is_ok());
        assert!(check_filename("relevé d'identité.pdf").is_ok());
        for bad in [
            "invoice\u{202E}fdp.exe",
            "a\u{200B}b.pdf",
            "x\u{2066}y",
            "../etc/passwd",
            "a\nb",
            "",
        ] {
            assert!(check_filename(bad).is_err(), "{bad:?}");
        }
    }
}
