//! The durable job queue: exactly-once under several worker processes, retries with growing delays then dead,
//! a crashed worker's job run again after its lease, unique keys, and the operator's commands.

use std::time::Duration;

use tessera_tests::{cli, cli_ok, count, eventually, query_column, TestDb, Worker};

fn queue(db: &TestDb, args: &[&str]) -> String {
    let mut all = vec!["jobs", "enqueue"];
    all.extend_from_slice(args);
    cli_ok(&db.url, &all).trim().to_owned()
}

#[tokio::test]
async fn a_thousand_jobs_four_workers_two_processes_each_runs_once() {
    let db = TestDb::populated();
    assert!(queue(&db, &["diagnostic.noop", "--count", "1000"]).contains("queued 1000"));
    let env = [
        ("TESSERA_JOBS__WORKERS", "2"),
        ("TESSERA_JOBS__BATCH_SIZE", "16"),
    ];
    let first = Worker::spawn(&db.url, &env).await;
    let second = Worker::spawn(&db.url, &env).await;
    let done = eventually(Duration::from_secs(90), || {
        count(
            &db.url,
            "SELECT count(*) FROM jobs WHERE status = 'succeeded'",
        ) == 1000
    })
    .await;
    first.kill().await;
    second.kill().await;
    assert!(
        done,
        "{} succeeded",
        count(
            &db.url,
            "SELECT count(*) FROM jobs WHERE status = 'succeeded'"
        )
    );
    assert_eq!(
        count(&db.url, "SELECT count(*) FROM jobs WHERE attempts <> 1"),
        0,
        "every job was claimed once"
    );
    assert_eq!(
        count(&db.url, "SELECT count(*) FROM job_attempts"),
        1000,
        "one attempt each"
    );
    assert_eq!(
        count(
            &db.url,
            "SELECT count(*) FROM job_attempts WHERE outcome <> 'succeeded'"
        ),
        0
    );
    assert!(
        count(&db.url, "SELECT count(DISTINCT worker) FROM job_attempts") >= 2,
        "several workers took part"
    );
}

#[tokio::test]
async fn failures_are_retried_with_growing_delays_then_dead() {
    let db = TestDb::populated();
    let dead = queue(&db, &["diagnostic.fail", "--max-attempts", "3"]);
    let recovers = queue(
        &db,
        &["diagnostic.fail", "--payload", r#"{"succeed_on": 2}"#],
    );
    let unknown = queue(&db, &["no.such.kind"]);
    let worker = Worker::spawn(&db.url, &[]).await;
    let finished = eventually(Duration::from_secs(30), || {
        count(
            &db.url,
            "SELECT count(*) FROM jobs WHERE status IN ('dead', 'succeeded')",
        ) == 3
    })
    .await;
    worker.kill().await;
    assert!(finished);
    let status = |id: &str| {
        query_column(
            &db.url,
            &format!("SELECT status AS v FROM jobs WHERE id = '{id}'"),
        )[0]
        .clone()
        .unwrap()
    };
    assert_eq!(status(&dead), "dead");
    assert_eq!(status(&recovers), "succeeded");
    assert_eq!(status(&unknown), "dead", "an unknown kind is dead at once");
    assert_eq!(
        count(
            &db.url,
            &format!("SELECT count(*) FROM job_attempts WHERE job_id = '{unknown}'")
        ),
        1
    );
    // Three attempts, each later than the one before by a growing delay (300 ms, then 600 ms, less jitter).
    let out = cli_ok(&db.url, &["jobs", "show", &dead, "--json"]);
    let detail: serde_json::Value = serde_json::from_str(&out).unwrap();
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{detail}");
    assert!(attempts.iter().all(|a| a["outcome"] == "failed"));
    let start = |i: usize| {
        chrono::NaiveDateTime::parse_from_str(
            attempts[i]["started_at"].as_str().unwrap(),
            "%Y-%m-%dT%H:%M:%S%.f",
        )
        .unwrap()
    };
    let first_gap = (start(1) - start(0)).num_milliseconds();
    let second_gap = (start(2) - start(1)).num_milliseconds();
    assert!(first_gap >= 225, "{first_gap}");
    assert!(second_gap > first_gap, "{first_gap} then {second_gap}");
    assert!(detail["job"]["last_error"]
        .as_str()
        .unwrap()
        .contains("attempt 3"));

    // The operator queues it again; a queued job can be cancelled.
    cli_ok(&db.url, &["jobs", "retry", &dead]);
    assert_eq!(status(&dead), "queued");
    cli_ok(&db.url, &["jobs", "cancel", &dead]);
    assert_eq!(status(&dead), "cancelled");
    let out = cli(&db.url, &["jobs", "cancel", &dead], &[], None);
    assert_eq!(
        out.status.code(),
        Some(1),
        "only queued jobs can be cancelled"
    );
    let listed: serde_json::Value = serde_json::from_str(&cli_ok(
        &db.url,
        &["jobs", "list", "--status", "cancelled", "--json"],
    ))
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_crashed_workers_job_runs_again_after_its_lease() {
    let db = TestDb::populated();
    let job = queue(&db, &["diagnostic.sleep", "--payload", r#"{"ms": 3000}"#]);
    let env = [
        ("TESSERA_JOBS__LEASE_SECS", "2"),
        ("TESSERA_JOBS__WORKERS", "1"),
    ];
    let doomed = Worker::spawn(&db.url, &env).await;
    assert!(
        eventually(Duration::from_secs(10), || count(
            &db.url,
            &format!("SELECT count(*) FROM jobs WHERE id = '{job}' AND status = 'running'")
        ) == 1)
        .await
    );
    doomed.kill().await;
    let rescuer = Worker::spawn(&db.url, &env).await;
    let done = eventually(Duration::from_secs(20), || {
        count(
            &db.url,
            &format!("SELECT count(*) FROM jobs WHERE id = '{job}' AND status = 'succeeded'"),
        ) == 1
    })
    .await;
    rescuer.kill().await;
    assert!(done);
    assert_eq!(
        count(
            &db.url,
            &format!("SELECT attempts FROM jobs WHERE id = '{job}'")
        ),
        2
    );
    let outcomes = query_column(
        &db.url,
        &format!("SELECT outcome AS v FROM job_attempts WHERE job_id = '{job}' ORDER BY attempt"),
    );
    assert_eq!(
        outcomes,
        vec![
            Some("lease_expired".to_owned()),
            Some("succeeded".to_owned())
        ]
    );
}

#[test]
fn unique_keys_and_disabled_diagnostics() {
    let db = TestDb::populated();
    assert!(queue(
        &db,
        &["diagnostic.noop", "--unique-key", "nightly-2026-11-26"]
    )
    .starts_with("job_"));
    assert!(queue(
        &db,
        &["diagnostic.noop", "--unique-key", "nightly-2026-11-26"]
    )
    .contains("queued 0"));
    // The same key in another realm is another job.
    assert!(queue(
        &db,
        &[
            "diagnostic.noop",
            "--unique-key",
            "nightly-2026-11-26",
            "--tenant",
            "atlas"
        ]
    )
    .starts_with("job_"));
    let out = cli(
        &db.url,
        &["jobs", "enqueue", "diagnostic.noop"],
        &[("TESSERA_JOBS__ENABLE_DIAGNOSTIC_KINDS", "false")],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let out = cli(
        &db.url,
        &["jobs", "enqueue", "x", "--payload", "[1]"],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test]
async fn a_job_longer_than_its_lease_keeps_it_and_runs_once() {
    let db = TestDb::populated();
    // A 1 s lease and a 3.5 s job: without renewal, the other process would claim it again.
    let env = [
        ("TESSERA_JOBS__LEASE_SECS", "1"),
        ("TESSERA_JOBS__WORKERS", "2"),
    ];
    let id = queue(&db, &["diagnostic.sleep", "--payload", r#"{"ms": 3500}"#]);
    let id = id.split_whitespace().last().unwrap().to_owned();
    let first = Worker::spawn(&db.url, &env).await;
    let second = Worker::spawn(&db.url, &env).await;
    let done = eventually(Duration::from_secs(30), || {
        count(
            &db.url,
            "SELECT count(*) FROM jobs WHERE status = 'succeeded'",
        ) == 1
    })
    .await;
    // Leave the other worker time to (wrongly) claim it again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.kill().await;
    second.kill().await;
    assert!(done, "the job finished");
    let attempts = query_column(
        &db.url,
        "SELECT outcome AS v FROM job_attempts ORDER BY attempt",
    );
    assert_eq!(attempts, vec![Some("succeeded".to_owned())], "job {id}");
}

#[tokio::test]
async fn schedules_queue_each_run_once_in_the_tenant_time_zone() {
    let db = TestDb::populated();
    let env = [
        ("TESSERA_JOBS__DIAGNOSTIC_SCHEDULE", "*/1 * * * * *"),
        ("TESSERA_JOBS__SCHEDULE_POLL_SECS", "1"),
    ];
    let first = Worker::spawn(&db.url, &env).await;
    let second = Worker::spawn(&db.url, &env).await;
    let tenants = count(&db.url, "SELECT count(*) FROM tenants");
    let ticked = eventually(Duration::from_secs(30), || {
        count(
            &db.url,
            "SELECT count(*) FROM jobs WHERE unique_key LIKE 'schedule:diagnostic.tick:%' AND status = 'succeeded'",
        ) >= 3 * tenants
    })
    .await;
    first.kill().await;
    second.kill().await;
    assert!(ticked, "each tenant's schedule ran several times");
    // Two schedulers, yet every run was queued once (one job per schedule and instant).
    assert_eq!(
        count(
            &db.url,
            "SELECT count(*) FROM (SELECT tenant_id, unique_key FROM jobs WHERE unique_key LIKE 'schedule:%' \
             GROUP BY tenant_id, unique_key HAVING count(*) > 1) AS twice",
        ),
        0
    );
    // Every tenant has its schedules, read in its own zone.
    let zones = query_column(
        &db.url,
        "SELECT s.time_zone AS v FROM schedules s JOIN tenants t ON t.id = s.tenant_id \
         WHERE t.slug = 'atlas' AND s.name = 'maintenance.prune'",
    );
    assert_eq!(zones, vec![Some("Europe/Paris".to_owned())]);
    // The operator's view.
    let listed: serde_json::Value =
        serde_json::from_str(&cli_ok(&db.url, &["schedules", "--json"])).unwrap();
    let prune: Vec<&serde_json::Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "maintenance.prune")
        .collect();
    assert_eq!(prune.len() as i64, tenants);
    assert!(prune
        .iter()
        .all(|s| s["cron"] == "0 15 3 * * *" && s["next_run_at"].is_string()));
    assert_eq!(
        count(
            &db.url,
            "SELECT count(*) FROM schedules WHERE name = 'diagnostic.tick' AND last_run_at IS NOT NULL"
        ),
        tenants
    );
}

#[tokio::test]
async fn the_daily_prune_removes_old_orphaned_objects_only() {
    let app = tessera_tests::TestApp::spawn().await;
    let admin = app.token("atlas", "admin").await;
    let live_id = app
        .upload_file(
            "atlas",
            &admin,
            "purpose=document",
            "text/plain",
            b"a live file".to_vec(),
        )
        .await;
    let atlas = query_column(
        &app.db.url,
        "SELECT id AS v FROM tenants WHERE slug = 'atlas'",
    )[0]
    .clone()
    .unwrap();
    let folder =
        tessera_tests::files_dir_for(&app.db.url).join(format!("tenants/{atlas}/document"));
    // An orphan from two days ago (its id's time says so) and one from now, which may be an upload in flight.
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
    let old = format!(
        "fil_{}",
        ulid::Ulid::from_datetime(two_days_ago)
            .to_string()
            .to_lowercase()
    );
    let fresh = format!("fil_{}", ulid::Ulid::new().to_string().to_lowercase());
    std::fs::write(folder.join(&old), "orphan").unwrap();
    std::fs::write(folder.join(&fresh), "in flight").unwrap();
    queue(&app.db, &["maintenance.prune", "--tenant", "atlas"]);
    let done = eventually(Duration::from_secs(20), || {
        count(
            &app.db.url,
            "SELECT count(*) FROM jobs WHERE kind = 'maintenance.prune' AND status = 'succeeded'",
        ) == 1
    })
    .await;
    assert!(done, "{}", app.log());
    assert!(!folder.join(&old).exists(), "the old orphan is gone");
    assert!(folder.join(&fresh).exists(), "a fresh object is left alone");
    assert!(folder.join(&live_id).exists(), "a live file is kept");
}

#[tokio::test]
async fn a_brand_sees_and_retries_its_own_failed_jobs_never_their_input() {
    let app = tessera_tests::TestApp::spawn().await;
    // A job of Atlas that dies at once (no handler for its kind), with something private in its input.
    let dead = cli_ok(
        &app.db.url,
        &[
            "jobs",
            "enqueue",
            "--tenant",
            "atlas",
            "no.such.kind",
            "--payload",
            r#"{"email": "private@example.test"}"#,
        ],
    )
    .trim()
    .to_owned();
    let dead = dead.split_whitespace().last().unwrap().to_owned();
    let status = |id: &str| {
        query_column(
            &app.db.url,
            &format!("SELECT status AS v FROM jobs WHERE id = '{id}'"),
        )[0]
        .clone()
    };
    assert!(
        eventually(Duration::from_secs(30), || status(&dead).as_deref()
            == Some("dead"))
        .await,
        "the server's workers run it: {:?}",
        status(&dead)
    );
    let admin = app.token("atlas", "admin").await;
    let (code, page) = app
        .get_json(Some("atlas"), "/api/v1/jobs?status=dead", &admin)
        .await;
    assert_eq!(code, 200, "{page}");
    let listed = page["data"].as_array().unwrap();
    let job = listed.iter().find(|j| j["id"] == dead.as_str()).unwrap();
    assert_eq!(
        (&job["kind"], &job["status"]),
        (
            &serde_json::json!("no.such.kind"),
            &serde_json::json!("dead")
        )
    );
    assert!(
        job["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{job}"
    );
    assert!(
        !page.to_string().contains("private@example.test") && job.get("payload").is_none(),
        "never the input: {page}"
    );
    assert!(listed.iter().all(|j| j["status"] == "dead"));
    // Other brands and roles: not found, forbidden.
    let lumiere = app.token("lumiere", "admin").await;
    let (_, theirs) = app
        .get_json(Some("lumiere"), "/api/v1/jobs", &lumiere)
        .await;
    assert!(
        !theirs["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["id"] == dead.as_str()),
        "{theirs}"
    );
    let retry_path = format!("/api/v1/jobs/{dead}/retry");
    let (code, problem) = app
        .post_json(
            Some("lumiere"),
            &retry_path,
            Some(&lumiere),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(code, 404, "{problem}");
    let staff = app.token("atlas", "staff").await;
    assert_eq!(
        app.get_status(Some("atlas"), "/api/v1/jobs", &staff).await,
        403
    );
    let (code, problem) = app
        .get_json(Some("atlas"), "/api/v1/jobs?status=broken", &admin)
        .await;
    assert_eq!(
        (code, problem["code"].as_str()),
        (422, Some("validation_failed")),
        "{problem}"
    );
    assert_eq!(
        status(&dead).as_deref(),
        Some("dead"),
        "refusals change nothing"
    );

    // The admin retries it: queued again with a fresh attempt, audited; it dies again (still no handler).
    let (code, retried) = app
        .post_json(
            Some("atlas"),
            &retry_path,
            Some(&admin),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(code, 200, "{retried}");
    assert_eq!(retried["id"], dead.as_str());
    assert!(
        eventually(Duration::from_secs(30), || count(
            &app.db.url,
            &format!("SELECT count(*) FROM job_attempts WHERE job_id = '{dead}'")
        ) == 2)
        .await
    );
    assert!(
        eventually(Duration::from_secs(30), || status(&dead).as_deref()
            == Some("dead"))
        .await
    );
    assert_eq!(
        count(
            &app.db.url,
            &format!("SELECT count(*) FROM audit_log WHERE action = 'job.retried' AND target_id = '{dead}'")
        ),
        1
    );
    // A job that is not dead or cancelled cannot be retried.
    let done = cli_ok(
        &app.db.url,
        &["jobs", "enqueue", "--tenant", "atlas", "diagnostic.noop"],
    );
    let done = done.split_whitespace().last().unwrap().to_owned();
    assert!(
        eventually(Duration::from_secs(30), || status(&done).as_deref()
            == Some("succeeded"))
        .await
    );
    let (code, problem) = app
        .post_json(
            Some("atlas"),
            &format!("/api/v1/jobs/{done}/retry"),
            Some(&admin),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(
        (code, problem["code"].as_str()),
        (409, Some("job_not_retryable")),
        "{problem}"
    );
}
