//! `tessera demo` seeds the gym brand's schedule: a location with two rooms, three services, pros' hours and
//! weekly classes with sessions, members' class bookings their plans cover, the club's door, kiosk and body
//! analyser with a card and a first pass for each member; a second run adds nothing.

use std::process::Stdio;
use std::time::Duration;

use tessera_tests::{base_env, count, repo_root, tessera_bin, TestDb};
use tokio::io::{AsyncBufReadExt, BufReader};

async fn run_demo_until_listening(db: &TestDb, data_dir: &std::path::Path) {
    let mut command = tokio::process::Command::new(tessera_bin());
    command
        .args(["demo", "--data-dir"])
        .arg(data_dir)
        .args(["--listen", "127.0.0.1:0"])
        .env("TESSERA_DATABASE_URL", &db.url)
        .env_remove("TESSERA_CONFIG")
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in base_env() {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let (banner, port) = tokio::time::timeout(Duration::from_secs(60), async {
        let mut banner = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(address) = line.strip_prefix("listening on http://") {
                let port = address.rsplit_once(':').unwrap().1.to_owned();
                return (banner, port);
            }
            banner.push(line);
        }
        panic!("tessera demo exited before listening");
    })
    .await
    .expect("tessera demo did not start in 60 s");
    child.kill().await.unwrap();
    // The banner names the port it listens on, also when the system picked it.
    assert_ne!(port, "0");
    for expected in [
        format!("http://atlas.localhost:{port}"),
        format!("API docs: http://localhost:{port}/api/docs"),
    ] {
        assert!(
            banner.iter().any(|line| line.contains(&expected)),
            "{expected} in {banner:#?}"
        );
    }
}

fn atlas_count(db: &TestDb, table: &str) -> i64 {
    count(
        &db.url,
        &format!("SELECT count(*) FROM {table} x JOIN tenants t ON t.id = x.tenant_id WHERE t.slug = 'atlas'"),
    )
}

#[tokio::test]
async fn scheduling_demo_seeds_the_gym_schedule_once() {
    let db = TestDb::empty();
    let dir = tempfile::tempdir().unwrap();
    run_demo_until_listening(&db, dir.path()).await;
    let seeded = [
        atlas_count(&db, "locations"),
        atlas_count(&db, "rooms"),
        atlas_count(&db, "services"),
        atlas_count(&db, "class_schedules"),
    ];
    assert_eq!(seeded, [1, 2, 3, 5]);
    assert!(
        atlas_count(&db, "pro_hours") >= 15,
        "weekday hours for each pro"
    );
    let sessions = atlas_count(&db, "class_sessions");
    assert!(
        sessions >= 20,
        "four weeks of five weekly classes: {sessions}"
    );
    // The club's devices, paired through pairing codes; a card for each demo member and their first pass.
    assert_eq!(atlas_count(&db, "devices"), 3);
    let cards = atlas_count(&db, "access_credentials");
    assert!(cards >= 5, "{cards} cards");
    assert_eq!(atlas_count(&db, "access_events"), cards);
    let decisions = |decision: &str| {
        count(
            &db.url,
            &format!(
                "SELECT count(*) FROM access_events x JOIN tenants t ON t.id = x.tenant_id \
                WHERE t.slug = 'atlas' AND x.decision = '{decision}'"
            ),
        )
    };
    assert!(
        decisions("allow") > 0 && decisions("deny") > 0,
        "the feed shows both"
    );
    run_demo_until_listening(&db, dir.path()).await;
    assert_eq!(atlas_count(&db, "locations"), 1);
    assert_eq!(atlas_count(&db, "class_sessions"), sessions);
    assert_eq!(
        [
            atlas_count(&db, "devices"),
            atlas_count(&db, "access_events")
        ],
        [3, cards]
    );
}
