//! Backups of the database: a folder holding `manifest.json` and the data, `database.sqlite` (SQLite's online
//! `VACUUM INTO`, consistent while the server runs) or `database.pgdump` (`pg_dump` custom format, with the
//! row-level security policies and grants). The master key is never part of a backup. The object store's files
//! are copied beside it by `tessera_app::storage::backup`, which lists them in the manifest's `objects`.

use std::path::{Path, PathBuf};
use std::process::Command;

use diesel::RunQueryDsl;

use crate::connection::{postgres_url, sqlite_path, Backend};
use crate::{StoreError, StoreResult};

/// What a backup folder says about itself.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// `postgres` or `sqlite`.
    pub backend: String,
    /// The data file inside the folder.
    pub file: String,
    /// Migrations applied when it was taken.
    pub migrations: Vec<String>,
    /// When (RFC 3339).
    pub created_at: String,
    /// The version of Tessera that took it.
    pub tessera_version: String,
    /// The object store's files copied into `objects/` (absent in backups taken before files existed).
    #[serde(default)]
    pub objects: Vec<BackupObject>,
}

/// One object-store file in a backup.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BackupObject {
    /// Its key (`tenants/<tenant_id>/<purpose>/<file_id>`).
    pub key: String,
    /// Its stored size in bytes (encrypted files as stored).
    pub size_bytes: u64,
    /// SHA-256 of its stored bytes, hex.
    pub sha256: String,
}

/// Writes `manifest.json` into the backup folder `to`.
pub fn write_manifest(to: &Path, manifest: &Manifest) -> StoreResult<()> {
    let json = serde_json::to_string_pretty(manifest).map_err(fail)?;
    std::fs::write(to.join("manifest.json"), json).map_err(fail)
}

fn fail(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(what.to_string())
}

/// A PostgreSQL client program (`pg_dump`, `pg_restore`): from `PATH`, else beside `pg_config`'s binaries.
fn pg_program(name: &str) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_default();
    on_path
        .or_else(|| {
            let output = Command::new("pg_config").arg("--bindir").output().ok()?;
            let dir = String::from_utf8(output.stdout).ok()?;
            Some(PathBuf::from(dir.trim()).join(name)).filter(|p| p.is_file())
        })
        .unwrap_or_else(|| PathBuf::from(name))
}

fn run(mut command: Command) -> StoreResult<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let output = command
        .output()
        .map_err(|e| fail(format!("cannot run {program}: {e}")))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(fail(format!(
            "{program} failed: {}",
            stderr.lines().next().unwrap_or_default()
        )))
    }
}

/// Writes a backup of the database at `url` into the folder `to`, which must not exist or be empty.
pub fn backup(url: &str, to: &Path) -> StoreResult<Manifest> {
    if to.exists() && std::fs::read_dir(to).map_err(fail)?.next().is_some() {
        return Err(fail(format!("{} is not empty", to.display())));
    }
    std::fs::create_dir_all(to).map_err(fail)?;
    let backend = Backend::from_url(url)?;
    let migrations: Vec<String> = crate::migrate::status_at(url)?
        .into_iter()
        .filter(|m| m.applied)
        .map(|m| m.name)
        .collect();
    if migrations.is_empty() {
        return Err(fail(
            "the database has no migrations applied: nothing to back up",
        ));
    }
    let file = match backend {
        Backend::Sqlite => {
            let file = "database.sqlite";
            let target = to.join(file);
            let mut conn =
                <diesel::SqliteConnection as diesel::Connection>::establish(sqlite_path(url))?;
            diesel::sql_query("VACUUM INTO ?")
                .bind::<diesel::sql_types::Text, _>(target.to_string_lossy().into_owned())
                .execute(&mut conn)?;
            file
        }
        Backend::Postgres => {
            let file = "database.pgdump";
            let mut command = Command::new(pg_program("pg_dump"));
            command
                .arg("--format=custom")
                .arg("--file")
                .arg(to.join(file))
                .arg("--dbname")
                .arg(postgres_url(url));
            run(command)?;
            file
        }
    };
    let manifest = Manifest {
        backend: backend.name().to_owned(),
        file: file.to_owned(),
        migrations,
        created_at: chrono::Utc::now().to_rfc3339(),
        tessera_version: env!("CARGO_PKG_VERSION").to_owned(),
        objects: Vec::new(),
    };
    write_manifest(to, &manifest)?;
    Ok(manifest)
}

/// Restores the backup in folder `from` into the database at `url`, which must be empty (a SQLite file that does
/// not exist yet, or a PostgreSQL database without tables) and of the same backend.
pub fn restore(url: &str, from: &Path) -> StoreResult<Manifest> {
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(from.join("manifest.json"))
            .map_err(|e| fail(format!("{}: {e}", from.display())))?,
    )
    .map_err(|e| fail(format!("manifest.json: {e}")))?;
    let backend = Backend::from_url(url)?;
    if manifest.backend != backend.name() {
        return Err(fail(format!(
            "this is a {} backup; the target is {}",
            manifest.backend,
            backend.name()
        )));
    }
    let source = from.join(&manifest.file);
    if !source.is_file() {
        return Err(fail(format!("{} is missing", source.display())));
    }
    match backend {
        Backend::Sqlite => {
            // Looked at without opening it: opening would create the file.
            let target = Path::new(sqlite_path(url));
            let has_data = std::fs::metadata(target)
                .map(|m| m.len() > 0)
                .unwrap_or(false);
            if has_data {
                return Err(fail(format!(
                    "{} exists, so the target database is not empty: restore into a new file",
                    target.display()
                )));
            }
            if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(fail)?;
            }
            // Written beside the target and renamed into place, so that a failure leaves no half-written file.
            let partial = target.with_extension("restoring");
            std::fs::copy(&source, &partial).map_err(fail)?;
            std::fs::rename(&partial, target).map_err(fail)?;
        }
        Backend::Postgres => {
            if crate::migrate::status_at(url)?.iter().any(|m| m.applied) {
                return Err(fail(
                    "the target database is not empty: restore into a new database",
                ));
            }
            let mut command = Command::new(pg_program("pg_restore"));
            command
                .arg("--exit-on-error")
                .arg("--single-transaction")
                .arg("--no-owner")
                .arg("--dbname")
                .arg(postgres_url(url))
                .arg(&source);
            run(command)?;
        }
    }
    Ok(manifest)
}
