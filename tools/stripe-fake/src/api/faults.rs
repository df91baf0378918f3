//! Injected API faults: the next N requests whose path starts with a prefix fail or hang, before or after
//! the operation is applied, to give Tessera unknown outcomes to reconcile.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer 500 without applying anything (nothing saved under the idempotency key).
    ErrorBefore,
    /// Apply the operation, then answer 500; as in Stripe, the 500 is what the idempotency key replays.
    ErrorAfter,
    /// Hold the request, then answer 500 without applying anything.
    TimeoutBefore,
    /// Apply the operation (its answer saved under the idempotency key), then hold the connection before
    /// answering: the client times out without knowing the outcome.
    TimeoutAfter,
}

/// One armed fault.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Fault {
    /// Requests whose path starts with this (`/v1/payment_intents`) are affected.
    pub path_prefix: String,
    /// Only this method (`POST`, `GET`), or any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// How many matching requests are affected.
    #[serde(default = "one")]
    pub count: u32,
    /// What happens to them.
    pub kind: FaultKind,
    /// How long a timeout holds the connection, in milliseconds (default 30 s; set it longer than the
    /// client's timeout).
    #[serde(default = "default_hang_ms")]
    pub hang_ms: u64,
}

fn one() -> u32 {
    1
}

fn default_hang_ms() -> u64 {
    30_000
}

impl Fault {
    /// How long to hold the connection.
    pub fn hang(&self) -> Duration {
        Duration::from_millis(self.hang_ms)
    }
}

/// Takes one use of the first armed fault matching the request, if any.
pub fn take(faults: &mut Vec<Fault>, method: &str, path: &str) -> Option<Fault> {
    let i = faults.iter().position(|f| {
        f.count > 0
            && path.starts_with(&f.path_prefix)
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
    })?;
    faults[i].count -= 1;
    let fault = faults[i].clone();
    if faults[i].count == 0 {
        faults.remove(i);
    }
    Some(fault)
}
