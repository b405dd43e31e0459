//! Fault injection seam: make matching calls fail the way the cloud (or the network) does, so the
//! provider's retry, refresh and error paths can be tested end to end.
//!
//! A rule matches by Action and, optionally, by resource (`SecretName` / `Name` as sent); it fires
//! on a deterministic share of the matching calls (`rate`) until it has fired `times` times. Faults
//! fire before authentication, as a gateway's throttling does.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// What a firing rule does to the call.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// An Alibaba error answer, optionally with an `x-acs-retry-after` header (milliseconds).
    Error {
        status: u16,
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The call is answered normally, after this delay (to push it past a client's timeout).
    Delay(Duration),
    /// The connection is dropped without a complete answer (a reset mid-response).
    Reset,
    /// HTTP 200 with a body that is not JSON.
    MalformedJson,
    /// Every temporary (STS / ECS) key issued so far expires now; the call then goes on and the
    /// caller's own expired key is refused with `InvalidSecurityToken.Expired` (expiry mid-flight).
    ExpireCredentials,
}

/// One injected failure rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// Only calls with this Action; `None` matches every action.
    pub action: Option<String>,
    /// Only calls naming this secret / parameter (`SecretName` or `Name` exactly as sent).
    pub resource: Option<String>,
    /// Only calls with this `RegionId` parameter (OOS calls send it; KMS calls do not).
    pub region: Option<String>,
    /// What happens when the rule fires.
    pub kind: FaultKind,
    /// How many times the rule fires before it is used up (`usize::MAX`: never used up).
    pub times: usize,
    /// Share of the matching calls that fire, in (0, 1]; spread evenly and deterministically
    /// (0.5 fires on every second matching call).
    pub rate: f64,
}

impl Fault {
    /// A rule of `kind` for the next `times` calls of `action` (every action when `None`).
    pub fn new(action: Option<&str>, kind: FaultKind, times: usize) -> Self {
        Self {
            action: action.map(str::to_owned),
            resource: None,
            region: None,
            kind,
            times,
            rate: 1.0,
        }
    }

    /// An Alibaba error answer.
    pub fn error(
        action: Option<&str>,
        status: u16,
        code: &str,
        message: &str,
        times: usize,
    ) -> Self {
        Self::new(
            action,
            FaultKind::Error {
                status,
                code: code.into(),
                message: message.into(),
                retry_after: None,
            },
            times,
        )
    }

    /// `Rejected.Throttling` (HTTP 400, as KMS reports QPS limits) for the next `times` calls.
    pub fn throttling(action: Option<&str>, times: usize) -> Self {
        Self::error(
            action,
            400,
            "Rejected.Throttling",
            "QPS Limit Exceeded",
            times,
        )
    }

    /// `InternalFailure` (HTTP 500) for the next `times` calls.
    pub fn internal_failure(action: Option<&str>, times: usize) -> Self {
        Self::error(action, 500, "InternalFailure", "Internal Failure", times)
    }

    /// `ServiceUnavailableTemporary` (HTTP 503) for the next `times` calls.
    pub fn service_unavailable(action: Option<&str>, times: usize) -> Self {
        Self::error(
            action,
            503,
            "ServiceUnavailableTemporary",
            "The service is temporarily unavailable.",
            times,
        )
    }

    /// Answers the next `times` calls only after `delay`.
    pub fn slow(action: Option<&str>, delay: Duration, times: usize) -> Self {
        Self::new(action, FaultKind::Delay(delay), times)
    }

    /// Drops the connection of the next `times` calls without a complete answer.
    pub fn reset(action: Option<&str>, times: usize) -> Self {
        Self::new(action, FaultKind::Reset, times)
    }

    /// Answers the next `times` calls with HTTP 200 and a body that is not JSON.
    pub fn malformed_json(action: Option<&str>, times: usize) -> Self {
        Self::new(action, FaultKind::MalformedJson, times)
    }

    /// Expires every issued temporary key at the next `times` calls (see [`FaultKind::ExpireCredentials`]).
    pub fn expire_credentials(action: Option<&str>, times: usize) -> Self {
        Self::new(action, FaultKind::ExpireCredentials, times)
    }

    /// Adds `x-acs-retry-after: <ms>` to an error answer (no effect on other kinds).
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        if let FaultKind::Error { retry_after, .. } = &mut self.kind {
            *retry_after = Some(after);
        }
        self
    }

    /// Only calls naming this secret or parameter.
    pub fn for_resource(mut self, name: &str) -> Self {
        self.resource = Some(name.to_owned());
        self
    }

    /// Only calls with this `RegionId` (OOS; a failover test's primary region).
    pub fn for_region(mut self, region: &str) -> Self {
        self.region = Some(region.to_owned());
        self
    }

    /// Fires on this share of the matching calls, clamped to (0, 1].
    pub fn with_rate(mut self, rate: f64) -> Self {
        self.rate = if rate.is_finite() && rate > 0.0 {
            rate.min(1.0)
        } else {
            1.0
        };
        self
    }
}

/// A rule and how many calls it has matched so far (for `rate`).
struct Rule {
    fault: Fault,
    matched: u64,
}

/// Pending faults; the first matching rule (in insertion order) decides.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<VecDeque<Rule>>,
}

impl Faults {
    pub fn push(&self, fault: Fault) {
        if fault.times > 0 {
            self.rules
                .lock()
                .expect("faults lock poisoned")
                .push_back(Rule { fault, matched: 0 });
        }
    }

    pub fn clear(&self) {
        self.rules.lock().expect("faults lock poisoned").clear();
    }

    /// What to do to this call, if a rule matches and fires; uses up one of its `times`.
    pub fn take(
        &self,
        action: &str,
        resource: Option<&str>,
        region: Option<&str>,
    ) -> Option<FaultKind> {
        let mut rules = self.rules.lock().expect("faults lock poisoned");
        let idx = rules.iter().position(|r| {
            r.fault.action.as_deref().is_none_or(|a| a == action)
                && r.fault
                    .resource
                    .as_deref()
                    .is_none_or(|want| resource == Some(want))
                && r.fault
                    .region
                    .as_deref()
                    .is_none_or(|want| region == Some(want))
        })?;
        let rule = &mut rules[idx];
        rule.matched += 1;
        // Fires when the running share crosses a whole number: exact and evenly spread.
        let fires = (rule.matched as f64 * rule.fault.rate).floor()
            > ((rule.matched - 1) as f64 * rule.fault.rate).floor();
        if !fires {
            return None;
        }
        let kind = rule.fault.kind.clone();
        if rule.fault.times != usize::MAX {
            rule.fault.times -= 1;
            if rule.fault.times == 0 {
                rules.remove(idx);
            }
        }
        Some(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(k: Option<FaultKind>) -> Option<String> {
        match k? {
            FaultKind::Error { code, .. } => Some(code),
            other => Some(format!("{other:?}")),
        }
    }

    #[test]
    fn rules_match_by_action_and_run_out() {
        let f = Faults::default();
        f.push(Fault::throttling(Some("GetSecretValue"), 2));
        assert!(f.take("GetParameter", None, None).is_none());
        assert_eq!(
            code(f.take("GetSecretValue", None, None)).unwrap(),
            "Rejected.Throttling"
        );
        assert!(f.take("GetSecretValue", None, None).is_some());
        assert!(f.take("GetSecretValue", None, None).is_none());
        f.push(Fault::internal_failure(None, 1));
        assert_eq!(
            code(f.take("Anything", None, None)).unwrap(),
            "InternalFailure"
        );
    }

    #[test]
    fn rules_match_by_resource() {
        let f = Faults::default();
        f.push(Fault::reset(Some("GetSecretValue"), 1).for_resource("app/db"));
        assert!(f.take("GetSecretValue", Some("other"), None).is_none());
        assert!(f.take("GetSecretValue", None, None).is_none());
        assert_eq!(
            f.take("GetSecretValue", Some("app/db"), None),
            Some(FaultKind::Reset)
        );
        assert!(f.take("GetSecretValue", Some("app/db"), None).is_none());
        f.push(Fault::service_unavailable(None, 1).for_region("cn-hangzhou"));
        assert!(
            f.take("GetSecretParameter", Some("p"), Some("cn-shanghai"))
                .is_none()
        );
        assert!(f.take("GetSecretParameter", Some("p"), None).is_none());
        assert!(
            f.take("GetSecretParameter", Some("p"), Some("cn-hangzhou"))
                .is_some()
        );
    }

    #[test]
    fn rate_spreads_firings_evenly_and_forever_never_runs_out() {
        let f = Faults::default();
        f.push(Fault::malformed_json(None, usize::MAX).with_rate(0.25));
        let fired: Vec<bool> = (0..12).map(|_| f.take("X", None, None).is_some()).collect();
        assert_eq!(fired.iter().filter(|b| **b).count(), 3, "{fired:?}");
        assert!(fired[3] && fired[7] && fired[11], "{fired:?}");
    }

    #[test]
    fn retry_after_only_applies_to_errors() {
        let t = Fault::throttling(None, 1).with_retry_after(Duration::from_millis(300));
        assert!(matches!(
            t.kind,
            FaultKind::Error { retry_after: Some(d), .. } if d == Duration::from_millis(300)
        ));
        let s =
            Fault::slow(None, Duration::from_secs(1), 1).with_retry_after(Duration::from_millis(3));
        assert_eq!(s.kind, FaultKind::Delay(Duration::from_secs(1)));
    }
}
