//! Parsing and validating mount requests: the driver's `MountRequest` fields and the SecretProviderClass
//! parameters inside them, turned into a [`MountSpec`] before any backend call.
//!
//! Pure logic, no I/O. Our own schema (`objects`) is strict and every problem is reported at once with where it
//! is and what is allowed; the driver's envelope (`attributes` keys) is lenient so new driver keys do not break
//! mounts. Credentials (nodePublishSecretRef data, service-account tokens) are kept in redacting types.

mod attributes;
mod error;
mod manifest;
mod nested;
mod object;
mod objects;
mod path;
mod permission;
mod secrets;
mod spec;
mod tokens;
mod values;
mod yaml;

pub use attributes::{MAX_ATTRIBUTES_BYTES, PARAMETERS, keys};
pub use error::{ConfigError, ConfigErrors};
pub use manifest::{PROVIDER_NAME, attributes_from_manifest};
pub use nested::MAX_TRANSFORM_STEPS;
pub use object::OBJECT_FIELDS;
pub use objects::MAX_OBJECTS;
pub use path::{
    Collision, MAX_PATH_BYTES, MAX_SEGMENT_BYTES, PathTranslation, find_collisions,
    validate_output_path,
};
pub use permission::{DEFAULT_MODE, parse_default_mode, parse_file_permission};
pub use secrets::NodePublishSecrets;
pub use spec::{
    CrossAccount, EndpointType, JmesPathEntry, MountSpec, ObjectKind, ObjectSpec, PluginRef,
    PodInfo, TransformStep,
};
pub use tokens::{ServiceAccountToken, ServiceAccountTokens, TOKENS_KEY};

use secrecy::ExposeSecret;

/// Parses and validates one `MountRequest` (`attributes`, `secrets`, `permission`, `target_path`, as the driver
/// sends them). Returns every problem at once.
pub fn parse_mount_request(
    attributes: &str,
    secrets: &str,
    permission: &str,
    target_path: &str,
) -> Result<MountSpec, ConfigErrors> {
    let mut errors = Vec::new();
    let attrs = attributes::parse_map(attributes, &mut errors);

    let (node_publish_secrets, secret_tokens) = match secrets::parse(secrets) {
        Ok(parsed) => parsed,
        Err(e) => {
            errors.extend(e.0);
            (NodePublishSecrets::default(), None)
        }
    };
    let default_mode = permission::parse_default_mode(permission).unwrap_or_else(|e| {
        errors.push(ConfigError::new("MountRequest.permission", e));
        DEFAULT_MODE
    });

    let attrs_readable = attrs.is_some();
    let attrs = attrs.unwrap_or_default();
    let params = attributes::parameters(&attrs, &mut errors);
    let pod = attributes::pod_info(&attrs, &mut errors);

    // The driver reads tokens from `secrets` first, then from `attributes`; so do we.
    // An empty value counts as absent.
    let from_secrets = secret_tokens
        .as_ref()
        .map(|t| (t.expose_secret(), "MountRequest.secrets"));
    let from_attributes = attrs
        .get(TOKENS_KEY)
        .map(|t| (t.as_str(), "MountRequest.attributes"));
    let service_account_tokens = match [from_secrets, from_attributes]
        .into_iter()
        .flatten()
        .find(|(text, _)| !text.trim().is_empty())
    {
        Some((text, origin)) => tokens::parse(text, origin)
            .map_err(|e| errors.extend(e))
            .ok(),
        None => None,
    };

    let defaults = object::Defaults {
        translation: params.translation,
        region: params.region.as_deref(),
    };
    let objects = match attrs.get("objects") {
        Some(text) => objects::parse(text, &defaults, &mut errors),
        // Only worth saying when the attributes themselves were readable.
        None if attrs_readable => {
            errors.push(ConfigError::new(
                "parameter \"objects\"",
                "is missing; the SecretProviderClass must list the secrets to mount under spec.parameters.objects",
            ));
            Vec::new()
        }
        None => Vec::new(),
    };

    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    Ok(MountSpec {
        objects,
        region: params.region,
        failover_region: params.failover_region,
        endpoint_type: params.endpoint_type,
        pod,
        default_mode,
        node_publish_secrets,
        service_account_tokens,
        use_pod_service_account_token: params.use_pod_service_account_token,
        role_arn: params.role_arn,
        target_path: target_path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> String {
        let map: std::collections::BTreeMap<&str, &str> = pairs.iter().copied().collect();
        serde_json::to_string(&map).unwrap()
    }

    #[test]
    fn minimal_request() {
        let spec =
            parse_mount_request(&attrs(&[("objects", "- objectName: test")]), "", "", "").unwrap();
        assert_eq!(spec.objects.len(), 1);
        assert_eq!(spec.default_mode, 0o644);
        assert!(spec.service_account_tokens.is_none());
        assert!(spec.node_publish_secrets.is_empty());
    }

    #[test]
    fn debug_never_shows_credentials() {
        let tokens = r#"{"sts.aliyuncs.com":{"token":"eyJSA-TOKEN-VALUE","expirationTimestamp":"2026-11-25T03:00:00Z"}}"#;
        let a = attrs(&[
            ("objects", "- objectName: db\n  objectAlias: db.txt"),
            (TOKENS_KEY, tokens),
            (keys::POD_NAME, "web-0"),
        ]);
        let secrets = r#"{"access_key":"LTAI-ACCESS-KEY-ID","access_secret":"ACCESS-SECRET-VALUE","token":"STS-SECURITY-TOKEN"}"#;
        let spec =
            parse_mount_request(&a, secrets, "420", "/var/lib/kubelet/pods/x/mount").unwrap();
        assert_eq!(
            spec.node_publish_secrets
                .get_case_insensitive("ACCESS_SECRET"),
            Some("ACCESS-SECRET-VALUE")
        );
        assert_eq!(
            spec.service_account_tokens
                .as_ref()
                .unwrap()
                .get("sts.aliyuncs.com")
                .unwrap()
                .token(),
            "eyJSA-TOKEN-VALUE"
        );
        let dbg = format!("{spec:?} {spec:#?}");
        for secret in [
            "eyJSA-TOKEN-VALUE",
            "LTAI-ACCESS-KEY-ID",
            "ACCESS-SECRET-VALUE",
            "STS-SECURITY-TOKEN",
        ] {
            assert!(!dbg.contains(secret), "Debug shows {secret}: {dbg}");
        }
        assert!(
            dbg.contains("web-0")
                && dbg.contains("access_secret")
                && dbg.contains("sts.aliyuncs.com")
        );
    }

    #[test]
    fn tokens_in_secrets_win_over_attributes() {
        let a = attrs(&[
            ("objects", "- objectName: db"),
            (TOKENS_KEY, r#"{"a":{"token":"from-attrs"}}"#),
        ]);
        let s = serde_json::json!({ TOKENS_KEY: r#"{"a":{"token":"from-secrets"}}"# }).to_string();
        let spec = parse_mount_request(&a, &s, "", "").unwrap();
        assert_eq!(
            spec.service_account_tokens
                .unwrap()
                .get("a")
                .unwrap()
                .token(),
            "from-secrets"
        );
        assert!(spec.node_publish_secrets.is_empty());
    }

    #[test]
    fn oversized_attributes_are_refused_before_parsing() {
        let big = attrs(&[
            ("objects", "- objectName: db"),
            ("pad", &"x".repeat(MAX_ATTRIBUTES_BYTES)),
        ]);
        let err = parse_mount_request(&big, "", "", "").unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err.to_string().contains("at most 1048576"), "{err}");
    }

    #[test]
    fn empty_tokens_in_secrets_fall_back_to_attributes() {
        let a = attrs(&[
            ("objects", "- objectName: db"),
            (TOKENS_KEY, r#"{"a":{"token":"from-attrs"}}"#),
        ]);
        let s = serde_json::json!({ TOKENS_KEY: "" }).to_string();
        let spec = parse_mount_request(&a, &s, "", "").unwrap();
        assert_eq!(
            spec.service_account_tokens
                .unwrap()
                .get("a")
                .unwrap()
                .token(),
            "from-attrs"
        );
    }

    #[test]
    fn errors_never_quote_tokens() {
        let a = attrs(&[
            ("objects", "- objectName: db"),
            (TOKENS_KEY, r#"{"a":"eyJLEAK"}"#),
        ]);
        let err = parse_mount_request(&a, "", "", "").unwrap_err().to_string();
        assert!(!err.contains("eyJLEAK"), "{err}");
    }
}
