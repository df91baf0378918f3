//! `tessera-console` end to end: the real console in tmux against `tessera demo`. Log in as the brand admin,
//! search a demo member, record a cash payment on their open invoice and issue them a card from the console
//! (both checked through the API), then watch the live feed show a door's decisions as they happen.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_tests::{base_env, repo_root, tessera_bin, TestDb};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A request sent and its JSON answer read (the test's calls to the API, which must succeed).
trait Call {
    async fn call(self) -> Value;
}

impl Call for reqwest::RequestBuilder {
    async fn call(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}

/// One tmux session, killed on drop.
struct Tmux(String);

impl Tmux {
    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.0])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.0, "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Polls the pane until `needle` shows, for at most 30 s.
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = Command::new("tmux")
                .args(["capture-pane", "-p", "-t", &self.0])
                .output()
                .unwrap();
            let pane = String::from_utf8_lossy(&out.stdout).into_owned();
            if pane.contains(needle) {
                return pane;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never appeared; pane:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .status();
    }
}

#[tokio::test]
async fn console_logs_in_records_a_payment_issues_a_card_and_shows_live_checkins() {
    let db = TestDb::empty();
    let dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(tessera_bin());
    command
        .args(["demo", "--data-dir"])
        .arg(dir.path().join("data"))
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
    let mut demo = command.spawn().unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let server = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.trim().to_string();
            }
        }
        panic!("tessera demo exited before listening");
    })
    .await
    .expect("tessera demo did not start in 60 s");
    // Keep draining stdout so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let console = tessera_bin().with_file_name("tessera-console");
    let config = dir.path().join("console.toml");
    let session = Tmux(format!("tessera-console-{}", std::process::id()));
    let shell = format!(
        "TESSERA_CONSOLE_CONFIG={} {} --server {server} --tenant atlas --email admin@atlas.demo; sleep 60",
        config.display(),
        console.display()
    );
    let status = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-s",
            &session.0,
            &shell,
        ])
        .status()
        .unwrap();
    assert!(status.success());
    session.wait_for("Password:");
    session.text("tessera-demo-2026");
    session.keys(&["Enter"]);
    session.wait_for("logged in as admin@atlas.demo");
    let remembered = std::fs::read_to_string(&config).unwrap();
    assert!(remembered.contains("admin@atlas.demo") && !remembered.contains("tessera-demo-2026"));

    session.keys(&["2", "/"]);
    session.text("chloe");
    session.keys(&["Enter"]);
    // The answer arrives in the background: wait for the results of this search, not the list before it.
    let pane = session.wait_for("Members matching \"chloe\" (1)");
    assert!(pane.contains("Martin"), "{pane}");
    session.keys(&["Enter"]);
    let pane = session.wait_for("Invoices (p pay");
    assert!(pane.contains("Chloé Martin"), "{pane}");
    session.keys(&["p"]);
    session.text("10.00");
    session.keys(&["Enter"]);
    session.wait_for("payment of 10.00 recorded");

    // The payment exists for the API too.
    let http = reqwest::Client::builder()
        .resolve(
            "atlas.localhost",
            server.trim_start_matches("http://").parse().unwrap(),
        )
        .build()
        .unwrap();
    let base = format!(
        "http://atlas.localhost:{}",
        server.rsplit(':').next().unwrap()
    );
    let pair: Value = http
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"email": "admin@atlas.demo", "password": "tessera-demo-2026"}))
        .call()
        .await;
    let payments: Value = http
        .get(format!("{base}/api/v1/payments"))
        .bearer_auth(pair["access_token"].as_str().unwrap())
        .call()
        .await;
    let rows = payments.as_array().unwrap();
    assert!(
        rows.iter().any(|p| p["amount"]["amount"] == 1000
            && p["method"] == "cash"
            && p["provider"] == "manual"),
        "no 10.00 payment in {payments}"
    );

    // A member action: a new printed card for Chloé from her page's credentials list.
    session.keys(&["Left", "Left"]);
    session.wait_for("Credentials (n new card");
    session.keys(&["n"]);
    let pane = session.wait_for("issued");
    // The notice reads "card <number> issued".
    let issued = pane
        .split(" issued")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .unwrap()
        .to_owned();
    let token = pair["access_token"].as_str().unwrap();
    let members: Value = http
        .get(format!("{base}/api/v1/members?q=chloe"))
        .bearer_auth(token)
        .call()
        .await;
    let chloe = members["data"][0]["id"].as_str().unwrap().to_owned();
    let cards: Value = http
        .get(format!("{base}/api/v1/members/{chloe}/credentials"))
        .bearer_auth(token)
        .call()
        .await;
    assert!(
        cards
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["value"] == issued.as_str()),
        "card {issued} not in {cards}"
    );

    // The live feed: a door paired now lets the new card in and refuses an unknown one; both appear in the
    // console as they happen, without a reload.
    session.keys(&["3"]);
    session.wait_for("Check-ins — live");
    let code: Value = http
        .post(format!("{base}/api/v1/devices/pairings"))
        .bearer_auth(token)
        .json(&serde_json::json!({"kind": "door", "anti_passback": false,
            "location_id": members_location(&http, &base, token).await}))
        .call()
        .await;
    let door: Value = http
        .post(format!("{base}/api/v1/devices/pair"))
        .json(&serde_json::json!({"code": code["code"]}))
        .call()
        .await;
    let door = door["token"].as_str().unwrap().to_owned();
    for card in [issued.as_str(), "999999999999"] {
        let decision: Value = http
            .post(format!("{base}/api/v1/access/check"))
            .bearer_auth(&door)
            .json(&serde_json::json!({"credential": {"type": "barcode", "value": card}, "direction": "in"}))
            .call()
            .await;
        assert!(decision["decision"].is_string(), "{decision}");
    }
    session.wait_for("unknown_credential");
    let pane = session.wait_for("Chloé Martin");
    assert!(pane.contains("allow"), "{pane}");

    // A door paired from the console's devices screen at the location chosen by its number: the brand's new Annex.
    let annex: Value = http
        .post(format!("{base}/api/v1/locations"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": "Annex"}))
        .call()
        .await;
    session.keys(&["4"]);
    // The demo's analyser: the devices are in, and the locations with them.
    session.wait_for("body_analyzer");
    session.keys(&["n", "d"]);
    let pane = session.wait_for("pair it at:");
    let choices = pane
        .split("pair it at:")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap();
    let number = choices
        .split("  ")
        .find_map(|choice| choice.trim().strip_suffix(" Annex"))
        .unwrap_or_else(|| panic!("no Annex in {choices}"))
        .to_owned();
    session.keys(&[number.as_str()]);
    let pane = session.wait_for("Code: ");
    let code = pane
        .split("Code: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let paired: Value = http
        .post(format!("{base}/api/v1/devices/pair"))
        .json(&serde_json::json!({"code": code}))
        .call()
        .await;
    assert_eq!(
        (&paired["device"]["kind"], &paired["device"]["location_id"]),
        (&serde_json::json!("door"), &annex["id"]),
        "{paired}"
    );
    session.keys(&["q"]);
    demo.kill().await.unwrap();
}

/// The brand's first location.
async fn members_location(http: &reqwest::Client, base: &str, token: &str) -> String {
    let locations: Value = http
        .get(format!("{base}/api/v1/locations"))
        .bearer_auth(token)
        .call()
        .await;
    let rows = locations.get("data").unwrap_or(&locations);
    rows[0]["id"].as_str().unwrap().to_owned()
}
