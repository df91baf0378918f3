//! Tessera's settings: built-in defaults, then an optional TOML file (`--config` or `TESSERA_CONFIG`), then
//! `TESSERA_*` environment variables with `__` between nesting levels (`TESSERA_AUTH__ACCESS_TOKEN_TTL_SECS`).
//!
//! Secrets (the database password inside the URL, key material) are [`secrecy::SecretString`]s and are
//! redacted by [`Settings::redacted`], which is what `tessera config show` prints and what is logged.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// What can go wrong while loading settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The sources could not be read or merged, or a value has the wrong type.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value is out of its allowed range.
    #[error("configuration: {field}: {reason}")]
    Invalid {
        /// The dotted key.
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
}

/// All settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Database connection.
    pub database: DatabaseSettings,
    /// HTTP server.
    pub server: ServerSettings,
    /// Authentication and tokens.
    pub auth: AuthSettings,
    /// Logging.
    pub log: LogSettings,
    /// Key material.
    #[serde(default)]
    pub secrets: SecretsSettings,
    /// The job queue's workers.
    pub jobs: JobsSettings,
    /// Outgoing e-mail.
    pub email: EmailSettings,
    /// Object storage (files).
    pub storage: StorageSettings,
    /// Outgoing webhooks.
    pub webhooks: WebhookSettings,
    /// Live events.
    pub events: EventSettings,
    /// Payment providers (process-wide; which provider a brand uses is in its tenant file).
    pub payments: PaymentSettings,
    /// Reports.
    pub reports: ReportSettings,
    /// Folder of tenant files applied by `tessera demo`.
    pub tenants_dir: PathBuf,
}

/// Database connection settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://user:password@host:port/db` or `sqlite://path/to/file.db`. Secret: it may hold a password.
    pub url: SecretString,
    /// Most connections the pool keeps open.
    pub pool_size: u32,
    /// Seconds to wait for a free connection before a request fails with 503.
    pub pool_timeout_secs: u64,
    /// SQLite only: milliseconds a writer waits for the lock before giving up.
    pub sqlite_busy_timeout_ms: u32,
    /// SQLite only: how often a running server copies the write-ahead log into the database, in milliseconds,
    /// away from requests (0: inside the commits, as SQLite does by itself, every 1,000 pages).
    pub sqlite_checkpoint_every_ms: u64,
    /// SQLite only: pages of write-ahead log past which the background checkpoint makes the log start over, with
    /// writers paused for one short pass (0: never; SQLite's own checkpoint then does it inside a commit).
    pub sqlite_log_restart_pages: u32,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub listen: String,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub body_limit_bytes: usize,
    /// Host names of the group realm besides `localhost` and loopback addresses.
    pub group_domains: Vec<String>,
    /// Seconds between two looks at the tenants table, so that `tessera tenant apply` takes effect live.
    pub tenant_refresh_secs: u64,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Online door checks find the facts that change seldom (credentials, memberships, open invoices, ...) in
    /// memory, kept current through the database's change log, instead of reading them for every group.
    pub door_memory: bool,
    /// Work no request waits for (the door desk's writes, SQLite's checkpoints) runs on threads at the lowest
    /// scheduling priority (Linux's `SCHED_IDLE`), so that a request thread waking up takes a core from it at once.
    /// Off, those threads keep the process's priority.
    pub background_at_idle_priority: bool,
}

/// Authentication settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The `iss` claim of access tokens.
    pub issuer: String,
    /// Lifetime of an access token.
    pub access_token_ttl_secs: i64,
    /// Lifetime of a refresh token (and of its family).
    pub refresh_token_ttl_secs: i64,
    /// Lifetime of a staff invitation.
    pub invite_ttl_secs: i64,
    /// Argon2id cost. Production keeps the OWASP defaults; only tests lower them.
    pub argon2: Argon2Settings,
    /// Most password hashes computed at once; a login burst queues instead of exhausting memory.
    pub max_concurrent_hashes: usize,
    /// Failed logins allowed per account, and per client address, within the window.
    pub max_failed_logins: u32,
    /// Length of the failed-login window.
    pub failed_login_window_secs: i64,
    /// How long a server may reuse what it read of a caller (account status and roles) before reading it again.
    /// Changes made through the same process apply at once; changes made elsewhere (the CLI, another instance)
    /// apply within this time. 0 reads the database on every request.
    pub principal_cache_ttl_ms: u64,
}

/// Argon2id parameters. The default is one of OWASP's equivalent recommendations (m=7 MiB, t=5, p=1; the
/// others trade memory for iterations, e.g. m=19 MiB, t=2): it defends as well and keeps a burst of logins
/// within the server's memory budget.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// Key material.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSettings {
    /// The master key: 32 random bytes, base64 (`tessera keys master-key` makes one). It seals the token-signing
    /// keys stored in the database, and later the per-tenant data keys. Never stored in the database or in
    /// backups; keep it in the environment (`TESSERA_SECRETS__MASTER_KEY`) or a secret manager.
    pub master_key: Option<SecretString>,
}

/// The job queue's workers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsSettings {
    /// Workers inside `tessera serve` (0: none; run `tessera worker` instead).
    pub workers_in_server: usize,
    /// Workers of `tessera worker`.
    pub workers: usize,
    /// Jobs claimed at once by a worker.
    pub batch_size: i64,
    /// Milliseconds an idle worker waits before looking again.
    pub poll_interval_ms: u64,
    /// Seconds a claimed job stays with its worker; past that, another worker may claim it.
    pub lease_secs: i64,
    /// Delay before the first retry; each further retry doubles it (with up to 25 % jitter).
    pub backoff_base_ms: i64,
    /// Longest delay between retries.
    pub backoff_max_secs: i64,
    /// Attempts before a job is dead, unless the job says otherwise.
    pub default_max_attempts: i32,
    /// Accept the `diagnostic.*` kinds (noop, sleep, fail) used by tests and benchmarks.
    pub enable_diagnostic_kinds: bool,
    /// Seconds between two looks at the recurring schedules.
    pub schedule_poll_secs: u64,
    /// With `enable_diagnostic_kinds`: a cron expression (seconds first, e.g. `*/2 * * * * *`) on which every
    /// tenant gets a `diagnostic.tick` job; for tests of the scheduler.
    pub diagnostic_schedule: Option<String>,
}

/// Object storage: a local folder (the default) or an S3-compatible bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSettings {
    /// `local` or `s3`.
    pub backend: String,
    /// Folder of the local backend.
    pub local_dir: PathBuf,
    /// Uploads larger than this go to S3 in parts (multipart upload).
    pub multipart_threshold_bytes: u64,
    /// Size of each part of a multipart upload (S3 wants at least 5 MiB); also the most an upload buffers.
    pub part_size_bytes: u64,
    /// Lifetime of a signed download URL when the caller does not ask for one.
    pub signed_url_ttl_secs: u64,
    /// Longest lifetime a caller may ask for.
    pub signed_url_max_ttl_secs: u64,
    /// The S3 backend.
    pub s3: S3Settings,
}

/// An S3-compatible bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Settings {
    /// Endpoint URL of an S3-compatible server; AWS's own when absent.
    pub endpoint: Option<String>,
    /// Region.
    pub region: String,
    /// Bucket.
    pub bucket: String,
    /// Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers want.
    pub force_path_style: bool,
    /// Access key id; the AWS default chain (environment, profile, instance role) when absent.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<SecretString>,
    /// S3 server-side encryption on top of Tessera's own for sensitive files: `AES256` or `aws:kms`.
    pub server_side_encryption: Option<String>,
}

/// Outgoing webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Seconds a receiver has to answer.
    pub timeout_secs: u64,
    /// Delay before the first retry; each further retry doubles it.
    pub retry_base_ms: i64,
    /// Longest delay between two attempts.
    pub retry_max_delay_secs: i64,
    /// Hours after the event during which deliveries are retried; then the delivery has failed for good.
    pub retry_window_hours: i64,
    /// Accept `http://` endpoints (tests and local development); production endpoints use `https://`.
    pub allow_http: bool,
    /// Accept endpoints on loopback and private networks (tests and local development only: otherwise a
    /// brand admin could make Tessera call into its own network).
    pub allow_private_networks: bool,
}

/// Payment providers.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentSettings {
    /// Base URL of Stripe's API (`https://api.stripe.com/`). Tests point it at the Stripe-compatible server on
    /// loopback.
    pub stripe_api_base: String,
    /// Milliseconds a provider call may take; past it the outcome is unknown and reconciled later, never
    /// charged again.
    pub request_timeout_ms: u64,
    /// Payments processed at once by a billing run.
    pub run_concurrency: usize,
    /// Public base URL of the member portal, for "confirm your payment" links.
    pub portal_url: String,
}

/// Reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    /// Euros per unit of each other currency (`GBP = "1.17"`), as decimal strings: the `group` report converts
    /// every brand's figures to EUR with them. A currency without a rate is left out of the EUR figures and
    /// named in the report.
    pub eur_rates: std::collections::BTreeMap<String, String>,
}

/// Live events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSettings {
    /// Days events are kept in the outbox table.
    pub retention_days: i64,
    /// Milliseconds between two looks at the outbox table (SQLite; PostgreSQL is told by NOTIFY and looks
    /// this often only to catch up after a lost connection).
    pub poll_interval_ms: u64,
    /// Events a slow WebSocket subscriber may fall behind by before it is told it missed some.
    pub subscriber_buffer: usize,
}

/// Outgoing e-mail: written as `.eml` files into an outbox folder (the default), or sent over SMTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// `outbox` or `smtp`.
    pub transport: String,
    /// Folder of the outbox transport.
    pub outbox_dir: PathBuf,
    /// The sender address.
    pub from: String,
    /// SMTP host.
    pub smtp_host: String,
    /// SMTP port.
    pub smtp_port: u16,
    /// `none` (loopback relays only), `starttls` or `tls`.
    pub smtp_tls: String,
    /// SMTP user name, if the relay wants one.
    pub smtp_username: Option<String>,
    /// SMTP password.
    pub smtp_password: Option<SecretString>,
    /// Base of links in e-mails, `{host}` standing for the brand's host (its first domain, else
    /// `<slug>.localhost:8080`).
    pub link_base: String,
}

/// Logging settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A `tracing` filter such as `info,tessera=debug`.
    pub filter: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The built-in defaults, as the TOML a `tessera.toml` would hold.
pub const DEFAULTS: &str = r#"
tenants_dir = "tenants"

[database]
url = "sqlite://data/tessera.db"
pool_size = 8
pool_timeout_secs = 5
sqlite_busy_timeout_ms = 10000
sqlite_checkpoint_every_ms = 50
sqlite_log_restart_pages = 4000

[server]
listen = "127.0.0.1:8080"
body_limit_bytes = 1048576
group_domains = []
tenant_refresh_secs = 2
shutdown_grace_secs = 20
door_memory = true
background_at_idle_priority = true

[auth]
issuer = "tessera"
access_token_ttl_secs = 900
refresh_token_ttl_secs = 2592000
invite_ttl_secs = 604800
max_concurrent_hashes = 2
max_failed_logins = 5
failed_login_window_secs = 900
principal_cache_ttl_ms = 2000

[auth.argon2]
memory_kib = 7168
iterations = 5
parallelism = 1

[jobs]
workers_in_server = 2
workers = 2
batch_size = 32
poll_interval_ms = 500
lease_secs = 60
backoff_base_ms = 2000
backoff_max_secs = 3600
default_max_attempts = 5
enable_diagnostic_kinds = false
schedule_poll_secs = 5

[storage]
backend = "local"
local_dir = "data/files"
multipart_threshold_bytes = 16777216
part_size_bytes = 8388608
signed_url_ttl_secs = 300
signed_url_max_ttl_secs = 3600

[storage.s3]
region = "eu-west-3"
bucket = "tessera"
force_path_style = false

[webhooks]
timeout_secs = 10
retry_base_ms = 30000
retry_max_delay_secs = 43200
retry_window_hours = 72
allow_http = false
allow_private_networks = false

[payments]
stripe_api_base = "https://api.stripe.com/"
request_timeout_ms = 20000
run_concurrency = 8
portal_url = "http://localhost:8080"

[reports.eur_rates]
GBP = "1.17"
USD = "0.92"
CHF = "1.06"

[events]
retention_days = 30
poll_interval_ms = 250
subscriber_buffer = 1024

[email]
transport = "outbox"
outbox_dir = "data/outbox"
from = "no-reply@tessera.localhost"
smtp_host = "127.0.0.1"
smtp_port = 25
smtp_tls = "none"
link_base = "https://{host}"

[log]
format = "text"
filter = "info"
"#;

impl Settings {
    /// Loads defaults, then `file` (when given, it must exist), then `TESSERA_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load_with_env(file, std::env::vars())
    }

    /// Like [`Settings::load`], reading variables from `vars` (so that tests need not touch the process).
    pub fn load_with_env(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        if let Some(path) = file {
            builder = builder.add_source(
                config::File::from(path)
                    .format(config::FileFormat::Toml)
                    .required(true),
            );
        }
        // Variables that are flags of the CLI, not settings, are left to clap.
        let env: config::Map<String, String> = vars
            .into_iter()
            .filter(|(key, _)| key.starts_with("TESSERA_") && key.contains("__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("TESSERA")
                .prefix_separator("_")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("server.group_domains")
                .try_parsing(true)
                .source(Some(env)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.to_owned(),
            })
        };
        if self.auth.access_token_ttl_secs < 30 || self.auth.access_token_ttl_secs > 3600 {
            return invalid(
                "auth.access_token_ttl_secs",
                "between 30 and 3600 seconds: access tokens are short-lived",
            );
        }
        if self.auth.refresh_token_ttl_secs < self.auth.access_token_ttl_secs {
            return invalid(
                "auth.refresh_token_ttl_secs",
                "must be longer than the access token's",
            );
        }
        if self.auth.max_concurrent_hashes == 0 {
            return invalid("auth.max_concurrent_hashes", "at least 1");
        }
        if self.jobs.batch_size < 1
            || self.jobs.lease_secs < 1
            || self.jobs.default_max_attempts < 1
        {
            return invalid(
                "jobs",
                "batch_size, lease_secs and default_max_attempts are at least 1",
            );
        }
        if !matches!(self.email.transport.as_str(), "outbox" | "smtp") {
            return invalid("email.transport", "outbox or smtp");
        }
        if !matches!(self.email.smtp_tls.as_str(), "none" | "starttls" | "tls") {
            return invalid("email.smtp_tls", "none, starttls or tls");
        }
        if self.database.pool_size == 0 {
            return invalid("database.pool_size", "at least 1");
        }
        if !matches!(self.storage.backend.as_str(), "local" | "s3") {
            return invalid("storage.backend", "local or s3");
        }
        if self.storage.part_size_bytes < 5 * 1024 * 1024 {
            return invalid("storage.part_size_bytes", "at least 5 MiB (an S3 rule)");
        }
        if let Some(sse) = &self.storage.s3.server_side_encryption {
            if !matches!(sse.as_str(), "AES256" | "aws:kms") {
                return invalid("storage.s3.server_side_encryption", "AES256 or aws:kms");
            }
        }
        if self.storage.signed_url_ttl_secs == 0
            || self.storage.signed_url_ttl_secs > self.storage.signed_url_max_ttl_secs
        {
            return invalid(
                "storage.signed_url_ttl_secs",
                "at least 1 and at most signed_url_max_ttl_secs",
            );
        }
        if self.webhooks.retry_base_ms < 1 || self.webhooks.retry_window_hours < 1 {
            return invalid(
                "webhooks",
                "retry_base_ms and retry_window_hours are at least 1",
            );
        }
        if self.events.subscriber_buffer == 0 || self.events.retention_days < 1 {
            return invalid(
                "events",
                "subscriber_buffer and retention_days are at least 1",
            );
        }
        if self.server.body_limit_bytes < 1024 {
            return invalid("server.body_limit_bytes", "at least 1024");
        }
        let a = self.auth.argon2;
        if a.memory_kib < 8 * a.parallelism || a.iterations == 0 || a.parallelism == 0 {
            return invalid(
                "auth.argon2",
                "memory_kib >= 8 x parallelism, iterations and parallelism >= 1",
            );
        }
        Ok(())
    }

    /// The settings as JSON with every secret replaced by `[redacted]` (the URL keeps its scheme, host and
    /// database so that it stays useful).
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "tenants_dir": self.tenants_dir,
            "database": {
                "url": redact_url(self.database.url.expose_secret()),
                "pool_size": self.database.pool_size,
                "pool_timeout_secs": self.database.pool_timeout_secs,
                "sqlite_busy_timeout_ms": self.database.sqlite_busy_timeout_ms,
                "sqlite_checkpoint_every_ms": self.database.sqlite_checkpoint_every_ms,
                "sqlite_log_restart_pages": self.database.sqlite_log_restart_pages,
            },
            "server": {
                "listen": self.server.listen,
                "body_limit_bytes": self.server.body_limit_bytes,
                "group_domains": self.server.group_domains,
                "tenant_refresh_secs": self.server.tenant_refresh_secs,
                "shutdown_grace_secs": self.server.shutdown_grace_secs,
                "door_memory": self.server.door_memory,
                "background_at_idle_priority": self.server.background_at_idle_priority,
            },
            "auth": {
                "issuer": self.auth.issuer,
                "access_token_ttl_secs": self.auth.access_token_ttl_secs,
                "refresh_token_ttl_secs": self.auth.refresh_token_ttl_secs,
                "invite_ttl_secs": self.auth.invite_ttl_secs,
                "max_concurrent_hashes": self.auth.max_concurrent_hashes,
                "max_failed_logins": self.auth.max_failed_logins,
                "failed_login_window_secs": self.auth.failed_login_window_secs,
                "principal_cache_ttl_ms": self.auth.principal_cache_ttl_ms,
                "argon2": {
                    "memory_kib": self.auth.argon2.memory_kib,
                    "iterations": self.auth.argon2.iterations,
                    "parallelism": self.auth.argon2.parallelism,
                },
            },
            "log": { "format": self.log.format, "filter": self.log.filter },
            "jobs": {
                "workers_in_server": self.jobs.workers_in_server,
                "workers": self.jobs.workers,
                "batch_size": self.jobs.batch_size,
                "poll_interval_ms": self.jobs.poll_interval_ms,
                "lease_secs": self.jobs.lease_secs,
                "backoff_base_ms": self.jobs.backoff_base_ms,
                "backoff_max_secs": self.jobs.backoff_max_secs,
                "default_max_attempts": self.jobs.default_max_attempts,
                "enable_diagnostic_kinds": self.jobs.enable_diagnostic_kinds,
                "schedule_poll_secs": self.jobs.schedule_poll_secs,
                "diagnostic_schedule": self.jobs.diagnostic_schedule,
            },
            "storage": {
                "backend": self.storage.backend,
                "local_dir": self.storage.local_dir,
                "multipart_threshold_bytes": self.storage.multipart_threshold_bytes,
                "part_size_bytes": self.storage.part_size_bytes,
                "signed_url_ttl_secs": self.storage.signed_url_ttl_secs,
                "signed_url_max_ttl_secs": self.storage.signed_url_max_ttl_secs,
                "s3": {
                    "endpoint": self.storage.s3.endpoint,
                    "region": self.storage.s3.region,
                    "bucket": self.storage.s3.bucket,
                    "force_path_style": self.storage.s3.force_path_style,
                    "access_key_id": self.storage.s3.access_key_id,
                    "secret_access_key": self.storage.s3.secret_access_key.as_ref().map(|_| "[redacted]"),
                    "server_side_encryption": self.storage.s3.server_side_encryption,
                },
            },
            "webhooks": {
                "timeout_secs": self.webhooks.timeout_secs,
                "retry_base_ms": self.webhooks.retry_base_ms,
                "retry_max_delay_secs": self.webhooks.retry_max_delay_secs,
                "retry_window_hours": self.webhooks.retry_window_hours,
                "allow_http": self.webhooks.allow_http,
                "allow_private_networks": self.webhooks.allow_private_networks,
            },
            "payments": {
                "stripe_api_base": self.payments.stripe_api_base,
                "request_timeout_ms": self.payments.request_timeout_ms,
                "run_concurrency": self.payments.run_concurrency,
                "portal_url": self.payments.portal_url,
            },
            "reports": {
                "eur_rates": self.reports.eur_rates,
            },
            "events": {
                "retention_days": self.events.retention_days,
                "poll_interval_ms": self.events.poll_interval_ms,
                "subscriber_buffer": self.events.subscriber_buffer,
            },
            "email": {
                "transport": self.email.transport,
                "outbox_dir": self.email.outbox_dir,
                "from": self.email.from,
                "smtp_host": self.email.smtp_host,
                "smtp_port": self.email.smtp_port,
                "smtp_tls": self.email.smtp_tls,
                "smtp_username": self.email.smtp_username,
                "smtp_password": self.email.smtp_password.as_ref().map(|_| "[redacted]"),
                "link_base": self.email.link_base,
            },
            "secrets": {
                "master_key": self.secrets.master_key.as_ref().map(|_| "[redacted]"),
            },
        })
    }
}

/// A database URL with its password (and any query string) replaced by `[redacted]`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "[redacted]".to_owned();
    };
    let (rest, query) = match rest.split_once('?') {
        Some((r, _)) => (r, "?[redacted]"),
        None => (rest, ""),
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:[redacted]@{host}{query}")
            } else {
                format!("{scheme}://{user}@{host}{query}")
            }
        }
        None => format!("{scheme}://{rest}{query}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_then_env_with_nesting() {
        let settings = Settings::load_with_env(
            None,
            vars(&[
                ("TESSERA_AUTH__ACCESS_TOKEN_TTL_SECS", "600"),
                (
                    "TESSERA_SERVER__GROUP_DOMAINS",
                    "group.example,ops.group.example",
                ),
                ("TESSERA_DATABASE_URL", "ignored: a CLI flag, not a setting"),
            ]),
        )
        .unwrap();
        assert_eq!(settings.auth.access_token_ttl_secs, 600);
        assert_eq!(
            settings.server.group_domains,
            vec!["group.example", "ops.group.example"]
        );
        assert_eq!(settings.auth.argon2.memory_kib, 7168);
    }

    #[test]
    fn file_layer_and_bad_values() {
        // Removed when the test ends, however it ends.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tessera.toml");
        std::fs::write(
            &file,
            "[database]\nurl = \"postgres://app:hunter2@db:5432/tessera\"\n",
        )
        .unwrap();
        let settings = Settings::load_with_env(Some(&file), vars(&[])).unwrap();
        let shown = settings.redacted().to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("postgres://app:[redacted]@db:5432/tessera"),
            "{shown}"
        );

        let err = Settings::load_with_env(
            Some(&file),
            vars(&[("TESSERA_AUTH__ACCESS_TOKEN_TTL_SECS", "86400")]),
        );
        assert!(err
            .unwrap_err()
            .to_string()
            .contains("access_token_ttl_secs"));
        let err = Settings::load_with_env(Some(&file), vars(&[("TESSERA_SERVER__NO_SUCH", "1")]));
        assert!(err.is_err());
    }
}
