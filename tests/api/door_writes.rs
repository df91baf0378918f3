//! Door decisions are answered before they are written (docs/devices.md, "Deciding, then writing"): doors get their
//! answers while the database's writes wait, a stopping server writes every answered check before it exits, and
//! two servers on one database that both let in the same member or the same rotating code record both entries,
//! the second flagged for staff, even when the other server's write was still under way when this one read.

use chrono::Utc;
use serde_json::{json, Value};
use tessera_tests::{count, eventually, query_column, TestApp, WriteHold};

use crate::devices::{
    app_key, location, member_with_card, membership, pair, plan, reason, rotating, tenant_id,
    written, Door,
};

async fn check(app: &TestApp, door: &Door, credential: Value) -> (u16, Value) {
    pass(app, door, credential, "in").await
}

/// Asks `door` to let `credential` through in `direction` (`in` or `out`).
async fn pass(app: &TestApp, door: &Door, credential: Value, direction: &str) -> (u16, Value) {
    app.post_json(
        Some("atlas"),
        "/api/v1/access/check",
        Some(&door.token),
        &json!({"credential": credential, "direction": direction}),
    )
    .await
}

/// A hall of atlas with an anti-passback door (`guarded`) and a door without (`open`), and members (id, card)
/// with a membership of an unlimited plan.
struct Hall {
    id: String,
    guarded: Door,
    open: Door,
    members: Vec<(String, String)>,
    plan: String,
}

impl Hall {
    async fn new(app: &TestApp, plan_name: &str, given_names: &[&str]) -> Hall {
        let id = location(app, "atlas", "Hall", "Europe/Paris").await;
        let guarded = pair(app, "atlas", json!({"kind": "door", "location_id": id})).await;
        let open = pair(
            app,
            "atlas",
            json!({"kind": "door", "location_id": id, "anti_passback": false}),
        )
        .await;
        let plan = plan(app, plan_name, json!({})).await;
        let mut members = Vec::new();
        for given in given_names {
            let (member, card) = member_with_card(app, "atlas", given).await;
            membership(app, &member, &plan).await;
            members.push((member, card));
        }
        Hall {
            id,
            guarded,
            open,
            members,
            plan,
        }
    }
}

#[tokio::test]
async fn doors_are_answered_while_writes_wait_and_a_stopping_server_writes_what_it_answered() {
    let mut app = TestApp::spawn().await;
    let hall = location(&app, "atlas", "Hall", "Europe/Paris").await;
    let door = pair(&app, "atlas", json!({"kind": "door", "location_id": hall})).await;
    let unlimited = plan(&app, "held-door", json!({})).await;
    let mut expected = Vec::new();
    for i in 0..6 {
        let (member, card) = member_with_card(&app, "atlas", &format!("Held{i}")).await;
        membership(&app, &member, &unlimited).await;
        expected.push((card, "allow"));
    }
    for i in 0..6 {
        expected.push((format!("99999999998{i}"), "deny"));
    }
    let staff = app.token("atlas", "staff").await;
    written(&app, &staff).await;
    let url = app.db.url.clone();
    let before = count(&url, "SELECT COUNT(*) AS n FROM access_events");
    let inside_before = count(&url, "SELECT COUNT(*) AS n FROM access_presence");

    let hold = WriteHold::take(&url, "access_events");
    let answers = futures::future::join_all(
        expected
            .iter()
            .map(|(card, _)| check(&app, &door, json!({"type": "barcode", "value": card}))),
    )
    .await;
    for ((_, decision), (status, body)) in expected.iter().zip(&answers) {
        assert_eq!(
            (*status, body["decision"].as_str()),
            (200, Some(*decision)),
            "{body}"
        );
        assert!(body["event_id"].is_string(), "{body}");
    }
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM access_events"),
        before,
        "the doors were answered while nothing could be written"
    );

    // Stop the server while its writes still wait; let them through a moment later.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(800));
        hold.release();
    });
    let status = app.terminate().await;
    releaser.join().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM access_events"),
        before + 12,
        "every answered check is in the log"
    );
    for (_, body) in &answers {
        let id = body["event_id"].as_str().unwrap();
        assert_eq!(
            count(
                &url,
                &format!("SELECT COUNT(*) AS n FROM access_events WHERE id = '{id}'")
            ),
            1,
            "the answer's event id is the recorded one"
        );
    }
    assert_eq!(
        count(&url, "SELECT COUNT(*) AS n FROM access_presence") - inside_before,
        6,
        "everyone let in is inside"
    );
    assert_eq!(
        count(
            &url,
            "SELECT COUNT(*) AS n FROM events WHERE event_type IN ('access.checked_in', 'access.denied')"
        ),
        before + 12,
        "and each has its live event"
    );
}

#[tokio::test]
async fn two_servers_letting_in_the_same_member_or_code_record_both_and_flag_the_second() {
    let app = TestApp::spawn().await;
    let app2 = TestApp::spawn_on(app.db.shared(), &[]).await;
    let names: Vec<String> = (0..5).map(|i| format!("Twin{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let Hall {
        guarded,
        open,
        members,
        plan: unlimited,
        ..
    } = Hall::new(&app, "two-servers", &names).await;
    let (owner, credential, key) = app_key(&app).await;
    membership(&app, &owner, &unlimited).await;
    let tenant = tenant_id(&app, "atlas");
    let now = Utc::now().timestamp();
    let codes: Vec<String> = (0..5)
        .map(|k| rotating(&key, &tenant, &credential, now - k))
        .collect();
    let url = app.db.url.clone();
    let url = url.as_str();
    let before = count(url, "SELECT COUNT(*) AS n FROM access_events");

    // Each card at the anti-passback door and each code at the open door, on both servers at once.
    let mut asks = Vec::new();
    for (_, card) in &members {
        for server in [&app, &app2] {
            asks.push(check(
                server,
                &guarded,
                json!({"type": "barcode", "value": card}),
            ));
        }
    }
    for code in &codes {
        for server in [&app, &app2] {
            asks.push(check(server, &open, json!({"type": "qr", "value": code})));
        }
    }
    let answers = futures::future::join_all(asks).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        match body["decision"].as_str() {
            Some("allow") => {}
            _ => assert!(
                matches!(reason(body), Some("anti_passback" | "credential_replayed")),
                "{body}"
            ),
        }
    }
    let staff = app.token("atlas", "staff").await;
    written(&app, &staff).await;
    let staff2 = app2.token("atlas", "staff").await;
    written(&app2, &staff2).await;

    assert_eq!(
        count(url, "SELECT COUNT(*) AS n FROM access_events") - before,
        20,
        "every answered check is recorded, on either server"
    );
    for (member, _) in &members {
        let entries = |flagged: bool| {
            count(
                url,
                &format!(
                    "SELECT COUNT(*) AS n FROM access_events WHERE member_id = '{member}' \
                     AND decision = 'allow' AND flagged = {flagged}"
                ),
            )
        };
        assert_eq!(entries(false), 1, "one entry of {member} stands");
        if entries(true) == 1 {
            assert_eq!(
                count(
                    url,
                    &format!(
                        "SELECT COUNT(*) AS n FROM access_events WHERE member_id = '{member}' \
                         AND flag_reason = 'anti_passback'"
                    )
                ),
                1
            );
        }
        assert_eq!(
            count(
                url,
                &format!("SELECT COUNT(*) AS n FROM access_presence WHERE member_id = '{member}'")
            ),
            1
        );
    }
    for code in &codes {
        let at: i64 = code.split('.').nth(2).unwrap().parse().unwrap();
        assert_eq!(
            count(
                url,
                &format!(
                    "SELECT COUNT(*) AS n FROM access_qr_uses WHERE credential_id = '{credential}' \
                     AND issued_at = {at}"
                )
            ),
            1,
            "a code is used once"
        );
    }
    let allowed_codes = |flagged: bool| {
        count(
            url,
            &format!(
                "SELECT COUNT(*) AS n FROM access_events WHERE credential_id = '{credential}' \
                 AND decision = 'allow' AND flagged = {flagged}"
            ),
        )
    };
    assert_eq!(allowed_codes(false), 5, "each code opens once unflagged");
    let flagged_codes = allowed_codes(true);
    assert_eq!(
        count(
            url,
            &format!(
                "SELECT COUNT(*) AS n FROM access_events WHERE credential_id = '{credential}' \
                 AND flag_reason = 'credential_replayed'"
            )
        ),
        flagged_codes
    );
    // Every flagged entry is also announced to staff.
    let flagged_all = count(
        url,
        "SELECT COUNT(*) AS n FROM access_events WHERE flagged = TRUE AND source = 'online'",
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) AS n FROM events WHERE event_type = 'access.flagged'"
        ),
        flagged_all
    );
}

/// Another process's transaction on the server's database (another server's, say): the rows it writes hold their
/// keys, unseen by the server, until it commits.
enum Elsewhere {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection, String),
}

impl Elsewhere {
    /// Begins writing (on SQLite taking the write lock, as any writer does there).
    fn begin(url: &str) -> Elsewhere {
        use diesel::RunQueryDsl;
        /// The transaction's id, which a statement waiting for it names in `pg_locks`.
        #[derive(diesel::QueryableByName)]
        struct Xid {
            #[diesel(sql_type = diesel::sql_types::Text)]
            v: String,
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            let mut conn = tessera_tests::sqlite_connect(path);
            diesel::sql_query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .unwrap();
            Elsewhere::Sqlite(conn)
        } else {
            let mut conn = tessera_tests::pg_connect(url);
            diesel::sql_query("BEGIN").execute(&mut conn).unwrap();
            let xid: Vec<Xid> = diesel::sql_query("SELECT pg_current_xact_id()::text AS v")
                .load(&mut conn)
                .unwrap();
            Elsewhere::Postgres(conn, xid[0].v.clone())
        }
    }

    /// Runs one statement inside the transaction.
    fn run(&mut self, sql: &str) {
        use diesel::RunQueryDsl;
        match self {
            Elsewhere::Sqlite(conn) => diesel::sql_query(sql).execute(conn),
            Elsewhere::Postgres(conn, _) => diesel::sql_query(sql).execute(conn),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Waits until a server's statement waits for this transaction (PostgreSQL).
    fn awaited(&self, url: &str) {
        let Elsewhere::Postgres(_, xid) = self else {
            return;
        };
        wait_for_a_waiter(
            url,
            &format!("locktype = 'transactionid' AND transactionid::text = '{xid}'"),
        );
    }

    /// Commits: what it wrote becomes visible, and its keys refuse the server's writes of the same rows.
    fn commit(mut self) {
        self.run("COMMIT");
    }
}

/// Waits (up to 20 s) until a lock matching `lock` is waited for in this test's database. (Test databases are
/// copies of one template: another test's tables have the same ids.)
fn wait_for_a_waiter(url: &str, lock: &str) {
    let sql = format!(
        "SELECT COUNT(*) FROM pg_locks WHERE NOT granted AND {lock} \
         AND (database IS NULL OR database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
    );
    for _ in 0..1000 {
        if count(url, &sql) > 0 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("nothing waited for {lock}");
}

#[tokio::test]
async fn entries_another_process_was_still_writing_are_flagged_not_merged() {
    let app = TestApp::spawn().await;
    let Hall {
        id: hall,
        guarded,
        open,
        members,
        plan: unlimited,
    } = Hall::new(&app, "elsewhere", &["First", "Second", "Earlier"]).await;
    let (owner, credential, key) = app_key(&app).await;
    membership(&app, &owner, &unlimited).await;
    let tenant = tenant_id(&app, "atlas");
    let issued = Utc::now().timestamp();
    let code = rotating(&key, &tenant, &credential, issued);
    let staff = app.token("atlas", "staff").await;
    written(&app, &staff).await;
    let url = app.db.url.clone();
    let url = url.as_str();
    let postgres = url.starts_with("postgres");
    let at = Utc::now().naive_utc().format("%Y-%m-%d %H:%M:%S%.6f");
    let presence = |member: &str| {
        format!(
            "INSERT INTO access_presence (tenant_id, location_id, member_id, entered_at, device_id) \
             VALUES ('{tenant}', '{hall}', '{member}', '{at}', '{}')",
            guarded.id
        )
    };

    // Another server lets in the first member and uses the code, and (on PostgreSQL, in a second transaction
    // committed later) lets in the second member. SQLite has one writer: there, one transaction holds all three.
    let mut first = Elsewhere::begin(url);
    first.run(&presence(&members[0].0));
    first.run(&format!(
        "INSERT INTO access_qr_uses (tenant_id, credential_id, issued_at, device_id, used_at) \
         VALUES ('{tenant}', '{credential}', {issued}, '{}', '{at}')",
        open.id
    ));
    let second = postgres.then(|| {
        let mut second = Elsewhere::begin(url);
        second.run(&presence(&members[1].0));
        second
    });
    if !postgres {
        first.run(&presence(&members[1].0));
    }

    // On PostgreSQL the three entries below are made to form one run: an earlier entry's run waits first.
    let hold = postgres.then(|| WriteHold::take(url, "access_events"));
    if postgres {
        let (status, body) = check(
            &app,
            &guarded,
            json!({"type": "barcode", "value": members[2].1}),
        )
        .await;
        assert_eq!(
            (status, body["decision"].as_str()),
            (200, Some("allow")),
            "{body}"
        );
        wait_for_a_waiter(url, "relation = 'access_events'::regclass");
    }
    let answers = futures::future::join_all([
        check(
            &app,
            &guarded,
            json!({"type": "barcode", "value": members[0].1}),
        ),
        check(&app, &open, json!({"type": "qr", "value": code})),
        check(
            &app,
            &guarded,
            json!({"type": "barcode", "value": members[1].1}),
        ),
    ])
    .await;
    for (status, body) in &answers {
        assert_eq!(
            (*status, body["decision"].as_str()),
            (200, Some("allow")),
            "{body}"
        );
    }
    if let Some(hold) = hold {
        hold.release();
    }
    // The run waits for the first transaction's code, is refused when it commits, and is written carefully; on
    // PostgreSQL that careful run reads before the second transaction commits, and waits for its presence.
    first.awaited(url);
    first.commit();
    if let Some(second) = second {
        second.awaited(url);
        second.commit();
    }
    written(&app, &staff).await;

    for (member, _) in &members[..2] {
        assert_eq!(
            query_column(
                url,
                &format!(
                    "SELECT CAST(flagged AS TEXT) || ' ' || COALESCE(flag_reason, '-') AS v \
                     FROM access_events WHERE member_id = '{member}' AND decision = 'allow'"
                )
            ),
            [Some(format!(
                "{} anti_passback",
                if postgres { "true" } else { "1" }
            ))],
            "{member}'s entry is flagged, not merged into the other server's"
        );
        assert_eq!(
            count(
                url,
                &format!("SELECT COUNT(*) FROM access_presence WHERE member_id = '{member}'")
            ),
            1
        );
    }
    assert_eq!(
        count(
            url,
            &format!(
                "SELECT COUNT(*) FROM access_events WHERE credential_id = '{credential}' \
                 AND flag_reason = 'credential_replayed'"
            )
        ),
        1,
        "the code's entry is flagged"
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) FROM events WHERE event_type = 'access.flagged'"
        ),
        3
    );
}

/// Passes `passages` (member index, direction) through `hall`'s anti-passback door so that the server writes them
/// as one run, then lets another process run `elsewhere` (given the time it runs at) and commit before that run is
/// written. `app` is spawned with [`DESK_LOG`].
async fn in_one_run(
    app: &TestApp,
    hall: &Hall,
    holder: (usize, &str),
    passages: &[(usize, &str)],
    elsewhere: impl FnOnce(&str) -> Vec<String>,
) {
    let url = app.db.url.as_str();
    let postgres = url.starts_with("postgres");
    let card = |i: usize| json!({"type": "barcode", "value": hall.members[i].1});
    // Writes wait (SQLite: the other process's transaction holds the one write lock) while the holder's passage
    // is written first, so the passages after it are written as one run. The outcome depends on it: an exit that
    // is the last passage of its run ends the member's presence whatever its time (docs/devices.md).
    let hold = postgres.then(|| WriteHold::take(url, "access_events"));
    let mut other = (!postgres).then(|| Elsewhere::begin(url));
    let runs_before = writer_runs(app);
    let (status, body) = pass(app, &hall.guarded, card(holder.0), holder.1).await;
    assert_eq!(
        (status, body["decision"].as_str()),
        (200, Some("allow")),
        "{body}"
    );
    if postgres {
        wait_for_a_waiter(url, "relation = 'access_events'::regclass");
    } else {
        // SQLite shows no waiter, but the writer logs each run it has taken before it waits for the write lock:
        // once the holder's run is taken, the passages after it wait for the next run.
        let taken = eventually(std::time::Duration::from_secs(10), || {
            writer_runs(app) > runs_before
        })
        .await;
        assert!(
            taken,
            "the writer did not take the holder's run within 10 s"
        );
    }
    for (i, direction) in passages {
        let (status, body) = pass(app, &hall.guarded, card(*i), direction).await;
        assert_eq!(
            (status, body["decision"].as_str()),
            (200, Some("allow")),
            "{i} {direction}: {body}"
        );
    }
    let mut other = other.take().unwrap_or_else(|| Elsewhere::begin(url));
    let now = Utc::now()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string();
    for statement in elsewhere(&now) {
        other.run(&statement);
    }
    other.commit();
    if let Some(hold) = hold {
        hold.release();
    }
    let staff = app.token("atlas", "staff").await;
    written(app, &staff).await;
}

/// The runs the door writer of `app` has taken so far, from its log (a server spawned with [`DESK_LOG`]).
fn writer_runs(app: &TestApp) -> usize {
    app.log().matches("door records written together").count()
}

/// The log filter that shows the door desk's runs ([`writer_runs`]).
const DESK_LOG: (&str, &str) = (
    "TESSERA_LOG__FILTER",
    "info,tower_http=warn,tessera_app::access::desk=debug",
);

/// Members go out and come back in through the anti-passback door while their records wait to be written:
/// - `Back` went out and came back: nothing contradicts their re-entry, though the run is written carefully (for
///   `Crossed`) and finds their presence from before the exit;
/// - `Crossed` went out, was let in by another server through its door without anti-passback, and came back here:
///   the re-entry is flagged, not merged into the other server's entry;
/// - `Gone` went out, and another server moved their presence after the exit: the exit, their last passage, ends it;
/// - `Twice` came in, went out and came back in, while another server had let them in before that first entry
///   (unseen when it was decided): the first entry is flagged, the re-entry not.
#[tokio::test]
async fn members_who_go_out_and_come_back_within_one_run_are_flagged_only_if_let_in_elsewhere_meanwhile(
) {
    let app = TestApp::spawn_with(&[DESK_LOG]).await;
    let hall = Hall::new(
        &app,
        "in-and-out",
        &["Back", "Crossed", "Gone", "Twice", "Holder"],
    )
    .await;
    let (back, crossed, gone, twice, holder) = (0, 1, 2, 3, 4);
    let staff = app.token("atlas", "staff").await;
    let url = app.db.url.clone();
    let url = url.as_str();
    let postgres = url.starts_with("postgres");
    let id = |i: usize| hall.members[i].0.clone();
    for i in [back, crossed, gone] {
        let card = json!({"type": "barcode", "value": hall.members[i].1});
        let (status, body) = check(&app, &hall.guarded, card).await;
        assert_eq!((status, body["decision"].as_str()), (200, Some("allow")));
    }
    written(&app, &staff).await;

    // A careful run: `Crossed`'s re-entry is refused by the other server's presence.
    let moved_after_exit = |member: String, door: &str| {
        let door = door.to_owned();
        move |now: &str| {
            vec![format!(
                "UPDATE access_presence SET entered_at = '{now}', device_id = '{door}' WHERE member_id = '{member}'"
            )]
        }
    };
    let (crossed_id, gone_id, open) = (id(crossed), id(gone), hall.open.id.clone());
    in_one_run(
        &app,
        &hall,
        (holder, "in"),
        &[
            (back, "out"),
            (crossed, "out"),
            (gone, "out"),
            (back, "in"),
            (crossed, "in"),
        ],
        move |now| {
            let mut statements = moved_after_exit(crossed_id, &open)(now);
            statements.extend(moved_after_exit(gone_id, &open)(now));
            statements
        },
    )
    .await;

    // A plain run: nothing refuses `Twice`'s re-entry, but the first entry must still be weighed.
    let before_first_entry = Utc::now()
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string();
    let (twice_id, tenant, hall_id) = (id(twice), tenant_id(&app, "atlas"), hall.id.clone());
    let open = hall.open.id.clone();
    in_one_run(
        &app,
        &hall,
        (holder, "out"),
        &[(twice, "in"), (twice, "out"), (twice, "in")],
        move |_| {
            vec![format!(
                "INSERT INTO access_presence (tenant_id, location_id, member_id, entered_at, device_id) \
                 VALUES ('{tenant}', '{hall_id}', '{twice_id}', '{before_first_entry}', '{open}')"
            )]
        },
    )
    .await;

    let entries = |i: usize| {
        query_column(
            url,
            &format!(
                "SELECT CAST(flagged AS TEXT) || ' ' || COALESCE(flag_reason, '-') AS v FROM access_events \
                 WHERE member_id = '{}' AND decision = 'allow' AND direction = 'in' ORDER BY occurred_at",
                id(i)
            ),
        )
    };
    let (yes, no) = if postgres {
        ("true", "false")
    } else {
        ("1", "0")
    };
    let (clear, passed_back) = (
        Some(format!("{no} -")),
        Some(format!("{yes} anti_passback")),
    );
    assert_eq!(
        entries(back),
        [clear.clone(), clear.clone()],
        "nothing contradicts Back's re-entry"
    );
    assert_eq!(
        entries(crossed),
        [clear.clone(), passed_back.clone()],
        "Crossed's re-entry is flagged, not merged into the other server's entry"
    );
    assert_eq!(
        entries(twice),
        [passed_back, clear],
        "Twice's first entry is weighed against the other server's, their re-entry is not"
    );
    // Those inside entered last through this server's door, at their last entry's time; `Gone` is out.
    for i in [back, crossed, twice] {
        assert_eq!(
            count(
                url,
                &format!(
                    "SELECT COUNT(*) FROM access_presence WHERE member_id = '{member}' AND device_id = '{door}' \
                     AND entered_at = (SELECT MAX(occurred_at) FROM access_events \
                     WHERE member_id = '{member}' AND direction = 'in')",
                    member = id(i),
                    door = hall.guarded.id
                )
            ),
            1,
            "{} is inside since their last entry here",
            hall.members[i].0
        );
    }
    assert_eq!(
        count(
            url,
            &format!(
                "SELECT COUNT(*) FROM access_presence WHERE member_id = '{}'",
                id(gone)
            )
        ),
        0,
        "Gone's exit ended their presence"
    );
    assert_eq!(
        count(
            url,
            "SELECT COUNT(*) FROM events WHERE event_type = 'access.flagged'"
        ),
        2
    );
}

/// A door whose clock runs a day ahead uploads an entry it let through offline: the entry keeps the door's time,
/// but the member counts as inside from the upload, not from a moment still to come.
#[tokio::test]
async fn an_offline_entry_stamped_ahead_of_the_servers_clock_counts_the_member_inside_from_now() {
    let app = TestApp::spawn().await;
    let Hall {
        guarded, members, ..
    } = Hall::new(&app, "clock-ahead", &["Ahead"]).await;
    let (member, card) = &members[0];
    let ahead = Utc::now() + chrono::Duration::days(1);
    let (status, outcome) = app
        .post_json(
            Some("atlas"),
            "/api/v1/access/checkins/batch",
            Some(&guarded.token),
            &json!({"entries": [{"id": "ahead-1", "credential": {"type": "barcode", "value": card},
                "direction": "in", "occurred_at": ahead, "decision": "allow"}]}),
        )
        .await;
    assert_eq!(
        (status, &outcome["recorded"]),
        (200, &json!(1)),
        "{outcome}"
    );
    let url = app.db.url.as_str();
    let stamp = |t: chrono::DateTime<Utc>| t.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f");
    let soon = Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(
        count(
            url,
            &format!(
                "SELECT COUNT(*) FROM access_events WHERE member_id = '{member}' AND occurred_at > '{}'",
                stamp(soon)
            )
        ),
        1,
        "the entry keeps the door's time"
    );
    assert_eq!(
        count(
            url,
            &format!(
                "SELECT COUNT(*) FROM access_presence WHERE member_id = '{member}' AND entered_at <= '{}'",
                stamp(soon)
            )
        ),
        1,
        "inside from the upload"
    );
}

/// The checks the door desk of `app` has decided so far, from its log (a server spawned with [`DESK_LOG`]): the
/// sum of its groups' sizes.
fn checks_decided(app: &TestApp) -> usize {
    app.log()
        .lines()
        .filter(|line| line.contains("door checks decided together"))
        .filter_map(|line| {
            let size = line.split("checks=").nth(1)?;
            size.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// Doors that hang up before their answer (a reader's timeout, a dropped connection) leave their checks queued:
/// each is decided and recorded all the same, none is lost or written twice, and the doors after them are
/// answered as before.
#[tokio::test]
async fn checks_whose_doors_hang_up_are_recorded_and_the_next_doors_are_answered() {
    let app = TestApp::spawn_with(&[DESK_LOG]).await;
    let staff = app.token("atlas", "staff").await;
    let Hall { open, members, .. } = Hall::new(&app, "hang-up", &["Hangup"]).await;
    let (member, card) = &members[0];
    let recorded = || {
        count(
            &app.db.url,
            &format!("SELECT COUNT(*) AS n FROM access_events WHERE member_id = '{member}'"),
        )
    };
    written(&app, &staff).await;
    let (recorded_before, decided_before) = (recorded(), checks_decided(&app));

    // Forty doors at once, giving up after 0 to 78 ms: some hang up before their check is queued, some while it
    // waits or is decided, some get their answer.
    let mut doors = Vec::new();
    for i in 0..40u64 {
        let request = app
            .client
            .post(app.url("/api/v1/access/check"))
            .header("host", app.host(Some("atlas")))
            .bearer_auth(&open.token)
            .timeout(std::time::Duration::from_millis(2 * i))
            .json(&json!({"credential": {"type": "barcode", "value": card}, "direction": "in"}));
        doors.push(tokio::spawn(async move { request.send().await.is_ok() }));
    }
    let mut answered = 0;
    for door in doors {
        answered += usize::from(door.await.unwrap());
    }

    // The doors after them are answered at once.
    for _ in 0..5 {
        let next = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            pass(&app, &open, json!({"type": "barcode", "value": card}), "in"),
        )
        .await;
        let (status, body) = next.expect("a door after the hang-ups was not answered within 10 s");
        assert_eq!(
            (status, body["decision"].as_str()),
            (200, Some("allow")),
            "{body}"
        );
    }
    written(&app, &staff).await;
    let decided = checks_decided(&app) - decided_before;
    assert!(
        decided >= answered + 5,
        "{decided} checks decided, {answered} answered before the five after"
    );
    assert_eq!(
        usize::try_from(recorded() - recorded_before).unwrap(),
        decided,
        "every decided check is recorded once, hung up or not"
    );
}
