//! `tessera device simulate-door`: the reference door. It does what docs/devices.md asks of a door vendor, with
//! the same decision function the server runs (`tessera_domain::access::decide`): pair once, keep a signed
//! allowlist up to date (checking its Ed25519 signature against the server's published keys), decide every
//! credential locally, and upload the decisions later. Its state is one JSON file.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{bail, Context};
use base64::Engine;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use tessera_domain::access::allowlist::{entry_hash, local_time, signing_input, Allowlist};
use tessera_domain::access::credential::{
    normalize_nfc, parse_optical, parse_public_key, verify_rotating, within_window, ByteOrder,
    NfcEncoding, Optical,
};
use tessera_domain::access::{decide, CredentialState, Direction, Facts};

/// Hours after which an entry without an exit no longer counts as inside (as on the server).
const PRESENCE_TIMEOUT_HOURS: i64 = 4;
/// Entries per upload request.
const UPLOAD_CHUNK: usize = 1_000;

/// What to do, in this order.
pub struct Steps {
    pub state: PathBuf,
    pub server: Option<String>,
    pub tenant: Option<String>,
    pub pair: Option<String>,
    pub sync: bool,
    pub decide: Option<PathBuf>,
    pub upload: bool,
    pub keep_pending: bool,
}

/// A published signing key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Key {
    kid: String,
    x: String,
}

/// A decision waiting for upload, in the upload's shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    id: String,
    credential: serde_json::Value,
    direction: Direction,
    occurred_at: DateTime<Utc>,
    decision: String,
    reason: Option<String>,
}

/// The door's memory.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    server: String,
    host: String,
    token: String,
    device_id: String,
    nfc_byte_order: String,
    keys: Vec<Key>,
    allowlist: Option<Allowlist>,
    pending: Vec<Pending>,
    /// Credential hash → when it entered (no exit since).
    presence: HashMap<String, DateTime<Utc>>,
    /// Credential hash → local days with an entry.
    visits: HashMap<String, Vec<NaiveDate>>,
    /// Rotating codes seen: (credential id, issued at).
    seen: HashSet<(String, i64)>,
    next_entry: u64,
}

fn load(path: &PathBuf) -> anyhow::Result<State> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {} (pair the door first)", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

fn save(path: &PathBuf, state: &State) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(state)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?)
}

async fn fetch_keys(state: &mut State) -> anyhow::Result<()> {
    #[derive(Deserialize)]
    struct Jwks {
        keys: Vec<Key>,
    }
    let jwks: Jwks = client()?
        .get(format!("{}/.well-known/jwks.json", state.server))
        .header("host", &state.host)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    state.keys = jwks.keys;
    Ok(())
}

async fn pair(path: &PathBuf, server: &str, host: &str, code: &str) -> anyhow::Result<State> {
    let response = client()?
        .post(format!("{server}/api/v1/devices/pair"))
        .header("host", host)
        .json(&serde_json::json!({ "code": code, "firmware": "simulator", "app_version": env!("CARGO_PKG_VERSION") }))
        .send()
        .await?;
    let status = response.status();
    let body: serde_json::Value = response.json().await?;
    if !status.is_success() {
        bail!("pairing refused ({status}): {}", body["detail"]);
    }
    let mut state = State {
        server: server.trim_end_matches('/').to_owned(),
        host: host.to_owned(),
        token: body["token"].as_str().unwrap_or_default().to_owned(),
        device_id: body["device"]["id"].as_str().unwrap_or_default().to_owned(),
        nfc_byte_order: body["device"]["nfc_byte_order"]
            .as_str()
            .unwrap_or("msb")
            .to_owned(),
        ..State::default()
    };
    fetch_keys(&mut state).await?;
    save(path, &state)?;
    println!(
        "{}",
        serde_json::json!({ "step": "pair", "device_id": state.device_id })
    );
    Ok(state)
}

fn verify(state: &State, kid: &str, signature: &str, body: &[u8]) -> anyhow::Result<bool> {
    let Some(key) = state.keys.iter().find(|k| k.kid == kid) else {
        return Ok(false);
    };
    let decode = |t: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(t);
    let public: [u8; 32] = decode(&key.x)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("key {kid} is not 32 bytes"))?;
    let signature: [u8; 64] = decode(signature)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the signature is not 64 bytes"))?;
    Ok(VerifyingKey::from_bytes(&public)?
        .verify(&signing_input(body), &Signature::from_bytes(&signature))
        .is_ok())
}

/// Applies a delta to the held list: its rules are appended (indices remapped), its entries replace or add, its
/// removals go.
fn merge(held: &mut Allowlist, delta: Allowlist) {
    let mut remap = Vec::with_capacity(delta.rules.len());
    for rule in delta.rules {
        let index = match held.rules.iter().position(|r| *r == rule) {
            Some(i) => i,
            None => {
                held.rules.push(rule);
                held.rules.len() - 1
            }
        };
        remap.push(index);
    }
    let mut by_hash: BTreeMap<String, usize> = held
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.0.clone(), i))
        .collect();
    for mut entry in delta.entries {
        for group in &mut entry.3 {
            group.3 = remap.get(group.3).copied().unwrap_or(group.3);
        }
        match by_hash.get(&entry.0) {
            Some(i) => held.entries[*i] = entry,
            None => {
                by_hash.insert(entry.0.clone(), held.entries.len());
                held.entries.push(entry);
            }
        }
    }
    let removed: HashSet<String> = delta.removed.into_iter().collect();
    held.entries.retain(|e| !removed.contains(&e.0));
    held.version = delta.version;
    held.generated_at = delta.generated_at;
    held.anti_passback = delta.anti_passback;
}

async fn sync(path: &PathBuf, state: &mut State) -> anyhow::Result<()> {
    let mut url = format!("{}/api/v1/access/allowlist", state.server);
    if let Some(held) = &state.allowlist {
        url.push_str(&format!("?since={}", held.version));
    }
    let response = client()?
        .get(&url)
        .header("host", &state.host)
        .bearer_auth(&state.token)
        .send()
        .await?;
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_default()
    };
    let (kid, signature) = (header("tessera-key-id"), header("tessera-signature"));
    let body = response.bytes().await?;
    if !status.is_success() {
        bail!(
            "allowlist refused ({status}): {}",
            String::from_utf8_lossy(&body)
        );
    }
    if !verify(state, &kid, &signature, &body)? {
        // A key the door does not know yet: fetch the published keys once, then insist.
        fetch_keys(state).await?;
        if !verify(state, &kid, &signature, &body)? {
            bail!("the allowlist's signature does not verify: refused");
        }
    }
    let list: Allowlist = serde_json::from_slice(&body)?;
    if list.device_id != state.device_id {
        bail!("the allowlist was made for another door");
    }
    let full = list.since.is_none();
    match (&mut state.allowlist, full) {
        (Some(held), false) => merge(held, list),
        _ => state.allowlist = Some(list),
    }
    save(path, state)?;
    let held = state.allowlist.as_ref().map_or(0, |l| l.entries.len());
    println!(
        "{}",
        serde_json::json!({ "step": "sync", "full": full, "version": state.allowlist.as_ref().map(|l| l.version), "entries": held, "bytes": body.len() })
    );
    Ok(())
}

/// One line of the input: what the reader read, how it goes to the upload, and the hash it is looked up by.
fn read_line(
    line: &str,
    order: ByteOrder,
) -> anyhow::Result<(Direction, serde_json::Value, Optical2)> {
    let parts: Vec<&str> = line.split_whitespace().collect();
    let (direction, kind, value) = match parts.as_slice() {
        [d, k, v, ..] => (*d, *k, *v),
        _ => bail!("expected `in|out barcode|qr|nfc VALUE [hex|decimal]`: {line}"),
    };
    let direction = Direction::parse(direction).context("direction is in or out")?;
    let encoding = match parts.get(3) {
        Some(&"decimal") => NfcEncoding::Decimal,
        _ => NfcEncoding::Hex,
    };
    let mut credential = serde_json::json!({ "type": kind, "value": value });
    let read = match kind {
        "barcode" | "qr" => match parse_optical(value).map_err(|e| anyhow::anyhow!(e.message))? {
            Optical::Card(n) => Optical2::Plain("card", n),
            Optical::Rotating(code) => Optical2::Rotating(code),
        },
        "nfc" => {
            if encoding == NfcEncoding::Decimal {
                credential["encoding"] = serde_json::json!("decimal");
            }
            Optical2::Plain(
                "nfc",
                normalize_nfc(value, encoding, order).map_err(|e| anyhow::anyhow!(e.message))?,
            )
        }
        other => bail!("unknown credential type {other}"),
    };
    Ok((direction, credential, read))
}

/// A read credential.
enum Optical2 {
    /// `card` or `nfc` with its normalised value.
    Plain(&'static str, String),
    /// A rotating code.
    Rotating(tessera_domain::access::credential::RotatingCode),
}

fn decide_file(path: &PathBuf, state: &mut State, input: &PathBuf) -> anyhow::Result<()> {
    let list = state
        .allowlist
        .clone()
        .context("no allowlist yet: sync first")?;
    let order = ByteOrder::parse(&state.nfc_byte_order).unwrap_or(ByteOrder::Msb);
    let by_hash: HashMap<&str, &tessera_domain::access::allowlist::Entry> =
        list.entries.iter().map(|e| (e.0.as_str(), e)).collect();
    let text = std::fs::read_to_string(input)?;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let now = Utc::now();
        let (direction, credential, read) = read_line(line, order)?;
        let (hash, state_of) = match &read {
            Optical2::Plain(kind, value) => {
                let hash = entry_hash(&list.salt, kind, value);
                let known = by_hash.contains_key(hash.as_str());
                (
                    hash,
                    if known {
                        CredentialState::Active
                    } else {
                        CredentialState::Unknown
                    },
                )
            }
            Optical2::Rotating(code) => {
                let hash = entry_hash(&list.salt, "app", &code.credential_id);
                let verdict = match by_hash.get(hash.as_str()) {
                    None => CredentialState::Unknown,
                    Some(entry) => {
                        let verified = parse_public_key(&entry.1)
                            .is_ok_and(|key| verify_rotating(code, &list.tenant_id, &key));
                        if !verified {
                            CredentialState::Forged
                        } else if !within_window(code, now.timestamp()) {
                            CredentialState::Expired
                        } else if state
                            .seen
                            .contains(&(code.credential_id.clone(), code.issued_at))
                        {
                            CredentialState::Replayed
                        } else {
                            CredentialState::Active
                        }
                    }
                };
                (hash, verdict)
            }
        };
        let entry = by_hash.get(hash.as_str());
        let memberships = entry
            .map(|e| e.memberships(&list.rules))
            .unwrap_or_default();
        let local = local_time(&list.time_zone, now);
        let today = local.date();
        let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        let days = state.visits.get(&hash).cloned().unwrap_or_default();
        let visited_today = days.contains(&today);
        let visit_days =
            u32::try_from(days.iter().filter(|d| **d >= monday && **d < today).count())
                .unwrap_or(u32::MAX);
        let inside = state
            .presence
            .get(&hash)
            .is_some_and(|at| now - *at < Duration::hours(PRESENCE_TIMEOUT_HOURS));
        let decision = decide(&Facts {
            device_ok: true,
            location_id: &list.location_id,
            local,
            direction,
            credential: state_of,
            member_blocked: entry.is_some_and(|e| e.blocked()),
            memberships: &memberships,
            anti_passback: list.anti_passback,
            inside,
            visit_days_this_week: visit_days,
            visited_today,
            // The allowlist carries no billing detail: warnings for the desk are the server's.
            card_valid_until: None,
        });
        if let Optical2::Rotating(code) = &read {
            if state_of == CredentialState::Active {
                state
                    .seen
                    .insert((code.credential_id.clone(), code.issued_at));
            }
        }
        if decision.allowed() {
            match direction {
                Direction::In => {
                    state.presence.insert(hash.clone(), now);
                    let days = state.visits.entry(hash.clone()).or_default();
                    if !days.contains(&today) {
                        days.push(today);
                    }
                }
                Direction::Out => {
                    state.presence.remove(&hash);
                }
            }
        }
        state.next_entry += 1;
        let pending = Pending {
            id: format!("{}-{}", state.device_id, state.next_entry),
            credential,
            direction,
            occurred_at: now,
            decision: if decision.allowed() { "allow" } else { "deny" }.to_owned(),
            reason: decision.reason.map(|r| r.code().to_owned()),
        };
        println!(
            "{}",
            serde_json::json!({ "step": "decide", "id": pending.id, "decision": pending.decision, "reason": pending.reason })
        );
        state.pending.push(pending);
    }
    // Forget rotating codes once out of every window.
    let horizon = Utc::now().timestamp() - 2 * list.qr_window_secs;
    state.seen.retain(|(_, at)| *at >= horizon);
    save(path, state)
}

async fn upload(path: &PathBuf, state: &mut State, keep: bool) -> anyhow::Result<()> {
    let (mut received, mut recorded, mut duplicates, mut flagged) = (0, 0, 0, 0);
    for chunk in state.pending.chunks(UPLOAD_CHUNK) {
        let response = client()?
            .post(format!("{}/api/v1/access/checkins/batch", state.server))
            .header("host", &state.host)
            .bearer_auth(&state.token)
            .json(&serde_json::json!({ "entries": chunk }))
            .send()
            .await?;
        let status = response.status();
        let body: serde_json::Value = response.json().await?;
        if !status.is_success() {
            bail!("upload refused ({status}): {body}");
        }
        received += body["received"].as_u64().unwrap_or(0);
        recorded += body["recorded"].as_u64().unwrap_or(0);
        duplicates += body["duplicates"].as_u64().unwrap_or(0);
        flagged += body["flagged"].as_array().map_or(0, Vec::len);
    }
    if !keep {
        state.pending.clear();
    }
    save(path, state)?;
    println!(
        "{}",
        serde_json::json!({ "step": "upload", "received": received, "recorded": recorded, "duplicates": duplicates, "flagged": flagged })
    );
    Ok(())
}

/// Runs the asked steps.
pub async fn run(steps: Steps) -> anyhow::Result<()> {
    let mut state = match &steps.pair {
        Some(code) => {
            let server = steps.server.as_deref().context("--pair needs --server")?;
            let tenant = steps.tenant.as_deref().context("--pair needs --tenant")?;
            let url = reqwest::Url::parse(server).context("--server is a URL")?;
            let host = match url.port() {
                Some(port) => format!("{tenant}.localhost:{port}"),
                None => format!("{tenant}.localhost"),
            };
            pair(&steps.state, server, &host, code).await?
        }
        None => load(&steps.state)?,
    };
    if steps.sync {
        sync(&steps.state, &mut state).await?;
    }
    if let Some(input) = &steps.decide {
        decide_file(&steps.state, &mut state, input)?;
    }
    if steps.upload {
        upload(&steps.state, &mut state, steps.keep_pending).await?;
    }
    Ok(())
}
