//! The two migration sets produce the same schema, and PostgreSQL's row-level security hides other tenants' rows
//! even from a query that forgot its tenant filter. Both tests need the PostgreSQL cluster, so they run in the
//! SQLite pass of the suite too.

use diesel::{Connection, RunQueryDsl};

use tessera_tests::{cli_ok, empty_on, query_column, Backend, TestDb};

fn normalise_pg_type(t: &str) -> &str {
    match t {
        "text" => "TEXT",
        "bigint" => "BIGINT",
        "integer" => "INTEGER",
        "boolean" => "BOOLEAN",
        "timestamp without time zone" => "TIMESTAMP",
        "date" => "DATE",
        other => other,
    }
}

#[test]
fn schemas_match() {
    let sqlite = empty_on(Backend::Sqlite);
    let pg = empty_on(Backend::Postgres);
    cli_ok(&sqlite.url, &["migrate"]);
    cli_ok(&pg.url, &["migrate"]);
    let mut sqlite_cols = query_column(
        &sqlite.url,
        "SELECT m.name || '.' || p.name || ':' || upper(p.type) || ':' || (CASE WHEN p.\"notnull\" = 1 THEN 'not null' ELSE 'null' END) AS v \
         FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%' ORDER BY v",
    );
    let mut pg_cols: Vec<Option<String>> = query_column(
        &pg.url,
        "SELECT table_name || '.' || column_name || ':' || data_type || ':' || (CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE 'null' END) AS v \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%' ORDER BY v",
    )
    .into_iter()
    .map(|v| {
        v.map(|s| {
            let parts: Vec<&str> = s.split(':').collect();
            format!("{}:{}:{}", parts[0], normalise_pg_type(parts[1]), parts[2])
        })
    })
    .collect();
    sqlite_cols.sort();
    pg_cols.sort();
    assert!(sqlite_cols.len() > 50, "{sqlite_cols:?}");
    assert_eq!(
        sqlite_cols, pg_cols,
        "migrations/sqlite and migrations/postgres disagree"
    );
}

#[test]
fn row_level_security_hides_other_tenants() {
    let db = TestDb::populated_on(Backend::Postgres);
    let atlas = query_column(&db.url, "SELECT id AS v FROM tenants WHERE slug = 'atlas'")[0]
        .clone()
        .unwrap();
    let total = tessera_tests::count(&db.url, "SELECT count(*) FROM accounts");
    let atlas_only = tessera_tests::count(
        &db.url,
        &format!("SELECT count(*) FROM accounts WHERE tenant_id = '{atlas}'"),
    );
    assert!(total > atlas_only && atlas_only > 0);
    assert_eq!(tessera_tests::count(&db.url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner IN ('tessera_app', 'tessera_system')"), 0, "the app roles own no table");
    // Every tenant-owned table (a `tenant_id` column; `tenant_domains` is the group's map of hosts) has forced
    // row-level security and both policies, so a migration that forgets them fails here.
    let unprotected = query_column(
        &db.url,
        "SELECT c.relname AS v FROM pg_class c JOIN information_schema.columns i \
         ON i.table_name = c.relname AND i.column_name = 'tenant_id' AND i.table_schema = 'public' \
         WHERE c.relkind = 'r' AND c.relname <> 'tenant_domains' AND NOT (c.relrowsecurity AND c.relforcerowsecurity \
         AND (SELECT count(*) FROM pg_policies p WHERE p.tablename = c.relname \
              AND p.policyname IN ('tenant_isolation', 'system_context')) = 2)",
    );
    assert!(
        unprotected.is_empty(),
        "tables without row-level security: {unprotected:?}"
    );

    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = tessera_tests::pg_connect(&db.url);
    diesel::sql_query("SET ROLE tessera_app")
        .execute(&mut conn)
        .unwrap();
    // A query that forgets its tenant filter, in atlas's context: only atlas's rows.
    let seen = conn
        .transaction::<_, diesel::result::Error, _>(|c| {
            diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
                .bind::<diesel::sql_types::Text, _>(&atlas)
                .execute(c)?;
            diesel::sql_query("SELECT count(*) AS n FROM accounts").get_result::<N>(c)
        })
        .unwrap();
    assert_eq!(seen.n, atlas_only);
    // No context at all: nothing.
    let seen: N = diesel::sql_query("SELECT count(*) AS n FROM accounts")
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(seen.n, 0);
    // Writing a row of another tenant from atlas's context is refused.
    let lumiere = query_column(
        &db.url,
        "SELECT id AS v FROM tenants WHERE slug = 'lumiere'",
    )[0]
    .clone()
    .unwrap();
    let write = conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
            .bind::<diesel::sql_types::Text, _>(&atlas)
            .execute(c)?;
        diesel::sql_query("UPDATE accounts SET display_name = 'hijacked' WHERE tenant_id = $1")
            .bind::<diesel::sql_types::Text, _>(&lumiere)
            .execute(c)
    });
    assert_eq!(
        write.unwrap(),
        0,
        "another tenant's rows are invisible to UPDATE"
    );
    let insert = conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)").bind::<diesel::sql_types::Text, _>(&atlas).execute(c)?;
        diesel::sql_query("INSERT INTO account_roles (tenant_id, account_id, role) SELECT tenant_id, id, 'admin' FROM accounts LIMIT 1")
            .execute(c)?;
        diesel::sql_query("INSERT INTO refresh_tokens (tenant_id, id, family_id, subject_id, token_hash, status, expires_at, created_at) VALUES ($1, 'x', 'f', 's', 'h', 'active', now(), now())")
            .bind::<diesel::sql_types::Text, _>(&lumiere)
            .execute(c)
    });
    assert!(
        insert.is_err(),
        "WITH CHECK refuses a row of another tenant"
    );
    // The explicit system context sees every tenant.
    let seen = conn
        .transaction::<_, diesel::result::Error, _>(|c| {
            diesel::sql_query("SET LOCAL ROLE tessera_system").execute(c)?;
            diesel::sql_query("SELECT count(*) AS n FROM accounts").get_result::<N>(c)
        })
        .unwrap();
    assert_eq!(seen.n, total);
    // The app role cannot write group tables.
    let denied = diesel::sql_query("UPDATE tenants SET display_name = 'x'").execute(&mut conn);
    assert!(denied.is_err());
}
