//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Tessera: the group's multi-tenant platform, for operators.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, propagate_version = true)]
pub struct Cli {
    /// Settings file (TOML). Defaults, then this file, then TESSERA_* variables.
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Database URL: postgres://... or sqlite://path. Overrides the settings.
    #[arg(
        long,
        global = true,
        env = "TESSERA_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Log line format (logs go to standard error).
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server.
    Serve {
        /// Address to listen on (overrides server.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Back the database up into a new folder (SQLite online backup, or pg_dump). The master key is never in it.
    Backup {
        /// The folder to create (it must not exist or be empty).
        #[arg(long, value_name = "DIR")]
        to: std::path::PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup folder into an empty database (a new SQLite file or an empty PostgreSQL database).
    Restore {
        /// The backup folder.
        #[arg(long, value_name = "DIR")]
        from: std::path::PathBuf,
    },
    /// Run job workers only (no HTTP), until Ctrl-C or SIGTERM.
    Worker,
    /// The job queue.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Recurring schedules of every brand (cron in the brand's time zone), as the servers and workers keep them.
    Schedules {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Members of a brand.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Memberships of a brand.
    #[command(subcommand)]
    Memberships(MembershipsCommand),
    /// Devices: pairing codes, and the reference door simulator.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Billing of a brand: runs and reconciliation.
    #[command(subcommand)]
    Billing(BillingCommand),
    /// A report (revenue, mrr, members, attendance, pro-hours, receivables, checkins, group) of a brand or of
    /// every brand, as a table, CSV or JSON. Local days FROM to TO included; this month so far by default.
    Report(ReportArgs),
    /// Run the demo: a SQLite database in DATA_DIR, the brands of tenants/, demo accounts, and the server.
    Demo {
        /// Folder of the demo's data.
        #[arg(long, value_name = "DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Address to listen on.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Apply pending database migrations (as the table owner), or show their status.
    Migrate {
        /// Show applied and pending migrations instead of running them.
        #[arg(long)]
        status: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Brands (tenants).
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Accounts and operators.
    #[command(subcommand)]
    User(UserCommand),
    /// Token-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a folder.
    Man {
        /// Folder to write `tessera*.1` files into.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// `tessera tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Validate tenant files, then create or update them all in one transaction.
    Apply {
        /// A tenant file, or a folder of them.
        path: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tenants.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one tenant's configuration.
    Show {
        /// The tenant's slug.
        slug: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which realm an account command acts in.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RealmArgs {
    /// The brand's slug.
    #[arg(long, value_name = "SLUG")]
    pub tenant: Option<String>,
    /// A group-level operator account instead.
    #[arg(long)]
    pub operator: bool,
}

/// `tessera user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (or an operator).
    Create {
        #[command(flatten)]
        realm: RealmArgs,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// A role (repeat for several): admin, staff, pro, member, sales_rep, affiliate.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// A pro's specialty: coach, nutritionist or therapist.
        #[arg(long)]
        specialty: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List a brand's accounts (or the operators).
    List {
        #[command(flatten)]
        realm: RealmArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace an account's roles.
    SetRole {
        /// The brand's slug.
        #[arg(long, value_name = "SLUG")]
        tenant: String,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// A role (repeat for several).
        #[arg(long = "role", value_name = "ROLE", required = true)]
        roles: Vec<String>,
        /// A pro's specialty.
        #[arg(long)]
        specialty: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a new password and end the account's sessions.
    ResetPassword {
        #[command(flatten)]
        realm: RealmArgs,
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `tessera keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new random master key (base64) for secrets.master_key. Nothing is stored.
    MasterKey,
    /// Seal every secret in the database again under the configured master key (secrets.master_key), reading the
    /// old one from the environment variable OLD_KEY_ENV. Stop the servers first; start them with the new key.
    Rewrap {
        /// The variable holding the old master key.
        #[arg(long, value_name = "VAR", default_value = "TESSERA_OLD_MASTER_KEY")]
        old_key_env: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a brand's next data key: sensitive files uploaded from now on are encrypted with it.
    RotateDataKey {
        /// The brand's slug.
        #[arg(long, value_name = "SLUG")]
        tenant: String,
    },
    /// Retire the current key, promote the next one and create a new next key.
    Rotate {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective settings, secrets redacted.
    Show {
        /// Print compact JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Which chains an audit command reads: one brand, the group, or (for verify) all.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct AuditRealmArgs {
    /// A brand's slug.
    #[arg(long, value_name = "SLUG")]
    pub tenant: Option<String>,
    /// The group realm (operators, tenants, keys).
    #[arg(long)]
    pub group: bool,
}

/// `tessera audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chains and name the first entry that does not fit (every chain when no realm is given).
    Verify {
        #[command(flatten)]
        realm: AuditRealmArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the newest entries of a chain.
    List {
        #[command(flatten)]
        realm: AuditRealmArgs,
        /// Only this action.
        #[arg(long)]
        action: Option<String>,
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tessera jobs ...`
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only this brand's jobs.
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        /// Only jobs in this state: queued, running, succeeded, dead, cancelled.
        #[arg(long)]
        status: Option<String>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a job and its attempts.
    Show {
        /// The job's id.
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Queue a dead or cancelled job again.
    Retry {
        /// The job's id.
        id: String,
    },
    /// Cancel a queued job.
    Cancel {
        /// The job's id.
        id: String,
    },
    /// Queue jobs by hand (group realm unless --tenant).
    Enqueue {
        /// The kind.
        kind: String,
        /// The payload, a JSON object.
        #[arg(long, default_value = "{}")]
        payload: String,
        /// The brand's slug.
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
        /// At most one job with this key per realm.
        #[arg(long)]
        unique_key: Option<String>,
        /// Attempts before the job is dead.
        #[arg(long)]
        max_attempts: Option<i32>,
        /// Queue this many (diagnostics and benchmarks).
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
}

/// `tessera member ...`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Import members from a CSV file with a header row: given_name, family_name, email, phone, birth_date
    /// (YYYY-MM-DD), locale; empty cells are absent values. A bad row stops the import with its line number.
    Import {
        /// The brand's slug.
        #[arg(long)]
        tenant: String,
        /// The CSV file.
        file: PathBuf,
    },
}

/// `tessera memberships ...`
#[derive(Debug, Subcommand)]
pub enum MembershipsCommand {
    /// Apply the changes due on a day (starts, freezes, cancellations, terms, plan changes): what the nightly
    /// schedule does, on demand.
    Roll {
        /// The brand's slug.
        #[arg(long)]
        tenant: String,
        /// The day (YYYY-MM-DD); the brand's today when absent.
        #[arg(long)]
        on: Option<chrono::NaiveDate>,
    },
}

/// Kinds of devices.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DeviceKindArg {
    /// A self-service kiosk.
    Kiosk,
    /// A door reader, turnstile or controller.
    Door,
    /// A body-composition analyser.
    BodyAnalyzer,
}

/// `tessera device ...`
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Make a pairing code (valid ten minutes, usable once) and show it with its QR code.
    Pair {
        /// The brand's slug.
        #[arg(long)]
        tenant: String,
        /// Kind of device.
        #[arg(long, value_enum)]
        kind: DeviceKindArg,
        /// The location, by name or id (required for a door).
        #[arg(long)]
        location: Option<String>,
        /// A name for the device.
        #[arg(long)]
        name: Option<String>,
        /// A door lets a member in again without an exit (anti-passback off).
        #[arg(long)]
        no_anti_passback: bool,
        /// The door's NFC reader writes UIDs least significant byte first.
        #[arg(long)]
        nfc_lsb: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The reference door: pairs, syncs its signed allowlist, decides offline, uploads what it decided. Steps run in
    /// that order, each when asked; the door's state (credential, allowlist, pending entries) lives in --state.
    SimulateDoor {
        /// The door's state file (created by --pair).
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        /// The server's base URL (with --pair).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// The brand's slug: requests go to `<slug>.localhost` (with --pair).
        #[arg(long)]
        tenant: Option<String>,
        /// Pair with this code.
        #[arg(long, value_name = "CODE")]
        pair: Option<String>,
        /// Fetch the allowlist (changes since the version held, or a full snapshot) and check its signature.
        #[arg(long)]
        sync: bool,
        /// Decide offline for each line of FILE: `in|out barcode|qr|nfc VALUE [hex|decimal]`. Prints one JSON line
        /// per decision.
        #[arg(long, value_name = "FILE")]
        decide: Option<PathBuf>,
        /// Upload the decisions made offline.
        #[arg(long)]
        upload: bool,
        /// Keep the uploaded decisions pending (to show that a second upload adds nothing).
        #[arg(long)]
        keep_pending: bool,
    },
}

/// `tessera billing ...`
#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Invoice what is due on a day, charge it, apply dunning: what the daily schedule does, on demand. Safe to
    /// run again after a crash: nothing is invoiced or charged twice.
    Run {
        /// The brand's slug.
        #[arg(long)]
        tenant: String,
        /// The day billed (YYYY-MM-DD); the brand's today when absent.
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Show what would be invoiced, write nothing, charge nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ask the payment provider what became of payments whose outcome is unknown, and record it.
    Reconcile {
        /// The brand's slug.
        #[arg(long)]
        tenant: String,
    },
}

/// `tessera report ...`
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The report.
    #[arg(value_parser = clap::builder::PossibleValuesParser::new(
        ["revenue", "mrr", "members", "attendance", "pro-hours", "receivables", "checkins", "group"]))]
    pub name: String,
    /// The brand's slug.
    #[arg(long, conflicts_with = "all")]
    pub tenant: Option<String>,
    /// Every brand: one report with a brand column (`group` always covers every brand).
    #[arg(long)]
    pub all: bool,
    /// First local day (YYYY-MM-DD); the first of this month by default.
    #[arg(long)]
    pub from: Option<chrono::NaiveDate>,
    /// Last local day, included (YYYY-MM-DD); today by default.
    #[arg(long)]
    pub to: Option<chrono::NaiveDate>,
    /// `revenue` only: group by month, plan, vat or method.
    #[arg(long, value_parser = ["month", "plan", "vat", "method"])]
    pub by: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

/// How `tessera report` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Aligned columns for people.
    Table,
    /// RFC 4180 CSV with a header of column keys.
    Csv,
    /// The report as the API returns it.
    Json,
}
