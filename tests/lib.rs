//! The black-box test harness. Tests drive the real `tessera` binary: the CLI as a process, and the HTTP server
//! it starts on a free loopback port, against a fresh database per test.
//!
//! - The backend comes from `TESSERA_TEST_BACKEND` (`sqlite`, the default, or `postgres`, which needs
//!   `TESSERA_TEST_PG_URL`, a superuser URL of the throwaway cluster that `scripts/test` starts).
//! - A template database (migrated, `tenants/` applied, test accounts created, all through the CLI) is built once
//!   per binary and tenants folder, then copied for each test: a file copy on SQLite, `CREATE DATABASE ... TEMPLATE`
//!   on PostgreSQL.
//! - Password hashing is made cheap through configuration (`TESSERA_AUTH__ARGON2__*`), never by a test build.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The password of every test account.
pub const PASSWORD: &str = "correct-horse-battery";
/// Brands of `tenants/`.
pub const BRANDS: [&str; 3] = ["atlas", "lumiere", "forge"];
/// The master key every test process gets.
pub const TEST_MASTER_KEY: &str = "dGVzc2VyYS10ZXN0LW1hc3Rlci1rZXktMzItYnl0ZXM=";
/// The operator of the test databases.
pub const OPERATOR_EMAIL: &str = "ops@tessera.test";

/// Which database the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TESSERA_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("TESSERA_TEST_BACKEND={other}: expected sqlite or postgres"),
    }
}

/// The superuser URL of the test PostgreSQL cluster.
pub fn pg_admin_url() -> String {
    std::env::var("TESSERA_TEST_PG_URL")
        .expect("TESSERA_TEST_PG_URL is not set: run the suite with scripts/test, which starts a PostgreSQL cluster")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The `tessera` binary built beside this test binary (`target/<profile>/tessera`), or `TESSERA_BIN`.
pub fn tessera_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("TESSERA_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir.join("tessera");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --workspace)",
        bin.display()
    );
    bin
}

/// Settings every test process gets: cheap password hashing and quick tenant refresh.
pub fn base_env() -> Vec<(String, String)> {
    [
        ("TESSERA_AUTH__ARGON2__MEMORY_KIB", "64"),
        ("TESSERA_AUTH__ARGON2__ITERATIONS", "1"),
        ("TESSERA_AUTH__MAX_CONCURRENT_HASHES", "4"),
        ("TESSERA_SERVER__TENANT_REFRESH_SECS", "1"),
        ("TESSERA_SERVER__SHUTDOWN_GRACE_SECS", "5"),
        // Test servers share two cores with many others: at idle priority a door writer could wait seconds for a
        // core, longer than a test waits for its records. The lane itself is the same; its priority is tested in
        // tessera-app (`background::tests`).
        ("TESSERA_SERVER__BACKGROUND_AT_IDLE_PRIORITY", "false"),
        ("TESSERA_LOG__FILTER", "info,tower_http=warn"),
        ("TESSERA_JOBS__ENABLE_DIAGNOSTIC_KINDS", "true"),
        ("TESSERA_JOBS__POLL_INTERVAL_MS", "50"),
        ("TESSERA_JOBS__BACKOFF_BASE_MS", "300"),
        // A fixed master key for the test databases (32 bytes, base64); never a production key.
        ("TESSERA_SECRETS__MASTER_KEY", TEST_MASTER_KEY),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

/// Runs the CLI with `url` and the base settings.
pub fn cli(url: &str, args: &[&str], extra_env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(tessera_bin());
    command
        .args(args)
        .env("TESSERA_DATABASE_URL", url)
        .env_remove("TESSERA_CONFIG")
        .current_dir(repo_root());
    for (k, v) in base_env() {
        command.env(k, v);
    }
    command.env("TESSERA_STORAGE__LOCAL_DIR", files_dir_for(url));
    for (k, v) in extra_env {
        command.env(k, v);
    }
    command.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn tessera");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().expect("wait for tessera")
}

/// Panics with the output unless the command succeeded.
pub fn cli_ok(url: &str, args: &[&str]) -> String {
    let out = cli(url, args, &[], None);
    assert!(
        out.status.success(),
        "tessera {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fingerprint of what the template depends on: the binary and the tenant files.
fn template_key() -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let meta = std::fs::metadata(tessera_bin()).unwrap();
    hasher.update(format!("{:?}{}", meta.modified().unwrap(), meta.len()));
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tenants"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        hasher.update(std::fs::read(&f).unwrap());
    }
    hex::encode(&hasher.finalize()[..8])
}

/// Fills a migrated, empty database: tenants, one account per role per brand, an operator.
fn populate(url: &str) {
    cli_ok(url, &["migrate"]);
    cli_ok(url, &["tenant", "apply", "tenants"]);
    let create = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cli(url, &args, &[], Some(&format!("{PASSWORD}\n")));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    create(vec![
        "user".into(),
        "create".into(),
        "--operator".into(),
        "--email".into(),
        OPERATOR_EMAIL.into(),
        "--name".into(),
        "Ops".into(),
        "--password-stdin".into(),
    ]);
    for brand in BRANDS {
        for (local, roles, specialty) in [
            ("admin", vec!["admin"], None),
            ("staff", vec!["staff"], None),
            ("coach", vec!["pro"], Some("coach")),
            ("member", vec!["member"], None),
            ("member2", vec!["member"], None),
        ] {
            let mut args: Vec<String> = [
                "user",
                "create",
                "--tenant",
                brand,
                "--email",
                &format!("{local}@{brand}.test"),
                "--name",
                &format!("{local} of {brand}"),
                "--password-stdin",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            for role in roles {
                args.push("--role".into());
                args.push(role.into());
            }
            if let Some(s) = specialty {
                args.push("--specialty".into());
                args.push(s.into());
            }
            create(args);
        }
    }
}

/// A database for one test, dropped with it.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A SQLite database's files live in its temporary folder; a PostgreSQL one's are removed here.
        if self._dir.is_none() {
            let _ = std::fs::remove_dir_all(files_dir_for(&self.url));
        }
    }
}

/// The local object store's folder of the database at `url`: beside a SQLite file, or a folder named after the
/// PostgreSQL database under the system's temporary folder. The CLI and servers of the harness use it, so no test
/// writes into the repository's `data/`.
pub fn files_dir_for(url: &str) -> PathBuf {
    match url.strip_prefix("sqlite://") {
        Some(path) => Path::new(path).with_extension("files"),
        None => std::env::temp_dir()
            .join("tessera-test-files")
            .join(url.rsplit('/').next().unwrap_or("db")),
    }
}

/// The peak resident memory (`VmHWM`) of process `pid`, in KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// A real S3-compatible server on loopback (moto's server, which `scripts/test` installs), with one bucket,
/// killed when dropped. The bucket is created with boto3 (it comes with moto), since Tessera never creates
/// buckets.
pub struct MotoServer {
    pub port: u16,
    pub bucket: String,
    _child: tokio::process::Child,
}

impl MotoServer {
    /// Starts one on a free port, waits until it answers, and creates the bucket.
    pub async fn start() -> MotoServer {
        let (port, child) = spawn_listening("moto", Duration::from_secs(30), |port| {
            let mut command = tokio::process::Command::new("python3");
            command.args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ]);
            command
        })
        .await;
        let server = MotoServer {
            port,
            bucket: "tessera-test".to_owned(),
            _child: child,
        };
        server.boto("s3.create_bucket(Bucket=bucket)", &[]);
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The settings that point Tessera at this server (multipart from 5 MiB, so that tests exercise it; S3
    /// server-side encryption on).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("TESSERA_STORAGE__BACKEND", "s3".to_owned()),
            ("TESSERA_STORAGE__S3__ENDPOINT", self.endpoint()),
            ("TESSERA_STORAGE__S3__REGION", "us-east-1".to_owned()),
            ("TESSERA_STORAGE__S3__BUCKET", self.bucket.clone()),
            ("TESSERA_STORAGE__S3__FORCE_PATH_STYLE", "true".to_owned()),
            ("TESSERA_STORAGE__S3__ACCESS_KEY_ID", "testing".to_owned()),
            (
                "TESSERA_STORAGE__S3__SECRET_ACCESS_KEY",
                "testing".to_owned(),
            ),
            (
                "TESSERA_STORAGE__MULTIPART_THRESHOLD_BYTES",
                "5242880".to_owned(),
            ),
            ("TESSERA_STORAGE__PART_SIZE_BYTES", "5242880".to_owned()),
            (
                "TESSERA_STORAGE__S3__SERVER_SIDE_ENCRYPTION",
                "AES256".to_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Runs `statement` in Python with `s3` (a boto3 client of this server), `bucket` and `sys` defined; `input`
    /// is its standard input. Returns standard output.
    pub fn boto(&self, statement: &str, input: &[u8]) -> Vec<u8> {
        let script = format!(
            "import boto3, sys\ns3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
             aws_access_key_id='testing', aws_secret_access_key='testing')\nbucket = '{}'\n{statement}\n",
            self.endpoint(),
            self.bucket
        );
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "boto3: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The stored bytes of an object, read around Tessera.
    pub fn raw_object(&self, key: &str) -> Vec<u8> {
        self.boto(
            &format!(
                "sys.stdout.buffer.write(s3.get_object(Bucket=bucket, Key='{key}')['Body'].read())"
            ),
            &[],
        )
    }

    /// Replaces an object's bytes around Tessera (for tampering).
    pub fn put_raw_object(&self, key: &str, bytes: &[u8]) {
        self.boto(
            &format!("s3.put_object(Bucket=bucket, Key='{key}', Body=sys.stdin.buffer.read())"),
            bytes,
        );
    }

    /// The server-side encryption S3 reports for an object (`AES256`), or `None` when it reports none.
    pub fn server_side_encryption(&self, key: &str) -> String {
        let out = self.boto(
            &format!(
                "print(s3.head_object(Bucket=bucket, Key='{key}').get('ServerSideEncryption'))"
            ),
            &[],
        );
        String::from_utf8(out).unwrap().trim().to_owned()
    }

    /// Every key in the bucket.
    pub fn keys(&self) -> Vec<String> {
        let out = self.boto(
            "print('\\n'.join(o['Key'] for o in s3.list_objects_v2(Bucket=bucket).get('Contents', [])))",
            &[],
        );
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

fn templates_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("tessera-test-templates");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sqlite_template() -> PathBuf {
    let path = templates_dir().join(format!("sqlite-{}.db", template_key()));
    if !path.exists() {
        // Built under a unique name and renamed into place: concurrent builders never see a half-built file.
        let building = templates_dir().join(format!("building-{}.db", ulid::Ulid::new()));
        populate(&format!("sqlite://{}", building.display()));
        // Fold the write-ahead log into the main file, so that copying the file alone copies everything.
        let mut conn = diesel::SqliteConnection::establish(building.to_str().unwrap()).unwrap();
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("PRAGMA journal_mode = DELETE")
            .execute(&mut conn)
            .unwrap();
        drop(conn);
        std::fs::rename(&building, &path).unwrap();
    }
    path
}

/// Database name inside the PostgreSQL cluster URL.
pub fn pg_url_for(database: &str) -> String {
    let admin = pg_admin_url();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{database}")
}

fn pg_template() -> String {
    let name = format!("tpl_{}", template_key());
    let mut admin = pg_connect(&pg_admin_url());
    diesel::sql_query("SELECT pg_advisory_lock(4242)")
        .execute(&mut admin)
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let exists: Count =
        diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut admin)
            .unwrap();
    if exists.n == 0 {
        let building = format!("building_{}", ulid::Ulid::new().to_string().to_lowercase());
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .unwrap();
        populate(&pg_url_for(&building));
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .unwrap();
    }
    diesel::sql_query("SELECT pg_advisory_unlock(4242)")
        .execute(&mut admin)
        .unwrap();
    name
}

impl TestDb {
    /// A copy of the populated template.
    pub fn populated() -> TestDb {
        Self::populated_on(backend())
    }

    /// A copy of the populated template of a given backend.
    pub fn populated_on(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("tessera.db");
                std::fs::copy(sqlite_template(), &path).unwrap();
                TestDb {
                    url: format!("sqlite://{}", path.display()),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let template = pg_template();
                let name = format!("t_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut admin = pg_connect(&pg_admin_url());
                diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .execute(&mut admin)
                    .unwrap();
                TestDb {
                    url: pg_url_for(&name),
                    _dir: None,
                }
            }
        }
    }

    /// The same database under a second name, for a second process (the first keeps it alive).
    pub fn shared(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            _dir: None,
        }
    }

    /// An empty database (not even migrated).
    pub fn empty() -> TestDb {
        empty_on(backend())
    }
}

/// An empty database on a given backend.
pub fn empty_on(backend: Backend) -> TestDb {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
            TestDb {
                url,
                _dir: Some(dir),
            }
        }
        Backend::Postgres => {
            let name = format!("e_{}", ulid::Ulid::new().to_string().to_lowercase());
            let mut admin = pg_connect(&pg_admin_url());
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .unwrap();
            TestDb {
                url: pg_url_for(&name),
                _dir: None,
            }
        }
    }
}

/// A running `tessera serve`.
pub struct TestApp {
    pub db: TestDb,
    pub port: u16,
    pub client: reqwest::Client,
    child: Option<tokio::process::Child>,
    log: tempfile::NamedTempFile,
}

impl TestApp {
    /// A server on a fresh copy of the populated template.
    pub async fn spawn() -> TestApp {
        Self::spawn_on(TestDb::populated(), &[]).await
    }

    /// A server with extra settings.
    pub async fn spawn_with(env: &[(&str, &str)]) -> TestApp {
        Self::spawn_on(TestDb::populated(), env).await
    }

    /// A server on `db`.
    pub async fn spawn_on(db: TestDb, env: &[(&str, &str)]) -> TestApp {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut command = tokio::process::Command::new(tessera_bin());
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("TESSERA_DATABASE_URL", &db.url)
            .env_remove("TESSERA_CONFIG")
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .kill_on_drop(true);
        for (k, v) in base_env() {
            command.env(k, v);
        }
        command.env("TESSERA_STORAGE__LOCAL_DIR", files_dir_for(&db.url));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn tessera serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    return addr.rsplit_once(':').unwrap().1.parse::<u16>().unwrap();
                }
            }
            panic!(
                "tessera serve exited: {}",
                std::fs::read_to_string(log.path()).unwrap_or_default()
            );
        })
        .await
        .expect("tessera serve did not start in 30 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestApp {
            db,
            port,
            client,
            child: Some(child),
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(|c| c.id()).unwrap()
    }

    /// The folder of the local object store of this server's database.
    pub fn files_dir(&self) -> PathBuf {
        files_dir_for(&self.db.url)
    }

    /// The Host header of a brand (`atlas.localhost:PORT`), or of the group realm with `None`.
    pub fn host(&self, brand: Option<&str>) -> String {
        match brand {
            Some(slug) => format!("{slug}.localhost:{}", self.port),
            None => format!("localhost:{}", self.port),
        }
    }

    pub fn request(
        &self,
        method: reqwest::Method,
        brand: Option<&str>,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("host", self.host(brand))
    }

    pub fn get(&self, brand: Option<&str>, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, brand, path)
    }

    pub fn post(&self, brand: Option<&str>, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, brand, path)
    }

    /// Opens the live-event WebSocket of a brand with `token` in the `Authorization` header.
    pub async fn events(&self, brand: &str, token: &str) -> EventStream {
        self.events_with(brand, Some(token), None)
            .await
            .unwrap_or_else(|status| panic!("WebSocket refused: {status}"))
    }

    /// Opens the live-event WebSocket with the token in a header, in the query, or neither; the HTTP status
    /// when the handshake is refused.
    pub async fn events_with(
        &self,
        brand: &str,
        header_token: Option<&str>,
        query_token: Option<&str>,
    ) -> Result<EventStream, u16> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut url = format!("ws://127.0.0.1:{}/api/v1/events/ws", self.port);
        if let Some(token) = query_token {
            url.push_str(&format!("?access_token={token}"));
        }
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("host", self.host(Some(brand)).parse().unwrap());
        if let Some(token) = header_token {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(EventStream { socket }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("WebSocket: {other}"),
        }
    }

    /// Uploads a file to a brand (`query` holds `purpose=...` and the rest) and returns its id; the upload must
    /// succeed.
    pub async fn upload_file(
        &self,
        brand: &str,
        token: &str,
        query: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> String {
        let response = self
            .post(Some(brand), &format!("/api/v1/files?{query}"))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        let (status, file) = json(response).await;
        assert_eq!(status, 201, "upload {query}: {file}");
        file["id"].as_str().unwrap().to_owned()
    }

    /// Asks a brand for a password-reset e-mail for `email`; the status (202 whatever the address).
    pub async fn request_password_reset(&self, brand: &str, email: &str) -> u16 {
        self.post_json(
            Some(brand),
            "/api/v1/auth/password-reset",
            None,
            &serde_json::json!({ "email": email }),
        )
        .await
        .0
    }

    /// The text of `/metrics` (group realm).
    pub async fn metrics(&self) -> String {
        self.get(None, "/metrics")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The status of a GET with a bearer token.
    pub async fn get_status(&self, brand: Option<&str>, path: &str, token: &str) -> u16 {
        self.get(brand, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Status and JSON body of a GET with a bearer token.
    pub async fn get_json(&self, brand: Option<&str>, path: &str, token: &str) -> (u16, Value) {
        json(
            self.get(brand, path)
                .bearer_auth(token)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Status and JSON body of a request with a JSON body and, when given, a bearer token.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        brand: Option<&str>,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        let mut request = self.request(method, brand, path).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        json(request.send().await.unwrap()).await
    }

    /// Status and JSON body of a login attempt (which may fail).
    pub async fn try_login(
        &self,
        brand: Option<&str>,
        email: &str,
        password: &str,
    ) -> (u16, Value) {
        self.post_json(
            brand,
            "/api/v1/auth/token",
            None,
            &serde_json::json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Status and JSON body of a POST with a JSON body and, when given, a bearer token.
    pub async fn post_json(
        &self,
        brand: Option<&str>,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> (u16, Value) {
        self.send_json(reqwest::Method::POST, brand, path, token, body)
            .await
    }

    /// Logs in and returns the token pair.
    pub async fn login(&self, brand: Option<&str>, email: &str) -> Tokens {
        let response = self
            .post(brand, "/api/v1/auth/token")
            .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "login {email}: {body}");
        Tokens {
            access: body["access_token"].as_str().unwrap().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Logs in as `<role>@<brand>.test`.
    pub async fn token(&self, brand: &str, local: &str) -> String {
        self.login(Some(brand), &format!("{local}@{brand}.test"))
            .await
            .access
    }

    /// The operator's access token (group realm).
    pub async fn operator_token(&self) -> String {
        self.login(None, OPERATOR_EMAIL).await.access
    }

    /// Runs the CLI against this server's database.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.db.url, args, &[], None)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = child.id().unwrap();
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("server did not stop")
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- tessera serve log (last lines) ---");
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// An access and a refresh token.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// Reads a response's status and JSON body.
pub async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Runs one SQL query whose single column is named `v` (cast it to TEXT), as the database owner, for inspecting
/// what the server wrote.
pub fn query_column(url: &str, sql: &str) -> Vec<Option<String>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        v: Option<String>,
    }
    let rows: Vec<Row> = if let Some(path) = url.strip_prefix("sqlite://") {
        let mut conn = sqlite_connect(path);
        diesel::sql_query(sql)
            .load(&mut conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    } else {
        let mut conn = pg_connect(url);
        diesel::sql_query(sql)
            .load(&mut conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    rows.into_iter().map(|r| r.v).collect()
}

/// One number: `sql` is a `SELECT count(*) ...` (or any integer) without an alias.
pub fn count(url: &str, sql: &str) -> i64 {
    let wrapped = format!("SELECT CAST(({sql}) AS TEXT) AS v");
    query_column(url, &wrapped)[0]
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}

/// A direct SQLite connection for the harness. It waits for the lock like the product's own connections do (the
/// server's job workers take it briefly several times a second).
pub fn sqlite_connect(path: &str) -> diesel::SqliteConnection {
    let mut conn =
        diesel::SqliteConnection::establish(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    diesel::sql_query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .unwrap();
    conn
}

/// A direct PostgreSQL connection for the harness, without GSSAPI (see `tessera_store::connection::postgres_url`).
pub fn pg_connect(url: &str) -> diesel::PgConnection {
    let url = if url.contains('?') {
        format!("{url}&gssencmode=disable")
    } else {
        format!("{url}?gssencmode=disable")
    };
    diesel::PgConnection::establish(&url).unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// Runs one SQL statement as the database owner (for tampering with what the server wrote).
pub fn execute(url: &str, sql: &str) {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut conn = sqlite_connect(path);
        diesel::sql_query(sql)
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    } else {
        diesel::sql_query(sql)
            .execute(&mut pg_connect(url))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Makes the server's writes wait until released, while its reads go on: SQLite's write lock (`BEGIN IMMEDIATE`),
/// or on PostgreSQL an `EXCLUSIVE` lock on `table` (which lets `SELECT`s through).
pub enum WriteHold {
    Sqlite(diesel::SqliteConnection),
    Postgres(diesel::PgConnection),
}

impl WriteHold {
    /// Takes the hold on the database at `url`.
    pub fn take(url: &str, table: &str) -> WriteHold {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let mut conn = sqlite_connect(path);
            diesel::sql_query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .unwrap();
            WriteHold::Sqlite(conn)
        } else {
            let mut conn = pg_connect(url);
            diesel::sql_query("BEGIN").execute(&mut conn).unwrap();
            diesel::sql_query(format!("LOCK TABLE {table} IN EXCLUSIVE MODE"))
                .execute(&mut conn)
                .unwrap();
            WriteHold::Postgres(conn)
        }
    }

    /// Lets the waiting writes through.
    pub fn release(self) {
        match self {
            WriteHold::Sqlite(mut conn) => {
                diesel::sql_query("ROLLBACK").execute(&mut conn).unwrap();
            }
            WriteHold::Postgres(mut conn) => {
                diesel::sql_query("ROLLBACK").execute(&mut conn).unwrap();
            }
        }
    }
}

/// A running `tessera worker` process, killed when dropped.
pub struct Worker {
    pub child: tokio::process::Child,
}

impl Worker {
    /// Starts `tessera worker` on `url` and waits until it runs.
    pub async fn spawn(url: &str, env: &[(&str, &str)]) -> Worker {
        let mut command = tokio::process::Command::new(tessera_bin());
        command
            .arg("worker")
            .env("TESSERA_DATABASE_URL", url)
            .env_remove("TESSERA_CONFIG")
            .current_dir(repo_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in base_env() {
            command.env(k, v);
        }
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("spawn tessera worker");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("job workers running") {
                    return;
                }
            }
            panic!("tessera worker exited");
        })
        .await
        .expect("tessera worker did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Worker { child }
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// Polls `check` every 100 ms until it is true or `timeout` passes; returns whether it became true.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check()
}

/// Starts the helper server that `command(port)` describes on a free loopback port, and waits until that very
/// process listens on it.
///
/// A port found free is released before the helper binds it, so another test's server may take it in between.
/// Waiting for any answer on the port would then talk to the wrong server; so this waits until the child itself
/// holds the listening socket (read from `/proc`), and starts again on a new port if the child exits first.
pub async fn spawn_listening(
    what: &str,
    timeout: Duration,
    command: impl Fn(u16) -> tokio::process::Command,
) -> (u16, tokio::process::Child) {
    for _attempt in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = command(port)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e} (scripts/test installs it)"));
        let pid = child.id().unwrap();
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if listens_on(pid, port) {
                return (port, child);
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = child.kill().await;
    }
    panic!("{what} did not start listening on a loopback port in five attempts");
}

/// Whether process `pid` holds a listening TCP socket on loopback port `port`.
fn listens_on(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    // Lines: `sl local_address rem_address st ... inode`; 0A is LISTEN, 0100007F:PORT is 127.0.0.1:PORT.
    let local = format!("0100007F:{port:04X}");
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 9 && f[1] == local && f[3] == "0A")
        .map(|f| format!("socket:[{}]", f[9]))
        .collect();
    if inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target| inodes.iter().any(|i| target.as_os_str() == i.as_str()))
}

/// A real SMTP server on loopback (Python's aiosmtpd) that stores what it receives in a Maildir.
pub struct SmtpServer {
    pub port: u16,
    pub maildir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl SmtpServer {
    /// Starts one on a free port and waits until it accepts connections.
    pub async fn start() -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        let (port, child) = spawn_listening("aiosmtpd", Duration::from_secs(15), |port| {
            let mut command = tokio::process::Command::new("python3");
            command
                .args([
                    "-m",
                    "aiosmtpd",
                    "-n",
                    "-l",
                    &format!("127.0.0.1:{port}"),
                    "-c",
                    "aiosmtpd.handlers.Mailbox",
                ])
                // A folder that does not exist yet: Maildir creates its tmp/new/cur only then.
                .arg(maildir.path().join("mail"));
            command
        })
        .await;
        SmtpServer {
            port,
            maildir,
            _child: child,
        }
    }

    /// The messages received so far, as files.
    pub fn messages(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.maildir.path().join("mail").join("new"))
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

/// A message's recipient, decoded subject, plain-text and HTML bodies, read with Python's `email` module.
pub fn read_email(path: &Path) -> (String, String, String, String) {
    let script = r#"
import email, email.header, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
subject = str(email.header.make_header(email.header.decode_header(m['Subject'])))
parts = {p.get_content_type(): p.get_payload(decode=True).decode(p.get_content_charset() or 'utf-8') for p in m.walk() if not p.is_multipart() and p.get_filename() is None}
print(json.dumps([m['To'], subject, parts.get('text/plain', ''), parts.get('text/html', '')]))
"#;
    let [to, subject, text, html]: [String; 4] =
        serde_json::from_slice(&python(script, path)).unwrap();
    (to, subject, text, html)
}

/// The attachments of an `.eml` file: (file name, content type, SHA-256 of the bytes, hex).
pub fn read_attachments(path: &Path) -> Vec<(String, String, String)> {
    let script = r#"
import email, hashlib, json, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
print(json.dumps([[p.get_filename(), p.get_content_type(), hashlib.sha256(p.get_payload(decode=True)).hexdigest()]
                  for p in m.walk() if not p.is_multipart() and p.get_filename() is not None]))
"#;
    serde_json::from_slice(&python(script, path)).unwrap()
}

/// Runs a Python script on a file; its standard output, the script having succeeded.
fn python(script: &str, path: &Path) -> Vec<u8> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A live-event WebSocket.
pub struct EventStream {
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl EventStream {
    /// The next event within `wait`, or `None`.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()??
                .ok()?;
            match message {
                tokio_tungstenite::tungstenite::Message::Text(text) => {
                    return Some(serde_json::from_str(&text).unwrap())
                }
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// Waits up to `wait` for an event of `event_type`, skipping others; `None` when none came.
    pub async fn wait_for(&mut self, event_type: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next_within(left).await?;
            if event["type"] == event_type {
                return Some(event);
            }
        }
    }
}
