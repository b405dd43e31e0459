//! `oci://registry/repository[:tag][@sha256:<hex>]` plugin references.
//!
//! The registry part is mandatory (no implicit Docker Hub): a plugin reference should say exactly
//! where the code comes from.

use std::fmt;

/// The scheme that marks a plugin reference as an OCI artifact.
pub const SCHEME: &str = "oci://";

/// A parsed OCI plugin reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OciReference {
    /// `host[:port]`.
    pub registry: String,
    /// `path/of/repo` (lowercase, `/`-separated components).
    pub repository: String,
    /// The tag, when given.
    pub tag: Option<String>,
    /// The manifest digest (lowercase hex, without `sha256:`), when given.
    pub digest: Option<String>,
}

impl OciReference {
    /// Parses `oci://registry/repo:tag`, `oci://registry/repo@sha256:<64 hex>` or both.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: String| {
            format!(
                "{text:?} is not an OCI plugin reference: {why}; expected \
                 \"oci://<registry>/<repository>:<tag>\" or \"oci://<registry>/<repository>@sha256:<64 hex digits>\""
            )
        };
        let rest = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad("it does not start with \"oci://\"".into()))?;
        let (rest, digest) = match rest.split_once('@') {
            Some((rest, pin)) => {
                let hex = pin
                    .strip_prefix("sha256:")
                    .filter(|h| {
                        h.len() == 64
                            && h.bytes()
                                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                    })
                    .ok_or_else(|| {
                        bad("the digest is not \"sha256:\" and 64 lowercase hex digits".into())
                    })?;
                (rest, Some(hex.to_owned()))
            }
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("there is no repository after the registry".into()))?;
        if !valid_registry(registry) {
            return Err(bad(format!(
                "registry {registry:?} is not host[:port] (letters, digits, `.`, `-`)"
            )));
        }
        // A tag follows the last `:` of the last path component (a registry port has its own `:`).
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_owned())),
            _ => (path, None),
        };
        if !valid_repository(repository) {
            return Err(bad(format!(
                "repository {repository:?} must be `/`-separated components of a-z, 0-9, `.`, `_`, `-`"
            )));
        }
        if let Some(tag) = &tag
            && !valid_tag(tag)
        {
            return Err(bad(format!(
                "tag {tag:?} must be 1-128 characters of A-Z, a-z, 0-9, `_`, `.`, `-`, not starting with `.` or `-`"
            )));
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad(
                "it has neither a tag nor a digest (there is no implicit `latest`)".into(),
            ));
        }
        Ok(Self {
            // Host names are case-insensitive: one registry has one name in pins, policies and the store.
            registry: registry.to_ascii_lowercase(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }

    /// `oci://registry/repo`: the plugin's name in logs, metrics and policies (no tag or digest).
    pub fn name(&self) -> String {
        format!("{SCHEME}{}/{}", self.registry, self.repository)
    }

    /// The same repository at `digest` (lowercase hex).
    pub fn at_digest(&self, digest: &str) -> Self {
        Self {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.to_owned()),
        }
    }

    /// `registry/repo:tag` / `registry/repo@sha256:…` as the distribution client parses it.
    pub(crate) fn client_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => format!("{}/{}@sha256:{d}", self.registry, self.repository),
            (None, Some(t)) => format!("{}/{}:{t}", self.registry, self.repository),
            (None, None) => format!("{}/{}", self.registry, self.repository),
        }
    }

    /// Whether the registry is on the loopback interface (plain HTTP is allowed there).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => self.registry.as_str(),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for OciReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@sha256:{d}")?;
        }
        Ok(())
    }
}

fn valid_registry(r: &str) -> bool {
    let (host, port) = match r.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (r, None),
    };
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_repository(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 255
        && r.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        })
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !t.starts_with(['.', '-'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tag_digest_and_port() {
        let r = OciReference::parse("oci://127.0.0.1:5000/team/db-url:v1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/db-url");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert!(r.is_loopback());
        assert_eq!(r.name(), "oci://127.0.0.1:5000/team/db-url");
        let d = "ab".repeat(32);
        let r = OciReference::parse(&format!("oci://reg.example.com/p@sha256:{d}")).unwrap();
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(d.as_str())));
        let r = OciReference::parse(&format!("oci://reg.example.com/p:v2@sha256:{d}")).unwrap();
        assert_eq!(
            r.to_string(),
            format!("oci://reg.example.com/p:v2@sha256:{d}")
        );
        assert!(!r.is_loopback());
        // One registry, one name: the host is case-insensitive (policies and pins compare names).
        let r = OciReference::parse("oci://REG.Example.com/p:v1").unwrap();
        assert_eq!(r.name(), "oci://reg.example.com/p");
    }

    #[test]
    fn rejects_with_the_reason() {
        for (text, why) in [
            ("oci://reg/p", "neither a tag nor a digest"),
            ("oci://reg", "no repository"),
            ("oci://reg/Upper:v1", "repository"),
            ("oci://reg/p@sha256:abc", "64 lowercase hex"),
            ("oci://re g/p:v1", "registry"),
            ("oci://reg/p:-x", "tag"),
            ("reg/p:v1", "oci://"),
        ] {
            let err = OciReference::parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }
}
