//! One function per command: parse what clap gave, call services, print.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use clap::CommandFactory;
use secrecy::{ExposeSecret, SecretString};
use tessera_app::tenants::{read_tenant_files, ApplyFailure};
use tessera_app::users::{CreateUser, UserRealm};
use tessera_app::App;
use tessera_config::{LogFormat, Settings};
use tessera_domain::values::NewPassword;

use crate::args::{
    AuditCommand, AuditRealmArgs, BillingCommand, Cli, Command, ConfigCommand, DeviceCommand,
    DeviceKindArg, JobsCommand, KeysCommand, LogFormatArg, MemberCommand, MembershipsCommand,
    RealmArgs, TenantCommand, UserCommand,
};
use crate::output;

/// The settings, with the command line's overrides applied.
pub fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        settings.database.url = SecretString::from(url.clone());
    }
    if let Some(format) = cli.log_format {
        settings.log.format = match format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    Ok(settings)
}

/// Runs the parsed command line.
pub async fn run(cli: Cli, mut settings: Settings) -> anyhow::Result<()> {
    // Only the long-running commands log at the configured level; one-shot commands keep standard error for
    // their one error line unless RUST_LOG asks for more.
    let long_running = matches!(
        cli.command,
        Command::Serve { .. } | Command::Demo { .. } | Command::Worker
    );
    init_logging(&settings, long_running);
    match cli.command {
        Command::Serve { listen } => {
            if let Some(listen) = listen {
                settings.server.listen = listen;
            }
            let app = open_app(settings).await?;
            serve(app).await
        }
        Command::Demo { data_dir, listen } => {
            crate::demo::run(settings, cli.database_url.is_some(), &data_dir, listen).await
        }
        Command::Migrate { status, json } => migrate(&settings, status, json).await,
        Command::Tenant(command) => tenant(settings, command).await,
        Command::User(command) => user(settings, command).await,
        Command::Keys(KeysCommand::MasterKey) => {
            println!("{}", tessera_app::sealing::MasterKey::generate());
            Ok(())
        }
        Command::Keys(KeysCommand::Rewrap { old_key_env, json }) => {
            let old = std::env::var(&old_key_env)
                .with_context(|| format!("{old_key_env} must hold the old master key"))?;
            let old = tessera_app::sealing::MasterKey::parse(Some(&old.into()))?;
            let new = tessera_app::sealing::MasterKey::parse(settings.secrets.master_key.as_ref())?;
            let url = settings.database.url.expose_secret().to_owned();
            let report = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let db =
                    tessera_store::Database::connect(&url, &tessera_store::PoolOptions::default())?;
                Ok(tessera_app::rewrap::rewrap(&db, &old, &new)?)
            })
            .await??;
            if json {
                return output::json(&report);
            }
            println!(
                "sealed again under the new master key: {} signing keys, {} data keys, {} webhook secrets, {} e-mails ({} already were)",
                report.signing_keys, report.data_keys, report.webhook_secrets, report.emails, report.already_rewrapped
            );
            Ok(())
        }
        Command::Keys(KeysCommand::RotateDataKey { tenant }) => {
            let app = open_app(settings).await?;
            let (id, generation) = app.rotate_data_key(&tenant).await?;
            println!(
                "{tenant}: new data key {id} (generation {generation}); older files keep theirs"
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { json }) => {
            let app = open_app(settings).await?;
            let rotation = app.rotate_keys().await?;
            if json {
                return output::json(&rotation);
            }
            println!(
                "signing with {} (next: {})",
                rotation.current, rotation.next
            );
            if let Some(retired) = rotation.retired {
                println!("retired {retired}; it stays published until the tokens it signed expire");
            }
            Ok(())
        }
        Command::Config(ConfigCommand::Show { json }) => {
            let shown = settings.redacted();
            if json {
                println!("{shown}");
            } else {
                output::json(&shown)?;
            }
            Ok(())
        }
        Command::Audit(command) => audit(settings, command).await,
        Command::Worker => {
            let app = open_app(settings).await?;
            println!("job workers running");
            tessera_server::work(app, shutdown_signal()).await;
            Ok(())
        }
        Command::Jobs(command) => jobs(settings, command).await,
        Command::Member(MemberCommand::Import { tenant, file }) => {
            let app = open_app(settings).await?;
            let rows = read_member_csv(&file)?;
            let created = app.import_members(&tenant, rows).await?;
            println!("{tenant}: {created} members imported");
            Ok(())
        }
        Command::Device(DeviceCommand::Pair {
            tenant,
            kind,
            location,
            name,
            no_anti_passback,
            nfc_lsb,
            json,
        }) => {
            use tessera_app::devices::{DeviceKind, PairingRequest};
            let kind = match kind {
                DeviceKindArg::Kiosk => DeviceKind::Kiosk,
                DeviceKindArg::Door => DeviceKind::Door,
                DeviceKindArg::BodyAnalyzer => DeviceKind::BodyAnalyzer,
            };
            let app = open_app(settings).await?;
            let request = PairingRequest {
                kind,
                name,
                location_id: None,
                anti_passback: no_anti_passback.then_some(false),
                nfc_byte_order: nfc_lsb
                    .then_some(tessera_domain::access::credential::ByteOrder::Lsb),
            };
            let code = app
                .create_pairing_from_cli(&tenant, location.as_deref(), request)
                .await?;
            if json {
                return output::json(&code);
            }
            println!(
                "{}",
                tessera_app::access::images::terminal_qr(&code.pairing_uri)?
            );
            println!("pairing code: {}", code.code);
            println!(
                "for a {} named {:?}, valid until {} (once)",
                code.kind.as_str(),
                code.name,
                code.expires_at.to_rfc3339()
            );
            Ok(())
        }
        Command::Device(DeviceCommand::SimulateDoor {
            state,
            server,
            tenant,
            pair,
            sync,
            decide,
            upload,
            keep_pending,
        }) => {
            crate::door::run(crate::door::Steps {
                state,
                server,
                tenant,
                pair,
                sync,
                decide,
                upload,
                keep_pending,
            })
            .await
        }
        Command::Memberships(MembershipsCommand::Roll { tenant, on }) => {
            let app = open_app(settings).await?;
            let id = app
                .tenants()
                .by_slug(&tenant)
                .map(|t| t.id.clone())
                .ok_or_else(|| anyhow::anyhow!("no brand {tenant:?}"))?;
            let changes = app.roll_memberships(&id, on).await?;
            println!("{tenant}: {changes} membership changes applied");
            Ok(())
        }
        Command::Billing(command) => billing(settings, command).await,
        Command::Report(args) => {
            let app = open_app(settings).await?;
            crate::report::run(&app, args).await
        }
        Command::Schedules { json } => {
            let app = open_app(settings).await?;
            let schedules = app.list_schedules().await?;
            if json {
                return output::json(&schedules);
            }
            let slug = |id: &str| {
                app.tenants()
                    .by_id(id)
                    .map_or_else(|| id.to_owned(), |t| t.slug.clone())
            };
            let rows: Vec<Vec<String>> = schedules
                .iter()
                .map(|s| {
                    vec![
                        slug(&s.tenant_id),
                        s.name.clone(),
                        s.cron.clone(),
                        s.time_zone.clone(),
                        s.next_run_at.to_rfc3339(),
                        s.last_run_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(
                &[
                    "TENANT",
                    "NAME",
                    "CRON",
                    "ZONE",
                    "NEXT RUN (UTC)",
                    "LAST RUN (UTC)",
                ],
                &rows,
            );
            Ok(())
        }
        Command::Backup { to, json } => {
            let manifest = tessera_app::storage::backup::backup(&settings, &to).await?;
            if json {
                return output::json(&manifest);
            }
            println!(
                "backed up ({}, {} migrations, {} files) into {}",
                manifest.backend,
                manifest.migrations.len(),
                manifest.objects.len(),
                to.display()
            );
            println!("the master key is not in the backup: keep it safe separately");
            Ok(())
        }
        Command::Restore { from } => {
            let manifest = tessera_app::storage::backup::restore(&settings, &from).await?;
            println!(
                "restored the {} backup of {} from {}",
                manifest.backend,
                manifest.created_at,
                from.display()
            );
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tessera",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man { out } => man(out),
    }
}

fn init_logging(settings: &Settings, long_running: bool) {
    let default = if long_running {
        settings.log.filter.as_str()
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second initialisation (never happens in one process) would only be refused, so the result is ignored.
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// Opens the application after checking that the database is migrated, so that the error says what to do.
pub async fn open_app(settings: Settings) -> anyhow::Result<App> {
    let url = settings.database.url.expose_secret().to_owned();
    let states =
        tokio::task::spawn_blocking(move || tessera_store::migrate::status_at(&url)).await??;
    let pending = states.iter().filter(|m| !m.applied).count();
    if pending > 0 {
        bail!("the database has {pending} pending migration(s): run `tessera migrate` first");
    }
    Ok(App::start(settings).await?)
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(app: App) -> anyhow::Result<()> {
    let listener = bind(&app).await?;
    serve_on(app, listener).await
}

/// Binds the configured listen address: before anything names the port, since `:0` picks a free one.
pub async fn bind(app: &App) -> anyhow::Result<tokio::net::TcpListener> {
    let listen = &app.settings().server.listen;
    tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))
}

/// Serves on a bound listener until a shutdown signal.
pub async fn serve_on(app: App, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    println!("listening on http://{address}");
    tessera_server::serve(app, listener, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn migrate(settings: &Settings, status: bool, json: bool) -> anyhow::Result<()> {
    let url = settings.database.url.expose_secret().to_owned();
    if status {
        let states =
            tokio::task::spawn_blocking(move || tessera_store::migrate::status_at(&url)).await??;
        if json {
            return output::json(&states);
        }
        let rows: Vec<Vec<String>> = states
            .iter()
            .map(|m| {
                vec![
                    m.name.clone(),
                    if m.applied {
                        "applied".into()
                    } else {
                        "pending".into()
                    },
                ]
            })
            .collect();
        output::table(&["migration", "state"], &rows);
        return Ok(());
    }
    let ran =
        tokio::task::spawn_blocking(move || tessera_store::migrate::run_pending(&url)).await??;
    if json {
        return output::json(&serde_json::json!({ "applied": ran }));
    }
    if ran.is_empty() {
        println!("the database is up to date");
    }
    for name in ran {
        println!("applied {name}");
    }
    Ok(())
}

async fn tenant(settings: Settings, command: TenantCommand) -> anyhow::Result<()> {
    let app = open_app(settings).await?;
    match command {
        TenantCommand::Apply { path, json } => {
            let files = read_tenant_files(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
            match app.apply_tenants(files).await {
                Ok(outcomes) => {
                    if json {
                        return output::json(&outcomes);
                    }
                    for o in outcomes {
                        println!("{} {} (revision {})", o.change, o.slug, o.revision);
                    }
                    Ok(())
                }
                Err(ApplyFailure::Invalid(errors)) => {
                    // Every problem on its own line, then the one-line verdict.
                    for error in errors.iter().skip(1) {
                        eprintln!("error: {error}");
                    }
                    let first = errors.first().map(ToString::to_string).unwrap_or_default();
                    bail!("{first} (nothing was applied)")
                }
                Err(ApplyFailure::Failed(error)) => Err(error).context("nothing was applied"),
            }
        }
        TenantCommand::List { json } => {
            let tenants = app.tenants().all();
            if json {
                let list: Vec<_> = tenants.iter().map(|t| (**t).clone()).collect();
                return output::json(&list);
            }
            let rows: Vec<Vec<String>> = tenants
                .iter()
                .map(|t| {
                    let modules: Vec<String> = t
                        .config
                        .modules
                        .iter()
                        .map(|m| format!("{m:?}").to_lowercase())
                        .collect();
                    vec![
                        t.slug.clone(),
                        t.display_name.clone(),
                        modules.join(","),
                        t.config.host_names().join(" "),
                        t.revision.to_string(),
                    ]
                })
                .collect();
            output::table(&["slug", "name", "modules", "hosts", "revision"], &rows);
            Ok(())
        }
        TenantCommand::Show { slug, json } => {
            let tenant = app
                .tenants()
                .by_slug(&slug)
                .with_context(|| format!("no tenant {slug:?}"))?;
            if json {
                return output::json(&*tenant);
            }
            println!(
                "{} ({}) revision {}",
                tenant.display_name, tenant.slug, tenant.revision
            );
            println!(
                "{}",
                toml::to_string_pretty(&tenant.config).unwrap_or_default()
            );
            Ok(())
        }
    }
}

fn realm_of(realm: &RealmArgs) -> UserRealm {
    match &realm.tenant {
        Some(slug) => UserRealm::Tenant(slug.clone()),
        None => UserRealm::Operator,
    }
}

/// Reads a password from standard input, or generates one and says it will be shown once.
fn password(from_stdin: bool) -> anyhow::Result<(NewPassword, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let password =
            NewPassword::parse(line).map_err(|e| anyhow::anyhow!("password: {}", e.message))?;
        Ok((password, false))
    } else {
        let generated = tessera_app::tokens_random(18);
        Ok((
            NewPassword::parse(&generated).map_err(|e| anyhow::anyhow!("{}", e.message))?,
            true,
        ))
    }
}

async fn user(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let app = open_app(settings).await?;
    match command {
        UserCommand::Create {
            realm,
            email,
            name,
            roles,
            specialty,
            password_stdin,
            json,
        } => {
            let (password, generated) = password(password_stdin)?;
            let shown = generated.then(|| password.expose().to_owned());
            let user = app
                .create_user(CreateUser {
                    realm: realm_of(&realm),
                    email,
                    display_name: name,
                    roles,
                    specialty,
                    password,
                })
                .await?;
            if json {
                return output::json(
                    &serde_json::json!({ "user": user, "generated_password": shown }),
                );
            }
            println!(
                "created {} {} ({})",
                user.id,
                user.email,
                user.roles.join(", ")
            );
            if let Some(password) = shown {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
        UserCommand::List { realm, json } => {
            let users = app.list_users(realm_of(&realm)).await?;
            if json {
                return output::json(&users);
            }
            let rows: Vec<Vec<String>> = users
                .iter()
                .map(|u| {
                    vec![
                        u.id.clone(),
                        u.email.clone(),
                        u.display_name.clone(),
                        u.roles.join(","),
                        u.specialty.clone().unwrap_or_default(),
                        u.status.clone(),
                    ]
                })
                .collect();
            output::table(
                &["id", "email", "name", "roles", "specialty", "status"],
                &rows,
            );
            Ok(())
        }
        UserCommand::SetRole {
            tenant,
            email,
            roles,
            specialty,
            json,
        } => {
            let user = app
                .set_user_roles(&tenant, &email, roles, specialty)
                .await?;
            if json {
                return output::json(&user);
            }
            println!("{} now has roles {}", user.email, user.roles.join(", "));
            Ok(())
        }
        UserCommand::ResetPassword {
            realm,
            email,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let shown = generated.then(|| password.expose().to_owned());
            app.reset_user_password(realm_of(&realm), &email, password)
                .await?;
            println!("password reset for {email}; its sessions are ended");
            if let Some(password) = shown {
                println!("password (shown once): {password}");
            }
            Ok(())
        }
    }
}

fn man(out: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let command = Cli::command();
    match out {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(command, &dir)?;
            println!("man pages written to {}", dir.display());
        }
        None => clap_mangen::Man::new(command).render(&mut std::io::stdout())?,
    }
    Ok(())
}

fn audit_realm(
    app: &App,
    args: &AuditRealmArgs,
) -> anyhow::Result<Option<tessera_domain::realm::Realm>> {
    use tessera_domain::realm::Realm;
    Ok(match (&args.tenant, args.group) {
        (Some(slug), _) => Some(
            app.tenants()
                .by_slug(slug)
                .with_context(|| format!("no tenant {slug:?}"))?
                .realm(),
        ),
        (None, true) => Some(Realm::Group),
        (None, false) => None,
    })
}

async fn audit(settings: Settings, command: AuditCommand) -> anyhow::Result<()> {
    let app = open_app(settings).await?;
    match command {
        AuditCommand::Verify { realm, json } => {
            let realms = audit_realm(&app, &realm)?.map(|r| vec![r]);
            let reports = app.verify_audit(realms).await?;
            if json {
                output::json(&reports)?;
            } else {
                for report in &reports {
                    match &report.broken {
                        None => {
                            println!("{}: {} entries, chain intact", report.name, report.entries)
                        }
                        Some(b) => println!(
                            "{}: BROKEN at entry {} ({}): {}",
                            report.name,
                            b.seq,
                            b.id.as_deref().unwrap_or("missing"),
                            b.reason
                        ),
                    }
                }
            }
            match reports.iter().find(|r| r.broken.is_some()) {
                Some(r) => {
                    let b = r.broken.as_ref().map(|b| {
                        (
                            b.seq,
                            b.id.clone().unwrap_or_else(|| "missing".into()),
                            b.reason.clone(),
                        )
                    });
                    let (seq, id, reason) = b.unwrap_or_default();
                    bail!(
                        "the audit chain of {} breaks at entry {seq} ({id}): {reason}",
                        r.name
                    )
                }
                None => Ok(()),
            }
        }
        AuditCommand::List {
            realm,
            action,
            limit,
            json,
        } => {
            let realm = audit_realm(&app, &realm)?.unwrap_or(tessera_domain::realm::Realm::Group);
            let filter = tessera_store::models::audit::AuditFilter {
                action,
                ..Default::default()
            };
            let entries = app
                .audit_entries(realm, filter, limit.clamp(1, 10_000))
                .await?;
            if json {
                return output::json(&entries);
            }
            let rows: Vec<Vec<String>> = entries
                .iter()
                .map(|e| {
                    vec![
                        e.seq.to_string(),
                        e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        e.action.clone(),
                        format!(
                            "{}:{}",
                            e.actor_kind,
                            e.actor_id.clone().unwrap_or_default()
                        ),
                        format!(
                            "{}:{}",
                            e.target_kind.clone().unwrap_or_default(),
                            e.target_id.clone().unwrap_or_default()
                        ),
                    ]
                })
                .collect();
            output::table(&["seq", "at", "action", "actor", "target"], &rows);
            Ok(())
        }
    }
}

async fn jobs(settings: Settings, command: JobsCommand) -> anyhow::Result<()> {
    use tessera_store::models::jobs::JobFilter;
    let app = open_app(settings).await?;
    let realm_key = |slug: &Option<String>| -> anyhow::Result<Option<String>> {
        match slug {
            Some(slug) => Ok(Some(
                app.tenants()
                    .by_slug(slug)
                    .with_context(|| format!("no tenant {slug:?}"))?
                    .id
                    .clone(),
            )),
            None => Ok(None),
        }
    };
    match command {
        JobsCommand::List {
            tenant,
            status,
            kind,
            limit,
            json,
        } => {
            let filter = JobFilter {
                realm: realm_key(&tenant)?,
                status,
                kind,
            };
            let list = app.list_jobs(filter, limit.clamp(1, 10_000)).await?;
            if json {
                return output::json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|j| {
                    vec![
                        j.id.clone(),
                        j.kind.clone(),
                        j.status.clone(),
                        format!("{}/{}", j.attempts, j.max_attempts),
                        j.run_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        j.last_error.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::table(
                &["id", "kind", "status", "attempts", "run at", "last error"],
                &rows,
            );
            Ok(())
        }
        JobsCommand::Show { id, json } => {
            let detail = app.show_job(id).await?;
            if json {
                return output::json(&detail);
            }
            let j = &detail.job;
            println!(
                "{} {} {} attempts {}/{}",
                j.id, j.kind, j.status, j.attempts, j.max_attempts
            );
            println!("payload {}", j.payload_json);
            for a in &detail.attempts {
                println!(
                    "  attempt {} by {}: {} {}",
                    a.attempt,
                    a.worker,
                    a.outcome.clone().unwrap_or_default(),
                    a.error.clone().unwrap_or_default()
                );
            }
            Ok(())
        }
        JobsCommand::Retry { id } => {
            app.retry_job(id.clone()).await?;
            println!("queued {id} again");
            Ok(())
        }
        JobsCommand::Cancel { id } => {
            app.cancel_job(id.clone()).await?;
            println!("cancelled {id}");
            Ok(())
        }
        JobsCommand::Enqueue {
            kind,
            payload,
            tenant,
            unique_key,
            max_attempts,
            count,
        } => {
            let payload: serde_json::Value =
                serde_json::from_str(&payload).context("--payload is not JSON")?;
            if !payload.is_object() {
                bail!("--payload must be a JSON object");
            }
            let realm = realm_key(&tenant)?
                .unwrap_or_else(|| tessera_domain::realm::GROUP_REALM_KEY.to_owned());
            let job = tessera_app::jobs::NewJob {
                kind,
                payload,
                unique_key,
                run_at: None,
                max_attempts,
            };
            let ids = app.enqueue_jobs(realm, job, count).await?;
            match (count, ids.first()) {
                (1, Some(id)) => println!("{id}"),
                (1, None) => println!("queued 0 job(s): a job with this unique key exists"),
                _ => println!("queued {} job(s)", ids.len()),
            }
            Ok(())
        }
    }
}

/// Reads a member CSV (header row; columns given_name, family_name, email, phone, birth_date, locale) into
/// numbered rows.
fn read_member_csv(
    path: &std::path::Path,
) -> anyhow::Result<Vec<(usize, tessera_app::members::MemberFields)>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (given, family) = match (column("given_name"), column("family_name")) {
        (Some(g), Some(f)) => (g, f),
        _ => anyhow::bail!("the header needs given_name and family_name columns"),
    };
    let (email, phone, birth, locale) = (
        column("email"),
        column("phone"),
        column("birth_date"),
        column("locale"),
    );
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.with_context(|| format!("line {line}"))?;
        let cell = |c: Option<usize>| {
            c.and_then(|c| record.get(c))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let birth_date = match cell(birth) {
            Some(d) => Some(
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                    .with_context(|| format!("line {line}: birth_date {d:?} is not YYYY-MM-DD"))?,
            ),
            None => None,
        };
        rows.push((
            line,
            tessera_app::members::MemberFields {
                email: cell(email),
                given_name: cell(Some(given)).unwrap_or_default(),
                family_name: cell(Some(family)).unwrap_or_default(),
                phone: cell(phone),
                birth_date,
                locale: cell(locale),
                ..Default::default()
            },
        ));
    }
    Ok(rows)
}

async fn billing(settings: Settings, command: BillingCommand) -> anyhow::Result<()> {
    // A run for another day runs as of that day: invoice dates, dunning days and reminders all follow it.
    let (day, slug) = match &command {
        BillingCommand::Run { date, tenant, .. } => (*date, tenant.clone()),
        BillingCommand::Reconcile { tenant } => (None, tenant.clone()),
    };
    let app = match day {
        Some(day) => {
            // The day is the brand's: shift the clock by its distance from the brand's today, not UTC's (they
            // differ around midnight).
            let time_zone = {
                let probe = open_app(settings.clone()).await?;
                let tenant = probe
                    .tenants()
                    .by_slug(&slug)
                    .ok_or_else(|| anyhow::anyhow!("no brand {slug:?}"))?;
                tenant.config.time_zone.clone()
            };
            let tz: chrono_tz::Tz = time_zone
                .parse()
                .map_err(|_| anyhow::anyhow!("the brand's time zone {time_zone:?} is unknown"))?;
            let offset = day - chrono::Utc::now().with_timezone(&tz).date_naive();
            let url = settings.database.url.expose_secret().to_owned();
            let states =
                tokio::task::spawn_blocking(move || tessera_store::migrate::status_at(&url))
                    .await??;
            if states.iter().any(|m| !m.applied) {
                bail!("the database has pending migrations: run `tessera migrate` first");
            }
            let clock = std::sync::Arc::new(tessera_domain::clock::OffsetClock(offset));
            App::start_with_clock(settings, clock).await?
        }
        None => open_app(settings).await?,
    };
    match command {
        BillingCommand::Run {
            tenant,
            date,
            dry_run,
            json,
        } => {
            let bar = progress_bar();
            let report = {
                let bar = bar.clone();
                let progress = move |step: &str, done: u64, _total: u64| {
                    if let Some(bar) = &bar {
                        bar.set_message(step.to_owned());
                        bar.set_position(done);
                    }
                };
                app.run_billing(&tenant, date, dry_run, &progress).await?
            };
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            if json {
                return output::json(&report);
            }
            let day = report.day.map(|d| d.to_string()).unwrap_or_default();
            if dry_run {
                println!(
                    "{tenant} {day} (dry run): {} invoices would be issued, {} in total",
                    report.invoiced, report.invoiced_amount
                );
            } else {
                println!(
                    "{tenant} {day}: {} invoiced ({} in total), {} charged ({} succeeded, {} failed, {} pending, {} unknown), {} reconciled, {} dunning changes, {} retries, {} reminders, {} expiring cards",
                    report.invoiced, report.invoiced_amount, report.charged, report.succeeded, report.failed,
                    report.pending, report.unknown, report.reconciled, report.dunning_changes, report.retries,
                    report.reminders, report.cards_expiring
                );
            }
            Ok(())
        }
        BillingCommand::Reconcile { tenant } => {
            let settled = app.reconcile_payments(&tenant).await?;
            println!("{tenant}: {settled} payments reconciled");
            Ok(())
        }
    }
}

/// A spinner with a count when standard output is a terminal; nothing otherwise (logs and pipes stay clean).
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg}: {pos}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}
