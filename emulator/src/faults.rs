//! Fault injection seam: make the next N matching calls fail the way the cloud does
//! (throttling, 5xx), so the provider's retry and error paths can be tested.
//! Faults fire before authentication, as a gateway's throttling does.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::http::StatusCode;

use crate::error::ApiError;

/// One injected failure rule.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Only calls with this Action; `None` matches every action.
    pub action: Option<String>,
    pub status: u16,
    pub code: String,
    pub message: String,
    /// How many matching calls fail before the rule is used up.
    pub times: usize,
}

impl Fault {
    /// `Rejected.Throttling` (HTTP 400, as KMS reports QPS limits) for the next `times` calls.
    pub fn throttling(action: Option<&str>, times: usize) -> Self {
        Self {
            action: action.map(str::to_owned),
            status: 400,
            code: "Rejected.Throttling".into(),
            message: "QPS Limit Exceeded".into(),
            times,
        }
    }

    /// `InternalFailure` (HTTP 500) for the next `times` calls.
    pub fn internal_failure(action: Option<&str>, times: usize) -> Self {
        Self {
            action: action.map(str::to_owned),
            status: 500,
            code: "InternalFailure".into(),
            message: "Internal Failure".into(),
            times,
        }
    }
}

/// Pending faults, consumed in insertion order.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<VecDeque<Fault>>,
}

impl Faults {
    pub fn push(&self, fault: Fault) {
        if fault.times > 0 {
            self.rules
                .lock()
                .expect("faults lock poisoned")
                .push_back(fault);
        }
    }

    pub fn clear(&self) {
        self.rules.lock().expect("faults lock poisoned").clear();
    }

    /// The error for this call, if a rule matches; uses up one of its `times`.
    pub fn take(&self, action: &str) -> Option<ApiError> {
        let mut rules = self.rules.lock().expect("faults lock poisoned");
        let idx = rules
            .iter()
            .position(|f| f.action.as_deref().is_none_or(|a| a == action))?;
        let rule = &mut rules[idx];
        rule.times -= 1;
        let err = ApiError {
            status: StatusCode::from_u16(rule.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: rule.code.clone(),
            message: rule.message.clone(),
        };
        if rule.times == 0 {
            rules.remove(idx);
        }
        Some(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_action_and_run_out() {
        let f = Faults::default();
        f.push(Fault::throttling(Some("GetSecretValue"), 2));
        assert!(f.take("GetParameter").is_none());
        assert_eq!(
            f.take("GetSecretValue").unwrap().code,
            "Rejected.Throttling"
        );
        assert_eq!(
            f.take("GetSecretValue").unwrap().status,
            StatusCode::BAD_REQUEST
        );
        assert!(f.take("GetSecretValue").is_none());
        f.push(Fault::internal_failure(None, 1));
        assert_eq!(
            f.take("Anything").unwrap().status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
