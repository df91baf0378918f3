//! `tessera demo`: a working platform on a fresh checkout. Creates the SQLite database under the data folder,
//! migrates, applies `tenants/`, seeds one account per role per brand and a few members (only what is missing,
//! so a second run keeps everything), prints each brand's URL and the demo credentials, and serves.

use std::path::Path;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use tessera_app::tenants::{read_tenant_files, ApplyFailure};
use tessera_app::users::{CreateUser, UserRealm};
use tessera_app::{App, AppError};
use tessera_config::Settings;
use tessera_domain::values::NewPassword;

/// The password of every demo account. Printed at start and listed in the README.
pub const DEMO_PASSWORD: &str = "tessera-demo-2026";

/// Staff of each brand: (local part, name, roles, specialty).
const STAFF: &[(&str, &str, &[&str], Option<&str>)] = &[
    ("admin", "Camille Laurent", &["admin"], None),
    ("staff", "Hugo Moreau", &["staff"], None),
    ("coach", "Léa Dubois", &["pro"], Some("coach")),
    ("nutrition", "Nadia Benali", &["pro"], Some("nutritionist")),
    ("therapist", "Julien Petit", &["pro"], Some("therapist")),
    ("sales", "Thomas Girard", &["sales_rep"], None),
    ("affiliate", "Inès Fontaine", &["affiliate"], None),
    ("member", "Manon Lefèvre", &["member"], None),
];

/// A few more members per brand, so that lists have something in them.
const MEMBERS: &[(&str, &str)] = &[
    ("chloe.martin", "Chloé Martin"),
    ("lucas.bernard", "Lucas Bernard"),
    ("emma.roux", "Emma Roux"),
    ("nathan.fournier", "Nathan Fournier"),
    ("sarah.mercier", "Sarah Mercier"),
    ("yanis.haddad", "Yanis Haddad"),
];

/// The operator account of the demo.
const OPERATOR: (&str, &str) = ("ops@tessera.demo", "Group Operator");

/// Runs the demo.
pub async fn run(
    mut settings: Settings,
    explicit_url: bool,
    data_dir: &Path,
    listen: String,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    if !explicit_url {
        let path = data_dir.join("tessera.db");
        settings.database.url = SecretString::from(format!("sqlite://{}", path.display()));
    }
    settings.server.listen = listen;
    // The demo's mail goes to files beside its database, unless configured otherwise.
    if settings.email.outbox_dir == std::path::Path::new("data/outbox") {
        settings.email.outbox_dir = data_dir.join("outbox");
    }
    // Files go beside the demo's database, like its outbox, unless configured elsewhere.
    if settings.storage.local_dir == std::path::Path::new("data/files") {
        settings.storage.local_dir = data_dir.join("files");
    }
    if settings.secrets.master_key.is_none() {
        settings.secrets.master_key = Some(demo_master_key(data_dir)?);
    }
    let url = settings.database.url.expose_secret().to_owned();
    let ran =
        tokio::task::spawn_blocking(move || tessera_store::migrate::run_pending(&url)).await??;
    for name in &ran {
        tracing::info!(migration = %name, "applied");
    }
    let tenants_dir = settings.tenants_dir.clone();
    let app = App::start(settings).await?;
    let files = read_tenant_files(&tenants_dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    match app.apply_tenants(files).await {
        Ok(_) => {}
        Err(ApplyFailure::Invalid(errors)) => {
            let first = errors.first().map(ToString::to_string).unwrap_or_default();
            anyhow::bail!("{first}");
        }
        Err(ApplyFailure::Failed(error)) => return Err(error.into()),
    }
    let created = seed(&app).await?;
    let gym = app
        .seed_gym_demo(|slug| format!("admin@{slug}.demo"))
        .await?;
    if gym > 0 {
        tracing::info!(records = gym, "gym demo data created");
    }
    if app.tenants().by_slug("atlas").is_some() {
        let schedule = app.seed_demo_schedule("atlas").await?;
        if schedule.locations > 0 {
            tracing::info!(
                services = schedule.services,
                sessions = schedule.sessions,
                "scheduling demo data created"
            );
        }
        let bookings = app.seed_demo_bookings("atlas", 2).await?;
        if bookings > 0 {
            tracing::info!(bookings, "demo class bookings created");
        }
        let devices = app.seed_demo_devices("atlas", "admin@atlas.demo").await?;
        if devices.devices > 0 {
            tracing::info!(
                devices = devices.devices,
                cards = devices.cards,
                passes = devices.passes,
                "demo devices paired, cards issued, members let in"
            );
        }
    }
    let listener = crate::commands::bind(&app).await?;
    print_banner(&app, created, listener.local_addr()?.port());
    crate::commands::serve_on(app, listener).await
}

/// The demo's master key, kept beside its database in `master.key` (readable by its owner only) and made on
/// the first run. Production keeps the master key out of the data folder: see the README.
fn demo_master_key(data_dir: &Path) -> anyhow::Result<SecretString> {
    let path = data_dir.join("master.key");
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        std::io::Write::write_all(
            &mut file,
            tessera_app::sealing::MasterKey::generate().as_bytes(),
        )?;
    }
    let key = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(SecretString::from(key.trim().to_owned()))
}

/// Creates whatever demo account is missing; returns how many were created.
async fn seed(app: &App) -> anyhow::Result<usize> {
    let password =
        NewPassword::parse(DEMO_PASSWORD).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut wanted: Vec<CreateUser> = Vec::new();
    let operators = app.list_users(UserRealm::Operator).await?;
    if !operators.iter().any(|o| o.email == OPERATOR.0) {
        wanted.push(CreateUser {
            realm: UserRealm::Operator,
            email: OPERATOR.0.into(),
            display_name: OPERATOR.1.into(),
            roles: Vec::new(),
            specialty: None,
            password: password.clone(),
        });
    }
    for tenant in app.tenants().all() {
        let existing = app
            .list_users(UserRealm::Tenant(tenant.slug.clone()))
            .await?;
        let domain = format!("{}.demo", tenant.slug);
        let mut add = |email: String, name: &str, roles: &[&str], specialty: Option<&str>| {
            if !existing.iter().any(|u| u.email == email) {
                wanted.push(CreateUser {
                    realm: UserRealm::Tenant(tenant.slug.clone()),
                    email,
                    display_name: name.to_owned(),
                    roles: roles.iter().map(|r| (*r).to_owned()).collect(),
                    specialty: specialty.map(str::to_owned),
                    password: password.clone(),
                });
            }
        };
        for (local, name, roles, specialty) in STAFF {
            add(format!("{local}@{domain}"), name, roles, *specialty);
        }
        for (local, name) in MEMBERS {
            add(format!("{local}@{domain}"), name, &["member"], None);
        }
    }
    let count = wanted.len();
    for user in wanted {
        match app.create_user(user).await {
            Ok(_)
            | Err(AppError::Conflict {
                code: "email_taken",
                ..
            }) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(count)
}

fn print_banner(app: &App, created: usize, port: u16) {
    println!(
        "Tessera demo ({} database, {created} demo account(s) created this time)",
        app.db().backend().name()
    );
    println!();
    println!("Brands:");
    for tenant in app.tenants().all() {
        println!(
            "  {:<32} http://{}.localhost:{port}",
            tenant.display_name, tenant.slug
        );
    }
    println!(
        "  {:<32} http://localhost:{port}  (group realm, operators)",
        "Group"
    );
    println!();
    println!("Demo accounts (password for all: {DEMO_PASSWORD}):");
    println!("  operator            {}", OPERATOR.0);
    for (local, _, roles, specialty) in STAFF {
        let what = match specialty {
            Some(s) => format!("{} ({s})", roles.join(",")),
            None => roles.join(","),
        };
        println!("  {what:<19} {local}@<brand>.demo   e.g. {local}@atlas.demo");
    }
    println!();
    println!("API docs: http://localhost:{port}/api/docs");
}
