//! Throttling of failed logins, per account and per client address, in this process's memory.
//!
//! A sliding window of failure times per key; at the limit, further attempts are refused with the time until
//! the oldest failure leaves the window. Several server instances each keep their own count, so the effective
//! limit is the limit times the number of instances (docs/architecture.md says so).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed-login counters.
pub(crate) struct LoginThrottle {
    max_failures: u32,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Keys with no failure inside the window are dropped once the map holds this many.
const PRUNE_ABOVE: usize = 10_000;

impl LoginThrottle {
    pub(crate) fn new(max_failures: u32, window: Duration) -> Self {
        Self {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` when any of `keys` is at its limit.
    pub(crate) fn check(&self, keys: &[String]) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for key in keys {
            if let Some(times) = map.get_mut(key) {
                while times
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    times.pop_front();
                }
                if times.len() as u32 >= self.max_failures {
                    let oldest = times.front().copied().unwrap_or(now);
                    let wait = self.window.saturating_sub(now.duration_since(oldest));
                    return Err(wait.as_secs().max(1));
                }
            }
        }
        Ok(())
    }

    /// Records one failure under each key.
    pub(crate) fn record_failure(&self, keys: &[String]) {
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > PRUNE_ABOVE {
            let window = self.window;
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        for key in keys {
            map.entry(key.clone()).or_default().push_back(now);
        }
    }

    /// Forgets an account's failures after a successful login.
    pub(crate) fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_then_clears() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60));
        let keys = vec!["acct:a".to_owned(), "ip:1".to_owned()];
        for _ in 0..3 {
            assert!(throttle.check(&keys).is_ok());
            throttle.record_failure(&keys);
        }
        assert!(throttle.check(&keys).is_err());
        assert!(throttle.check(&["acct:a".to_owned()]).is_err());
        throttle.clear("acct:a");
        assert!(throttle.check(&["acct:a".to_owned()]).is_ok());
        assert!(
            throttle.check(&["ip:1".to_owned()]).is_err(),
            "the address stays throttled"
        );
    }
}
