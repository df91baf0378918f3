//! Named fault-injection points of billing work, for the crash tests: with `TESSERA_BILLING_FAULT=<point>`
//! in the environment, the process aborts the first time it reaches that point, exactly as a power cut
//! would (no unwinding, no destructor, no commit). `random:<seed>` picks a point and an occurrence from the
//! seed. Unset (always, in production), [`point`] does nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Every named point, in the order a billing run reaches them.
pub const POINTS: [&str; 6] = [
    "after_invoice_insert",
    "after_numbering",
    "after_invoice_commit",
    "after_attempt_recorded",
    "after_payment_request",
    "after_payment_recorded",
];

enum Plan {
    Off,
    At { point: String, occurrence: u64 },
}

fn plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| match std::env::var("TESSERA_BILLING_FAULT") {
        Err(_) => Plan::Off,
        Ok(value) => match value.strip_prefix("random:") {
            Some(seed) => {
                let seed: u64 = seed.parse().unwrap_or(1);
                // A small deterministic mix of the seed: which point, and on which of its first three passes.
                let mixed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let point = POINTS[(mixed >> 33) as usize % POINTS.len()].to_owned();
                Plan::At {
                    point,
                    occurrence: 1 + (mixed >> 13) % 3,
                }
            }
            None => Plan::At {
                point: value,
                occurrence: 1,
            },
        },
    })
}

/// Marks that billing work reached `name`: aborts the process if the fault plan says so.
pub fn point(name: &str) {
    static SEEN: AtomicU64 = AtomicU64::new(0);
    if let Plan::At { point, occurrence } = plan() {
        if point == name && SEEN.fetch_add(1, Ordering::SeqCst) + 1 == *occurrence {
            eprintln!("billing fault injected at {name}");
            std::process::abort();
        }
    }
}
