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

impl std::str::FromStr for Fault {
    type Err = String;

    /// Parses the emulator's `--fault` syntax: `KIND[,key=value]...`, e.g.
    /// `throttling,action=GetSecretValue,rate=0.1,retry-after-ms=500` or
    /// `slow,delay-ms=2000,resource=app/db,times=3`. Without `times` the rule never runs out.
    /// Every problem of the spec is reported at once.
    fn from_str(spec: &str) -> Result<Self, String> {
        const KINDS: &str = "throttling, internal-failure, service-unavailable, slow, reset, malformed-json, expire-credentials";
        const KEYS: &str = "action, resource, region, times, rate, retry-after-ms, delay-ms";
        let mut parts = spec.split(',').map(str::trim);
        let kind = parts.next().unwrap_or("");
        let mut problems = Vec::new();
        let (mut action, mut resource, mut region) = (None, None, None);
        let (mut times, mut rate, mut retry_after, mut delay) = (usize::MAX, 1.0, None, None);
        for part in parts {
            let Some((key, value)) = part.split_once('=') else {
                problems.push(format!("{part:?} is not key=value (keys: {KEYS})"));
                continue;
            };
            let value = value.trim();
            let millis = |problems: &mut Vec<String>| match value.parse::<u64>() {
                Ok(ms) => Some(Duration::from_millis(ms)),
                Err(_) => {
                    problems.push(format!(
                        "{key}={value:?} is not a whole number of milliseconds"
                    ));
                    None
                }
            };
            match key.trim() {
                "action" => action = Some(value.to_owned()),
                "resource" => resource = Some(value.to_owned()),
                "region" => region = Some(value.to_owned()),
                "times" => match value.parse::<usize>() {
                    Ok(n) if n > 0 => times = n,
                    _ => problems.push(format!("times={value:?} must be a whole number above 0")),
                },
                "rate" => match value.parse::<f64>() {
                    Ok(r) if r > 0.0 && r <= 1.0 => rate = r,
                    _ => problems.push(format!("rate={value:?} must be a number in (0, 1]")),
                },
                "retry-after-ms" => retry_after = millis(&mut problems),
                "delay-ms" => delay = millis(&mut problems),
                other => problems.push(format!("unknown key {other:?} (keys: {KEYS})")),
            }
        }
        let a = action.as_deref();
        let fault = match kind {
            "throttling" => Some(Self::throttling(a, times)),
            "internal-failure" => Some(Self::internal_failure(a, times)),
            "service-unavailable" => Some(Self::service_unavailable(a, times)),
            "reset" => Some(Self::reset(a, times)),
            "malformed-json" => Some(Self::malformed_json(a, times)),
            "expire-credentials" => Some(Self::expire_credentials(a, times)),
            "slow" => match delay {
                Some(d) => Some(Self::slow(a, d, times)),
                None => {
                    problems.push("slow needs delay-ms=<milliseconds>".into());
                    None
                }
            },
            other => {
                problems.push(format!("unknown fault kind {other:?} (kinds: {KINDS})"));
                None
            }
        };
        if retry_after.is_some()
            && !matches!(
                kind,
                "throttling" | "internal-failure" | "service-unavailable"
            )
        {
            problems.push(format!(
                "retry-after-ms applies to error kinds only, not {kind}"
            ));
        }
        if delay.is_some() && kind != "slow" {
            problems.push(format!("delay-ms applies to slow only, not {kind}"));
        }
        match fault {
            Some(mut f) if problems.is_empty() => {
                f.resource = resource;
                f.region = region;
                f.rate = rate;
                if let Some(d) = retry_after {
                    f = f.with_retry_after(d);
                }
                Ok(f)
            }
            _ => Err(format!("fault {spec:?}: {}", problems.join("; "))),
        }
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
    fn cli_specs_parse_and_bad_ones_list_every_problem() {
        let f: Fault =
            "throttling,action=GetSecretValue,rate=0.5,retry-after-ms=250,resource=app/db"
                .parse()
                .unwrap();
        assert_eq!(f.action.as_deref(), Some("GetSecretValue"));
        assert_eq!(f.resource.as_deref(), Some("app/db"));
        assert_eq!(f.times, usize::MAX);
        assert_eq!(f.rate, 0.5);
        assert!(matches!(
            f.kind,
            FaultKind::Error { ref code, retry_after: Some(d), .. }
                if code == "Rejected.Throttling" && d == Duration::from_millis(250)
        ));
        let s: Fault = "slow,delay-ms=1500,times=2,region=cn-hangzhou"
            .parse()
            .unwrap();
        assert_eq!(s.kind, FaultKind::Delay(Duration::from_millis(1500)));
        assert_eq!((s.times, s.region.as_deref()), (2, Some("cn-hangzhou")));
        assert_eq!("reset".parse::<Fault>().unwrap().kind, FaultKind::Reset);

        let err = "slow,rate=2,times=0,colour=red,retry-after-ms=x"
            .parse::<Fault>()
            .unwrap_err();
        for want in [
            "rate=\"2\" must be a number in (0, 1]",
            "times=\"0\" must be a whole number above 0",
            "unknown key \"colour\"",
            "retry-after-ms=\"x\" is not a whole number of milliseconds",
            "slow needs delay-ms",
        ] {
            assert!(err.contains(want), "missing {want:?} in {err}");
        }
        let err = "flood".parse::<Fault>().unwrap_err();
        assert!(
            err.contains("unknown fault kind \"flood\"") && err.contains("throttling"),
            "{err}"
        );
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
