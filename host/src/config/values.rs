//! Checks of single parameter values: regions, ARNs, endpoints, flags, plugin references. Each returns what is
//! wrong and what is allowed; the caller adds where.

use super::error::quote;
use super::spec::PluginRef;

/// Longest region id accepted (real ones are ~20 characters).
const MAX_REGION_LEN: usize = 64;

/// A region id such as `cn-hangzhou`: lowercase letters, digits and single inner hyphens. It becomes part of a
/// host name, so nothing else may pass.
pub fn check_region(text: &str) -> Result<(), String> {
    let ok = !text.is_empty()
        && text.len() <= MAX_REGION_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a region id; expected lowercase letters, digits and hyphens, e.g. \"cn-hangzhou\"",
            quote(text)
        ))
    }
}

/// The parts of `acs:kms:<region>:<account>:secret/<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsArn {
    /// The ARN's region.
    pub region: String,
    /// The account id.
    pub account: String,
    /// The secret name.
    pub name: String,
}

/// Parses a KMS secret ARN. `service` problems (e.g. an `acs:oos:` ARN) get their own message.
pub fn parse_kms_arn(text: &str) -> Result<KmsArn, String> {
    const SHAPE: &str = "expected \"acs:kms:<region>:<account id>:secret/<secret name>\"";
    let parts: Vec<&str> = text.splitn(5, ':').collect();
    if parts.len() != 5 || parts[0] != "acs" {
        return Err(format!("{} is not a valid ARN; {SHAPE}", quote(text)));
    }
    if parts[1] != "kms" {
        return Err(format!(
            "ARN {} is for service {}; only KMS secret ARNs ({SHAPE}) are accepted, OOS parameters are named without an ARN",
            quote(text),
            quote(parts[1])
        ));
    }
    check_region(parts[2]).map_err(|e| format!("ARN {}: region {e}", quote(text)))?;
    if parts[3].is_empty() || !parts[3].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "ARN {}: account {} must be digits; {SHAPE}",
            quote(text),
            quote(parts[3])
        ));
    }
    let name = match parts[4].strip_prefix("secret/") {
        Some(name) if !name.is_empty() => name,
        _ => {
            return Err(format!(
                "ARN {}: resource {} must be \"secret/<secret name>\"",
                quote(text),
                quote(parts[4])
            ));
        }
    };
    Ok(KmsArn {
        region: parts[2].to_string(),
        account: parts[3].to_string(),
        name: name.to_string(),
    })
}

/// A RAM role ARN: `acs:ram::<account id>:role/<role name>`.
pub fn check_role_arn(text: &str) -> Result<(), String> {
    let ok = text
        .strip_prefix("acs:ram::")
        .and_then(|rest| rest.split_once(":role/"))
        .is_some_and(|(account, role)| {
            !account.is_empty()
                && account.bytes().all(|b| b.is_ascii_digit())
                && !role.is_empty()
                && !role.chars().any(|c| c.is_control() || c.is_whitespace())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a RAM role ARN; expected \"acs:ram::<account id>:role/<role name>\"",
            quote(text)
        ))
    }
}

/// A backend endpoint: `host[:port]` (HTTPS, as upstream's `kmsEndpoint`) or `https://host[:port]`;
/// `http://` only for loopback (the local emulator). Returns the normalized `scheme://host[:port]`.
pub fn parse_endpoint(text: &str) -> Result<String, String> {
    const ALLOWED: &str = "expected \"host[:port]\" or \"https://host[:port]\" (http:// only for 127.0.0.1, [::1] or localhost)";
    let full = if text.contains("://") {
        text.to_string()
    } else {
        format!("https://{text}")
    };
    let bad = || format!("{} is not an endpoint; {ALLOWED}", quote(text));
    let url = url::Url::parse(&full).map_err(|_| bad())?;
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    if !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
        || url.path() != "/"
    {
        return Err(format!(
            "{} has a path, query or user info; {ALLOWED}",
            quote(text)
        ));
    }
    let loopback = matches!(host, "localhost" | "[::1]") || host.starts_with("127.");
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{} uses plain http to a non-loopback host, which would expose credentials; use https",
                quote(text)
            ));
        }
        _ => return Err(bad()),
    }
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

/// `true`/`True`/`false`/`False` (upstream only understood `true`; anything else silently meant false).
pub fn parse_flag(text: &str) -> Result<bool, String> {
    match text {
        "true" | "True" => Ok(true),
        "false" | "False" | "" => Ok(false),
        _ => Err(format!(
            "{} is not a boolean; use \"true\" or \"false\"",
            quote(text)
        )),
    }
}

/// `<name>[@sha256:<64 lowercase hex>]` with name `^[a-z0-9][a-z0-9-]{0,62}$`.
pub fn parse_plugin_ref(text: &str) -> Result<PluginRef, String> {
    // `oci://registry/repo:tag` or `…@sha256:<manifest digest>`: the name keeps registry, repo and tag.
    if text.starts_with(crate::transform::oci::SCHEME) {
        let r = crate::transform::oci::OciReference::parse(text)?;
        let name = match &r.tag {
            Some(t) => format!("{}:{t}", r.name()),
            None => r.name(),
        };
        return Ok(PluginRef {
            name,
            digest: r.digest,
        });
    }
    let (name, digest) = match text.split_once('@') {
        Some((name, pin)) => {
            let hex = pin.strip_prefix("sha256:").filter(|h| {
                h.len() == 64
                    && h.bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            });
            match hex {
                Some(hex) => (name, Some(hex.to_string())),
                None => {
                    return Err(format!(
                        "{} has a bad pin; expected \"<name>@sha256:<64 lowercase hex digits>\"",
                        quote(text)
                    ));
                }
            }
        }
        None => (text, None),
    };
    let name_ok = name.len() <= 63
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !name_ok {
        return Err(format!(
            "{} is not a plugin name; expected 1-63 lowercase letters, digits and hyphens, starting with a letter or digit, optionally followed by \"@sha256:<digest>\"",
            quote(name)
        ));
    }
    Ok(PluginRef {
        name: name.to_string(),
        digest,
    })
}

/// `crossAccountRoleSessionName`: 2-64 characters of `[A-Za-z0-9_.@-]` (STS rule).
pub fn check_session_name(text: &str) -> Result<(), String> {
    let ok = (2..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{} is not a session name; expected 2-64 characters of letters, digits, \"_\", \".\", \"@\" and \"-\"",
            quote(text)
        ))
    }
}

/// `crossAccountExternalId`: 2-1224 characters (STS rule).
pub fn check_external_id(text: &str) -> Result<(), String> {
    let n = text.chars().count();
    if (2..=1224).contains(&n) && !text.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(format!(
            "must be 2-1224 printable characters (this one has {n} characters or a control character)"
        ))
    }
}

/// `crossAccountRoleDuration`: whole seconds, 900-43200 (STS `DurationSeconds`).
pub fn parse_duration_seconds(text: &str) -> Result<u32, String> {
    let digits = text.strip_suffix('s').unwrap_or(text);
    match digits.parse::<u32>() {
        Ok(n) if (900..=43_200).contains(&n) && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!(
            "{} is not a role duration; expected whole seconds from 900 to 43200, e.g. \"3600\"",
            quote(text)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert!(check_region("cn-hangzhou").is_ok());
        assert!(check_region("ap-southeast-1").is_ok());
        for bad in [
            "",
            "CN-hangzhou",
            "cn_hangzhou",
            "-cn",
            "cn-",
            "a--b",
            "evil.com/x",
        ] {
            assert!(check_region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kms_arns() {
        let arn = parse_kms_arn("acs:kms:cn-hangzhou:1234567890:secret/db/pass").unwrap();
        assert_eq!(arn.region, "cn-hangzhou");
        assert_eq!(arn.account, "1234567890");
        assert_eq!(arn.name, "db/pass");
        assert!(
            parse_kms_arn("acs:oos:cn-hangzhou:1:secretparameter/x")
                .unwrap_err()
                .contains("service \"oos\"")
        );
        for bad in [
            "acs:kms:cn-hangzhou:123:key/x",
            "acs:kms:cn-hangzhou:12a:secret/x",
            "acs:kms::123:secret/x",
            "acs:kms:cn-hangzhou:123:secret/",
            "acs:kms:cn-hangzhou",
        ] {
            assert!(parse_kms_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert!(check_role_arn("acs:ram::1234567890123456:role/app-role").is_ok());
        for bad in [
            "acs:ram:cn:123:role/x",
            "acs:ram::abc:role/x",
            "acs:ram::123:role/",
            "arn:aws:iam::1:role/x",
        ] {
            assert!(check_role_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            parse_endpoint("kms.cn-hangzhou.aliyuncs.com").unwrap(),
            "https://kms.cn-hangzhou.aliyuncs.com"
        );
        assert_eq!(
            parse_endpoint("https://kst-x.cryptoservice.kms.aliyuncs.com:8443/").unwrap(),
            "https://kst-x.cryptoservice.kms.aliyuncs.com:8443"
        );
        assert_eq!(
            parse_endpoint("http://127.0.0.1:18080").unwrap(),
            "http://127.0.0.1:18080"
        );
        for bad in [
            "http://kms.example.com",
            "https://a/b",
            "ftp://h",
            "https://u:p@h",
            "",
            "https://h?x=1",
            "h h",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flag("True"), Ok(true));
        assert_eq!(parse_flag("false"), Ok(false));
        assert!(parse_flag("yes").is_err());
        assert!(parse_flag("TRUE").is_err());
    }

    #[test]
    fn plugin_refs() {
        assert_eq!(parse_plugin_ref("jmespath").unwrap().digest, None);
        let d = "a".repeat(64);
        assert_eq!(
            parse_plugin_ref(&format!("db-url@sha256:{d}"))
                .unwrap()
                .digest,
            Some(d)
        );
        for bad in [
            "",
            "-x",
            "Upper",
            "a_b",
            &"a".repeat(64),
            "x@sha256:abc",
            "x@md5:00",
            &format!("x@sha256:{}", "A".repeat(64)),
        ] {
            assert!(parse_plugin_ref(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn oci_plugin_refs_keep_registry_repo_and_tag() {
        let d = "b".repeat(64);
        let pinned =
            parse_plugin_ref(&format!("oci://reg.example.com:5000/t/p@sha256:{d}")).unwrap();
        assert_eq!(pinned.name, "oci://reg.example.com:5000/t/p");
        assert_eq!(
            pinned.to_string(),
            format!("oci://reg.example.com:5000/t/p@sha256:{d}")
        );
        let tagged = parse_plugin_ref("oci://reg/p:v1").unwrap();
        assert_eq!(
            (tagged.name.as_str(), tagged.digest),
            ("oci://reg/p:v1", None)
        );
        let err = parse_plugin_ref("oci://reg/p").unwrap_err();
        assert!(err.contains("neither a tag nor a digest"), "{err}");
    }

    #[test]
    fn cross_account_parts() {
        assert!(check_session_name("csi-provider").is_ok());
        assert!(check_session_name("a").is_err());
        assert!(check_session_name("has space").is_err());
        assert!(check_external_id("abc").is_ok());
        assert!(check_external_id("a").is_err());
        assert_eq!(parse_duration_seconds("3600"), Ok(3600));
        assert_eq!(parse_duration_seconds("900s"), Ok(900));
        assert!(parse_duration_seconds("899").is_err());
        assert!(parse_duration_seconds("1h").is_err());
    }
}
