//! Validation errors. A mount request is checked completely before any backend call, and every problem is
//! reported at once so a user fixes their SecretProviderClass in one round trip instead of one per error.
//!
//! Messages name where the problem is (`objects[2] (objectName "db-pass")`, `parameter "region"`), the field,
//! what was wrong and what is allowed. They never quote secrets, access keys or service-account tokens.

use std::fmt;

/// One problem in a mount request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// What holds the problem, e.g. `objects[2] (objectName "db-pass")` or `parameter "region"`.
    pub subject: String,
    /// The field inside the subject, e.g. `filePermission` or `jmesPath[0].objectAlias`.
    pub field: Option<String>,
    /// What was wrong and what is allowed.
    pub message: String,
}

impl ConfigError {
    /// A problem with the subject as a whole.
    pub fn new(subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            field: None,
            message: message.into(),
        }
    }

    /// A problem with one field of the subject.
    pub fn field(
        subject: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            field: Some(field.into()),
            message: message.into(),
        }
    }

    fn render(&self) -> String {
        match &self.field {
            Some(field) => format!("{}, field \"{}\": {}", self.subject, field, self.message),
            None => format!("{}: {}", self.subject, self.message),
        }
    }
}

/// Every problem found in one mount request, in the order they were found (never empty when returned as an
/// error). `Display` prints one line per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ConfigErrors {
    /// The problems, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// How many problems there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none (only while collecting).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        Self(vec![e])
    }
}

/// Quotes user text for a message: JSON-style escaping keeps control characters visible and the message on one
/// line; long text is shortened so a pasted blob does not flood the log.
pub(crate) fn quote(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    let shown: String = text.chars().take(MAX_CHARS).collect();
    let mut out = serde_json::to_string(&shown).unwrap_or_else(|_| "\"?\"".to_string());
    if shown.len() < text.len() {
        out.push_str(&format!(" (truncated, {} bytes)", text.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_one_line_per_error_with_subject_and_field() {
        let errs = ConfigErrors(vec![
            ConfigError::field("objects[0] (objectName \"a\")", "objectType", "bad"),
            ConfigError::new("parameter \"objects\"", "missing"),
        ]);
        assert_eq!(
            errs.to_string(),
            "objects[0] (objectName \"a\"), field \"objectType\": bad\nparameter \"objects\": missing"
        );
    }

    #[test]
    fn quote_escapes_controls_and_truncates() {
        assert_eq!(quote("a\nb"), "\"a\\nb\"");
        let long = "x".repeat(200);
        assert!(quote(&long).ends_with("(truncated, 200 bytes)"));
    }
}
