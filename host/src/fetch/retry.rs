//! Bounded retries: exponential backoff with jitter, `x-acs-retry-after`, and the caller's deadline.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

use super::{FetchError, RetryPolicy};

/// The delay before retry number `retry` (1-based). A server hint wins; otherwise
/// `base * 2^(retry-1)`, capped, with "equal jitter" (half fixed, half random) so concurrent mounts
/// throttled together do not retry in lockstep.
pub(super) fn backoff_delay(
    policy: &RetryPolicy,
    retry: u32,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(hint) = retry_after {
        return hint;
    }
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let exp = policy
        .base_delay
        .saturating_mul(factor)
        .min(policy.max_delay);
    let half = exp / 2;
    let jitter_ms = rand::rng().random_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter_ms)
}

/// Runs `attempt` until it succeeds, fails for good, runs out of attempts, or the next try would
/// start after `deadline`. `attempt` receives the time left. Returns the value and the attempt count;
/// errors carry the attempt count too.
pub(super) async fn run<T, F, Fut>(
    policy: &RetryPolicy,
    action: &'static str,
    deadline: Instant,
    mut attempt: F,
) -> Result<(T, u32), FetchError>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Result<T, FetchError>>,
{
    let mut n = 0u32;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(FetchError::DeadlineExceeded { action });
        }
        n += 1;
        let err = match attempt(left).await {
            Ok(v) => return Ok((v, n)),
            Err(mut e) => {
                e.set_attempts(n);
                e
            }
        };
        if !err.is_retryable() || n >= policy.max_attempts.max(1) {
            return Err(err);
        }
        let hint = err.api_error().and_then(|a| a.retry_after);
        let delay = backoff_delay(policy, n, hint);
        if Instant::now() + delay >= deadline {
            tracing::debug!(
                action,
                attempts = n,
                "not retrying: the deadline would pass first"
            );
            return Err(err);
        }
        tracing::debug!(action, attempts = n, delay_ms = delay.as_millis() as u64, error = %err, "retrying");
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_capped_and_honour_the_hint() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let d1 = backoff_delay(&p, 1, None);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = backoff_delay(&p, 3, None);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            let d30 = backoff_delay(&p, 30, None);
            assert!(
                d30 >= Duration::from_millis(500) && d30 <= Duration::from_millis(1000),
                "{d30:?}"
            );
        }
        let hint = Duration::from_millis(1234);
        assert_eq!(backoff_delay(&p, 1, Some(hint)), hint);
    }
}
