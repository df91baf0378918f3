//! Tenants: the registry every request resolves its host against, and `tessera tenant apply`.
//!
//! Applying is declarative: every file is parsed and validated first, across files too (slugs and domains are
//! unique), and only then is everything upserted in one transaction. An invalid file changes nothing, and the
//! error names the file, the field and the reason.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::Serialize;
use sha2::Digest;
use tessera_domain::ids::IdKind;
use tessera_domain::realm::{Realm, GROUP_REALM_KEY};
use tessera_domain::tenant::TenantConfig;
use tessera_domain::FieldError;
use tessera_store::models::tenants::{self, TenantRow};
use tessera_store::TxMode;

use crate::{naive, App, AppError, AppResult, Ctx};

/// A tenant as requests see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tenant {
    /// `ten_...`.
    pub id: String,
    /// Slug.
    pub slug: String,
    /// Display name.
    pub display_name: String,
    /// Incremented by each apply that changed it.
    pub revision: i64,
    /// Its configuration (the validated tenant file).
    #[schema(value_type = Object)]
    pub config: TenantConfig,
}

impl Tenant {
    /// The realm of this tenant.
    pub fn realm(&self) -> Realm {
        Realm::Tenant {
            id: self.id.clone(),
            slug: self.slug.clone(),
        }
    }
}

#[derive(Default)]
struct Snapshot {
    by_slug: HashMap<String, Arc<Tenant>>,
    by_id: HashMap<String, Arc<Tenant>>,
    by_domain: HashMap<String, Arc<Tenant>>,
    fingerprint: Option<(i64, Option<chrono::NaiveDateTime>)>,
}

/// The tenants this process knows, reloaded when the table changes.
#[derive(Default)]
pub struct TenantRegistry {
    snapshot: RwLock<Arc<Snapshot>>,
}

/// What a host name resolves to.
#[derive(Debug, Clone)]
pub enum HostRealm {
    /// The group realm (bare host).
    Group,
    /// A tenant.
    Tenant(Arc<Tenant>),
}

impl TenantRegistry {
    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Resolves a `Host` header value (port ignored): `<slug>.localhost`, a tenant's domain, or a group host.
    pub fn resolve_host(&self, host: &str, group_domains: &[String]) -> Option<HostRealm> {
        let host = strip_port(host).to_ascii_lowercase();
        let host = host.trim_end_matches('.');
        if matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
            || group_domains.iter().any(|d| d == host)
        {
            return Some(HostRealm::Group);
        }
        let snapshot = self.current();
        if let Some(slug) = host.strip_suffix(".localhost") {
            return snapshot.by_slug.get(slug).cloned().map(HostRealm::Tenant);
        }
        snapshot.by_domain.get(host).cloned().map(HostRealm::Tenant)
    }

    /// A tenant by slug.
    pub fn by_slug(&self, slug: &str) -> Option<Arc<Tenant>> {
        self.current().by_slug.get(slug).cloned()
    }

    /// A tenant by id.
    pub fn by_id(&self, id: &str) -> Option<Arc<Tenant>> {
        self.current().by_id.get(id).cloned()
    }

    /// Every tenant, by slug.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut all: Vec<_> = self.current().by_slug.values().cloned().collect();
        all.sort_by(|a, b| a.slug.cmp(&b.slug));
        all
    }

    /// True when some host name of a tenant equals `origin`'s host (for CORS).
    pub fn origin_allowed(&self, tenant: &Tenant, origin_host: &str) -> bool {
        tenant
            .config
            .host_names()
            .iter()
            .any(|h| h == strip_port(origin_host))
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(h, _)| &host[..h.len() + 1]);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

fn to_tenant(row: &TenantRow) -> AppResult<Tenant> {
    let config: TenantConfig = serde_json::from_str(&row.config_json)
        .map_err(|e| AppError::Internal(format!("stored tenant {}: {e}", row.slug)))?;
    Ok(Tenant {
        id: row.id.clone(),
        slug: row.slug.clone(),
        display_name: row.display_name.clone(),
        revision: row.revision,
        config,
    })
}

/// One error of an apply: which file, which field, why.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyError {
    /// The file.
    pub file: PathBuf,
    /// The field (dotted path), empty for the whole file.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for ApplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.reason)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.field,
                self.reason
            )
        }
    }
}

/// What happened to one tenant in an apply.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyOutcome {
    /// Slug.
    pub slug: String,
    /// `created`, `updated` or `unchanged`.
    pub change: &'static str,
    /// Revision after the apply.
    pub revision: i64,
}

/// Reads the tenant files at `path`: one `.toml` file, or every `.toml` file of a folder (sorted).
pub fn read_tenant_files(path: &Path) -> Result<Vec<(PathBuf, String)>, ApplyError> {
    let io_error = |file: &Path, e: std::io::Error| ApplyError {
        file: file.to_owned(),
        field: String::new(),
        reason: e.to_string(),
    };
    let mut files = Vec::new();
    if path.is_dir() {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(ApplyError {
                file: path.to_owned(),
                field: String::new(),
                reason: "no .toml file in this folder".into(),
            });
        }
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| io_error(&p, e))?;
            files.push((p, text));
        }
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        files.push((path.to_owned(), text));
    }
    Ok(files)
}

/// Parses and validates every file, and checks slugs and domains across them. All errors are returned.
pub fn validate_files(
    files: &[(PathBuf, String)],
) -> Result<Vec<(PathBuf, TenantConfig)>, Vec<ApplyError>> {
    let mut errors = Vec::new();
    let mut configs = Vec::new();
    for (file, text) in files {
        match TenantConfig::parse_toml(text) {
            Ok(config) => {
                errors.extend(crate::email::check_templates(&config).into_iter().map(|e| {
                    ApplyError {
                        file: file.clone(),
                        field: e.field,
                        reason: e.message,
                    }
                }));
                configs.push((file.clone(), config));
            }
            Err(field_errors) => errors.extend(field_errors.0.into_iter().map(|e| ApplyError {
                file: file.clone(),
                field: e.field,
                reason: e.message,
            })),
        }
    }
    let mut slugs: BTreeMap<&str, &Path> = BTreeMap::new();
    let mut domains: BTreeMap<&str, &Path> = BTreeMap::new();
    for (file, config) in &configs {
        if let Some(other) = slugs.insert(&config.slug, file) {
            errors.push(ApplyError {
                file: file.clone(),
                field: "slug".into(),
                reason: format!("also used by {}", other.display()),
            });
        }
        for (i, domain) in config.domains.iter().enumerate() {
            if let Some(other) = domains.insert(domain, file) {
                if other != file.as_path() {
                    errors.push(ApplyError {
                        file: file.clone(),
                        field: format!("domains[{i}]"),
                        reason: format!("{domain} is also a domain of {}", other.display()),
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(configs)
    } else {
        Err(errors)
    }
}

/// Why an apply failed.
#[derive(Debug)]
pub enum ApplyFailure {
    /// Files are invalid; nothing was written.
    Invalid(Vec<ApplyError>),
    /// The database failed; nothing was written.
    Failed(AppError),
}

impl From<AppError> for ApplyFailure {
    fn from(e: AppError) -> Self {
        ApplyFailure::Failed(e)
    }
}

impl From<tessera_store::StoreError> for ApplyFailure {
    fn from(e: tessera_store::StoreError) -> Self {
        ApplyFailure::Failed(e.into())
    }
}

/// Validates `files` and upserts them all in one transaction (system context: tenants are group-level).
pub fn apply(
    db: &tessera_store::Database,
    files: &[(PathBuf, String)],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<ApplyOutcome>, ApplyFailure> {
    let configs = validate_files(files).map_err(ApplyFailure::Invalid)?;
    db.system(TxMode::Write, |sys| {
        tessera_store::backend::serialize_writers(
            sys.conn(),
            tessera_store::backend::LOCK_TENANT_APPLY,
        )?;
        let existing_tenants = tenants::list(sys.conn())?;
        let existing_domains = tenants::domains(sys.conn())?;
        let applied: BTreeMap<&str, &TenantConfig> =
            configs.iter().map(|(_, c)| (c.slug.as_str(), c)).collect();
        // A domain may move between tenants applied together; otherwise it must not belong to another tenant.
        let mut conflicts = Vec::new();
        for (file, config) in &configs {
            for (i, domain) in config.domains.iter().enumerate() {
                let owner = existing_domains
                    .iter()
                    .find(|(d, _)| d == domain)
                    .and_then(|(_, owner_id)| existing_tenants.iter().find(|t| &t.id == owner_id));
                if let Some(owner) = owner.filter(|o| o.slug != config.slug) {
                    let still_owned = applied
                        .get(owner.slug.as_str())
                        .is_none_or(|c| c.domains.contains(domain));
                    if still_owned {
                        conflicts.push(ApplyError {
                            file: file.clone(),
                            field: format!("domains[{i}]"),
                            reason: format!("{domain} already belongs to tenant {}", owner.slug),
                        });
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(ApplyFailure::Invalid(conflicts));
        }
        let mut outcomes = Vec::new();
        let mut changed = Vec::new();
        for (_, config) in &configs {
            let existing = existing_tenants.iter().find(|t| t.slug == config.slug);
            let json =
                serde_json::to_string(config).map_err(|e| AppError::Internal(e.to_string()))?;
            let sha = hex::encode(sha2::Sha256::digest(json.as_bytes()));
            let (change, id, revision, created_at) = match existing {
                Some(row) if row.config_sha256 == sha => {
                    outcomes.push(ApplyOutcome {
                        slug: config.slug.clone(),
                        change: "unchanged",
                        revision: row.revision,
                    });
                    continue;
                }
                Some(row) => ("updated", row.id.clone(), row.revision + 1, row.created_at),
                None => ("created", IdKind::Tenant.new_id(), 1, naive(now)),
            };
            let row = TenantRow {
                id,
                slug: config.slug.clone(),
                display_name: config.display_name.clone(),
                config_json: json,
                config_sha256: sha,
                revision,
                created_at,
                updated_at: naive(now),
            };
            tenants::upsert(sys, &row)?;
            let event = crate::audit::Event::on("tenant.applied", "tenant", &row.id).with(
                serde_json::json!({ "slug": row.slug, "revision": revision, "change": change }),
            );
            crate::audit::record(
                &mut sys.scoped(GROUP_REALM_KEY),
                &Ctx::cli(Realm::Group),
                event,
                now,
            )?;
            outcomes.push(ApplyOutcome {
                slug: config.slug.clone(),
                change,
                revision,
            });
            changed.push((row.id, &config.domains));
        }
        for (id, _) in &changed {
            tenants::delete_domains(sys, id)?;
        }
        for (id, domains) in &changed {
            tenants::insert_domains(sys, id, domains)?;
        }
        Ok(outcomes)
    })
}

impl App {
    /// Reloads the registry when the tenants table changed since the last look.
    pub(crate) async fn reload_tenants_if_changed(&self) -> AppResult<()> {
        let known = self.tenants().current().fingerprint;
        let loaded = self
            .blocking(move |db| {
                db.with_conn(|conn| {
                    let fingerprint = tenants::fingerprint(conn)?;
                    if Some(fingerprint) == known {
                        return Ok(None);
                    }
                    Ok(Some((fingerprint, tenants::list(conn)?)))
                })
                .map_err(AppError::from)
            })
            .await?;
        let Some((fingerprint, rows)) = loaded else {
            return Ok(());
        };
        let mut snapshot = Snapshot {
            fingerprint: Some(fingerprint),
            ..Snapshot::default()
        };
        for row in &rows {
            let tenant = Arc::new(to_tenant(row)?);
            for domain in &tenant.config.domains {
                snapshot.by_domain.insert(domain.clone(), tenant.clone());
            }
            snapshot.by_id.insert(tenant.id.clone(), tenant.clone());
            snapshot.by_slug.insert(tenant.slug.clone(), tenant);
        }
        *self
            .tenants()
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(snapshot);
        tracing::info!(tenants = rows.len(), "tenant registry loaded");
        Ok(())
    }

    /// Applies tenant files and reloads the registry.
    pub async fn apply_tenants(
        &self,
        files: Vec<(PathBuf, String)>,
    ) -> Result<Vec<ApplyOutcome>, ApplyFailure> {
        let now = self.clock().now();
        let outcomes = self
            .blocking(move |db| Ok(apply(db, &files, now)))
            .await??;
        self.reload_tenants_if_changed().await?;
        Ok(outcomes)
    }

    /// Every tenant (operators, on the group realm).
    pub async fn list_tenants(&self, ctx: &Ctx) -> AppResult<Vec<Arc<Tenant>>> {
        self.authorize_group(ctx, tessera_domain::role::Permission::TenantsRead)
            .await?;
        Ok(self.tenants().all())
    }

    /// One tenant by slug (operators, on the group realm).
    pub async fn show_tenant(&self, ctx: &Ctx, slug: &str) -> AppResult<Arc<Tenant>> {
        self.authorize_group(ctx, tessera_domain::role::Permission::TenantsRead)
            .await?;
        self.tenants()
            .by_slug(slug)
            .ok_or(AppError::NotFound("tenant"))
    }
}

impl From<Vec<ApplyError>> for ApplyFailure {
    fn from(errors: Vec<ApplyError>) -> Self {
        ApplyFailure::Invalid(errors)
    }
}

impl From<FieldError> for ApplyFailure {
    fn from(e: FieldError) -> Self {
        ApplyFailure::Failed(AppError::invalid("", e))
    }
}
