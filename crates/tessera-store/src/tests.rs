//! The backend-specific helpers, on both backends: upserts, row locks, exact money sums, and concurrent writers
//! on SQLite. PostgreSQL comes from `TESSERA_TEST_PG_URL` (set by `scripts/test`); under CI it is required.

use std::sync::{Arc, Barrier};
use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;

use crate::models::{persons, tenants, tokens};
use crate::{Database, PoolOptions, StoreError, TxMode};

struct TestDatabase {
    url: String,
    _dir: Option<tempfile::TempDir>,
}

fn databases() -> Vec<TestDatabase> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![TestDatabase {
        url: format!("sqlite://{}", dir.path().join("t.db").display()),
        _dir: Some(dir),
    }];
    match std::env::var("TESSERA_TEST_PG_URL") {
        Ok(admin) => {
            let name = format!("store_{}", ulid::Ulid::new().to_string().to_lowercase());
            let mut conn =
                diesel::PgConnection::establish(&crate::connection::postgres_url(&admin)).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .unwrap();
            let base = admin.rsplit_once('/').unwrap().0;
            all.push(TestDatabase {
                url: format!("{base}/{name}"),
                _dir: None,
            });
        }
        Err(_) => assert!(
            std::env::var("CI").is_err(),
            "CI must run the store tests on PostgreSQL too"
        ),
    }
    for db in &all {
        crate::migrate::run_pending(&db.url).unwrap();
    }
    all
}

fn open(url: &str) -> Database {
    Database::connect(
        url,
        &PoolOptions {
            max_size: 12,
            ..PoolOptions::default()
        },
    )
    .unwrap()
}

fn tenant_row(slug: &str, revision: i64) -> tenants::TenantRow {
    let now = Utc::now().naive_utc();
    tenants::TenantRow {
        id: format!("ten_{}", ulid::Ulid::new().to_string().to_lowercase()),
        slug: slug.into(),
        display_name: slug.into(),
        config_json: "{}".into(),
        config_sha256: "x".into(),
        revision,
        created_at: now,
        updated_at: now,
    }
}

#[test]
fn upsert_inserts_then_updates() {
    for db in databases() {
        let database = open(&db.url);
        database
            .system(TxMode::Write, |sys| {
                tenants::upsert(sys, &tenant_row("alpha", 1))?;
                let mut changed = tenant_row("alpha", 2);
                changed.display_name = "Alpha 2".into();
                tenants::upsert(sys, &changed)?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let all = database.with_conn(tenants::list).unwrap();
        assert_eq!(all.len(), 1, "{}", db.url);
        assert_eq!(
            (all[0].display_name.as_str(), all[0].revision),
            ("Alpha 2", 2)
        );
    }
}

#[test]
fn money_sums_are_exact_bigints() {
    for db in databases() {
        let database = open(&db.url);
        let sum = |database: &Database| {
            database
                .with_conn(|conn| {
                    Ok(crate::schema::tenants::table
                        .select(crate::backend::sum_minor_units("revision"))
                        .first::<Option<i64>>(conn)?)
                })
                .unwrap()
        };
        assert_eq!(sum(&database), None, "no rows: NULL");
        // Above 2^32 each, so that a 32-bit or floating sum would show.
        database
            .system(TxMode::Write, |sys| {
                for (i, value) in [4_000_000_000_123_i64, 5_000_000_000_456, -1]
                    .iter()
                    .enumerate()
                {
                    tenants::upsert(sys, &tenant_row(&format!("t{i}"), *value))?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(sum(&database), Some(9_000_000_000_578), "{}", db.url);
    }
}

#[test]
fn find_or_create_person_is_safe_under_concurrency() {
    for db in databases() {
        let database = open(&db.url);
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (database, barrier) = (database.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    database
                        .system(TxMode::Write, |sys| {
                            let id =
                                format!("per_{}", ulid::Ulid::new().to_string().to_lowercase());
                            persons::find_or_create(
                                sys.conn(),
                                &id,
                                "same@example.com",
                                Utc::now().naive_utc(),
                            )
                        })
                        .unwrap()
                })
            })
            .collect();
        let ids: std::collections::BTreeSet<String> =
            handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(ids.len(), 1, "{}: {ids:?}", db.url);
    }
}

#[test]
fn locked_rows_are_decided_one_after_the_other() {
    for db in databases() {
        let database = open(&db.url);
        let now = Utc::now().naive_utc();
        let row = tokens::RefreshTokenRow {
            tenant_id: "group".into(),
            id: "rtk_1".into(),
            family_id: "rtf_1".into(),
            subject_id: "opr_1".into(),
            token_hash: "hash".into(),
            status: "active".into(),
            expires_at: now,
            created_at: now,
            used_at: None,
        };
        database
            .scoped("group", TxMode::Write, |s| tokens::insert_refresh(s, &row))
            .unwrap();
        // Two transactions read the same token under lock; the first marks it used while the second waits, so the
        // second must see "used": a token is never rotated twice.
        let barrier = Arc::new(Barrier::new(2));
        let first = {
            let (database, barrier) = (database.clone(), barrier.clone());
            std::thread::spawn(move || {
                database
                    .scoped("group", TxMode::Write, |s| {
                        let seen = tokens::find_refresh_locked(s, "hash")?.unwrap().status;
                        barrier.wait();
                        std::thread::sleep(Duration::from_millis(300));
                        tokens::mark_refresh_used(s, "rtk_1", Utc::now().naive_utc())?;
                        Ok::<_, StoreError>(seen)
                    })
                    .unwrap()
            })
        };
        barrier.wait();
        let second = database
            .scoped("group", TxMode::Write, |s| {
                Ok::<_, StoreError>(tokens::find_refresh_locked(s, "hash")?.unwrap().status)
            })
            .unwrap();
        assert_eq!(first.join().unwrap(), "active");
        assert_eq!(
            second, "used",
            "{}: the second reader did not wait for the lock",
            db.url
        );
    }
}

#[test]
fn concurrent_writers_wait_instead_of_failing() {
    for db in databases() {
        let database = open(&db.url);
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let database = database.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        database
                            .system(TxMode::Write, |sys| {
                                // Read, then write, in one transaction: the pattern that fails with SQLITE_BUSY when
                                // the transaction is not IMMEDIATE.
                                let email = format!("w{t}-{i}@example.com");
                                let _ = persons::find_or_create(
                                    sys.conn(),
                                    &format!("per_{t}_{i}"),
                                    &email,
                                    Utc::now().naive_utc(),
                                )?;
                                Ok::<_, StoreError>(())
                            })
                            .unwrap_or_else(|e| panic!("writer {t} failed: {e}"));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let count: i64 = database
            .with_conn(|conn| Ok(crate::schema::persons::table.count().get_result(conn)?))
            .unwrap();
        assert_eq!(count, 200, "{}", db.url);
    }
}

#[test]
fn a_failed_transaction_leaves_nothing() {
    for db in databases() {
        let database = open(&db.url);
        let result: Result<(), StoreError> = database.system(TxMode::Write, |sys| {
            tenants::upsert(sys, &tenant_row("half", 1))?;
            Err(StoreError::Migration(
                "simulated failure after the first write".into(),
            ))
        });
        assert!(result.is_err());
        assert!(
            database.with_conn(tenants::list).unwrap().is_empty(),
            "{}",
            db.url
        );
        // The connection is usable afterwards.
        database
            .system(TxMode::Write, |sys| {
                tenants::upsert(sys, &tenant_row("whole", 1))
            })
            .unwrap();
        assert_eq!(database.with_conn(tenants::list).unwrap().len(), 1);
    }
}

#[test]
fn door_fact_changes_are_logged_by_the_tables_in_commit_order_and_pruned() {
    use crate::models::door_facts;
    use crate::models::locations::{self, LocationRow};
    for db in databases() {
        let database = Database::connect(&db.url, &PoolOptions::default()).unwrap();
        let tenant = tenant_row("alpha", 1);
        database
            .system(TxMode::Write, |sys| tenants::upsert(sys, &tenant))
            .unwrap();
        let now = Utc::now().naive_utc();
        let row = |id: &str| LocationRow {
            tenant_id: tenant.id.clone(),
            id: id.to_owned(),
            name: id.to_owned(),
            address: None,
            time_zone: "UTC".into(),
            created_at: now,
            updated_at: now,
        };
        let log = || {
            database
                .scoped(&tenant.id, TxMode::Read, |s| {
                    Ok::<_, StoreError>((
                        door_facts::version(s)?,
                        door_facts::changes_since(s, 0, 100)?,
                    ))
                })
                .unwrap()
        };
        assert_eq!(log(), (0, vec![]), "{}", db.url);
        // Two locations in one transaction, then a rolled-back one, then a rename.
        database
            .scoped(&tenant.id, TxMode::Write, |s| {
                locations::insert(s, &row("loc_a"))?;
                locations::insert(s, &row("loc_b"))
            })
            .unwrap();
        let rolled_back: Result<(), StoreError> = database.scoped(&tenant.id, TxMode::Write, |s| {
            locations::insert(s, &row("loc_c"))?;
            Err(StoreError::Backup("rolled back".into()))
        });
        assert!(rolled_back.is_err());
        database
            .scoped(&tenant.id, TxMode::Write, |s| {
                use crate::schema::locations as table;
                use diesel::prelude::*;
                diesel::update(table::table.filter(table::id.eq("loc_a")))
                    .set(table::name.eq("Renamed"))
                    .execute(s.conn())
                    .map_err(StoreError::from)
            })
            .unwrap();
        let (version, changes) = log();
        let whole = door_facts::WHOLE_BRAND.to_owned();
        if db.url.starts_with("postgres") {
            // One version per transaction and brand.
            assert_eq!(version, 2, "{}", db.url);
            assert_eq!(changes, vec![(1, whole.clone()), (2, whole.clone())]);
        } else {
            // One version per changed row.
            assert_eq!(version, 3, "{}", db.url);
            assert_eq!(
                changes,
                vec![(1, whole.clone()), (2, whole.clone()), (3, whole.clone())]
            );
        }
        let pruned = database
            .scoped(&tenant.id, TxMode::Write, |s| door_facts::prune(s, 1))
            .unwrap();
        assert_eq!(pruned, changes.len() - 1, "{}", db.url);
        assert_eq!(log(), (version, vec![(version, whole)]), "{}", db.url);
    }
}

#[test]
fn lookups_by_a_list_find_the_same_rows_with_one_value_or_many() {
    use crate::models::locations::{self, LocationRow};
    for db in databases() {
        // One connection, so that the prepared statements counted below are the ones the lookups used.
        let database = Database::connect(
            &db.url,
            &PoolOptions {
                max_size: 1,
                ..PoolOptions::default()
            },
        )
        .unwrap();
        let tenant = tenant_row("alpha", 1);
        database
            .system(TxMode::Write, |sys| tenants::upsert(sys, &tenant))
            .unwrap();
        let ids: Vec<String> = (0..3).map(|i| format!("loc_{i}")).collect();
        let now = Utc::now().naive_utc();
        database
            .scoped(&tenant.id, TxMode::Write, |s| {
                for id in &ids {
                    locations::insert(
                        s,
                        &LocationRow {
                            tenant_id: tenant.id.clone(),
                            id: id.clone(),
                            name: id.clone(),
                            address: None,
                            time_zone: "UTC".into(),
                            created_at: now,
                            updated_at: now,
                        },
                    )?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let found = |wanted: &[String]| -> Vec<String> {
            let mut rows: Vec<String> = database
                .scoped(&tenant.id, TxMode::Read, |s| {
                    locations::find_many(s, wanted)
                })
                .unwrap()
                .into_iter()
                .map(|l| l.id)
                .collect();
            rows.sort();
            rows
        };
        assert!(found(&[]).is_empty(), "{}", db.url);
        assert_eq!(found(&ids[1..2]), vec!["loc_1"], "{}", db.url);
        assert_eq!(
            found(&[ids[2].clone(), "loc_unknown".into()]),
            vec!["loc_2"],
            "{}",
            db.url
        );
        assert_eq!(found(&ids), ids, "{}", db.url);
        assert!(found(&["loc_unknown".into()]).is_empty(), "{}", db.url);

        if db.url.starts_with("postgres") {
            // The reason for the one-value form: PostgreSQL settles on a plan kept for the connection.
            for _ in 0..8 {
                assert_eq!(found(&ids[..1]), vec!["loc_0"]);
            }
            let generic: i64 = database
                .with_conn(|conn| {
                    #[derive(QueryableByName)]
                    struct Plans {
                        #[diesel(sql_type = diesel::sql_types::BigInt)]
                        generic: i64,
                    }
                    let plans: Vec<Plans> = diesel::sql_query(
                        "SELECT coalesce(sum(generic_plans), 0)::bigint AS generic \
                         FROM pg_prepared_statements \
                         WHERE statement LIKE '%FROM \"locations\"%' \
                         AND statement LIKE '%\"locations\".\"id\" = $2%'",
                    )
                    .load(conn)?;
                    Ok(plans.first().map_or(0, |p| p.generic))
                })
                .unwrap();
            assert!(
                generic > 0,
                "the one-value lookup is planned anew on every call"
            );
        }
    }
}
