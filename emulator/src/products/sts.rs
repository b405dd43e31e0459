//! STS 2015-04-01: `AssumeRole` (signed) and `AssumeRoleWithOIDC` (anonymous).
//!
//! Issued credentials are registered as temporary access keys carrying the role's
//! permissions, valid until `Expiration` (see [`crate::temp_keys`]).

use axum::http::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::clock::format_timestamp;
use crate::error::{ApiError, new_request_id};
use crate::request::PopRequest;
use crate::seed::RoleSeed;
use crate::store::Store;
use crate::temp_keys::Issued;

/// Real STS's shortest session.
const MIN_DURATION: u64 = 900;
const DEFAULT_DURATION: u64 = 3600;
const MAX_POLICY: usize = 2048;

pub(super) fn assume_role(
    req: &PopRequest,
    caller: &Caller,
    store: &Store,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let arn = required(req, "RoleArn")?;
    let session = session_name(req)?;
    check_policy(req)?;
    let role = role(store, arn)?;
    let lifetime = lifetime(req, role, store)?;
    if !role.trust.access_keys.contains(&caller.access_key_id) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            format!(
                "You are not authorized to do this action. Access key {:?} is not trusted by role {arn:?}.",
                caller.access_key_id
            ),
        ));
    }
    if let Some(want) = &role.external_id
        && req.param("ExternalId") != Some(want.as_str())
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "NoPermission",
            format!(
                "You are not authorized to do this action. Role {arn:?} requires the ExternalId agreed with its owner."
            ),
        ));
    }
    let issued = store.temp.issue(role.permissions.clone(), now, lifetime);
    Ok(response(store, role, session, &issued))
}

pub(super) fn assume_role_with_oidc(
    req: &PopRequest,
    store: &Store,
    now: OffsetDateTime,
) -> Result<Value, ApiError> {
    let arn = required(req, "RoleArn")?;
    let provider_arn = required(req, "OIDCProviderArn")?;
    let token = required(req, "OIDCToken")?;
    let session = session_name(req)?;
    check_policy(req)?;
    let invalid = |why: &str| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "AuthenticationFail.OIDCToken.Invalid",
            format!("The OIDCToken is invalid: {why}."),
        )
    };
    if !(4..=20000).contains(&token.len()) {
        return Err(invalid("it must be 4 to 20000 characters"));
    }
    let provider = store.oidc_provider_by_arn(provider_arn).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "EntityNotExist.OIDCProvider",
            format!("The OIDC provider {provider_arn:?} does not exist."),
        )
    })?;
    let role = role(store, arn)?;
    let lifetime = lifetime(req, role, store)?;
    let claims = crate::jwt::parse(token).map_err(|why| invalid(&why))?;
    if claims.exp <= now.unix_timestamp() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "AuthenticationFail.OIDCToken.Expired",
            "This JsonWebToken is expired.",
        ));
    }
    if claims.iss != provider.issuer {
        return Err(invalid(&format!(
            "its issuer {:?} is not the issuer of OIDC provider {provider_arn:?}",
            claims.iss
        )));
    }
    if !claims.aud.iter().any(|a| provider.audiences.contains(a)) {
        return Err(invalid(&format!(
            "its audience {:?} contains none of the client ids of OIDC provider {provider_arn:?}",
            claims.aud
        )));
    }
    let trusted = role.trust.oidc_provider_arn.as_deref() == Some(provider_arn)
        && role
            .trust
            .oidc_subjects
            .iter()
            .any(|s| crate::glob::matches(s, &claims.sub));
    if !trusted {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "AuthenticationFail.NoPermission",
            format!(
                "You are not authorized to assume role {arn:?} with subject {:?} from OIDC provider {provider_arn:?}.",
                claims.sub
            ),
        ));
    }
    let issued = store.temp.issue(role.permissions.clone(), now, lifetime);
    let mut body = response(store, role, session, &issued);
    let at = |secs: i64| {
        OffsetDateTime::from_unix_timestamp(secs)
            .map(format_timestamp)
            .unwrap_or_default()
    };
    body["OIDCTokenInfo"] = json!({
        "Subject": claims.sub,
        "Issuer": claims.iss,
        "ClientIds": claims.aud.join(","),
        "IssuanceTime": claims.iat.map(at).unwrap_or_default(),
        "ExpirationTime": at(claims.exp),
        "VerificationInfo": "Success",
    });
    Ok(body)
}

fn required<'a>(req: &'a PopRequest, name: &str) -> Result<&'a str, ApiError> {
    req.non_empty_param(name)
        .ok_or_else(|| ApiError::missing_parameter(name))
}

/// `RoleSessionName`: 2–64 of `A-Za-z0-9_.@-`.
fn session_name(req: &PopRequest) -> Result<&str, ApiError> {
    let name = required(req, "RoleSessionName")?;
    let ok = (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-'));
    if ok {
        Ok(name)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.RoleSessionName",
            format!(
                "The parameter RoleSessionName {name:?} is wrongly formed: use 2 to 64 characters of A-Z a-z 0-9 _ . @ -."
            ),
        ))
    }
}

/// `Policy` must be a JSON document of at most 2048 characters. It is accepted but does
/// not narrow the role's permissions in the emulator.
fn check_policy(req: &PopRequest) -> Result<(), ApiError> {
    let Some(policy) = req.non_empty_param("Policy") else {
        return Ok(());
    };
    if policy.len() > MAX_POLICY || serde_json::from_str::<Value>(policy).is_err() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.PolicyGrammar",
            format!(
                "The parameter Policy must be a JSON policy document of at most {MAX_POLICY} characters."
            ),
        ));
    }
    Ok(())
}

fn role<'a>(store: &'a Store, arn: &str) -> Result<&'a RoleSeed, ApiError> {
    store.role_by_arn(arn).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "EntityNotExist.Role",
            format!(
                "The role {arn:?} does not exist; roles of this account are acs:ram::{}:role/<name>.",
                store.account_id
            ),
        )
    })
}

/// Seconds the credential lives: the seed's override, else `DurationSeconds`
/// (900 … the role's maxSessionDuration, default 3600).
fn lifetime(req: &PopRequest, role: &RoleSeed, store: &Store) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter.DurationSeconds",
            format!(
                "The parameter DurationSeconds must be an integer from {MIN_DURATION} to {} (the role's MaxSessionDuration).",
                role.max_session_duration
            ),
        )
    };
    let asked = match req.non_empty_param("DurationSeconds") {
        None => DEFAULT_DURATION,
        Some(v) => v.parse::<u64>().map_err(|_| bad())?,
    };
    let min = if store.sts_lifetime.is_some() {
        1
    } else {
        MIN_DURATION
    };
    if !(min..=role.max_session_duration).contains(&asked) {
        return Err(bad());
    }
    Ok(store.sts_lifetime.unwrap_or(asked))
}

fn response(store: &Store, role: &RoleSeed, session: &str, issued: &Issued) -> Value {
    // A stable numeric role id derived from the name, as RAM's are stable per role.
    let hash = role.name.bytes().fold(0u64, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let role_id = 300_000_000_000_000_000 + hash % 100_000_000_000_000_000;
    json!({
        "RequestId": new_request_id(),
        "AssumedRoleUser": {
            "AssumedRoleId": format!("{role_id}:{session}"),
            "Arn": format!("acs:ram::{}:assumed-role/{}/{session}", store.account_id, role.name),
        },
        "Credentials": {
            "AccessKeyId": issued.access_key_id,
            "AccessKeySecret": issued.access_key_secret,
            "SecurityToken": issued.security_token,
            "Expiration": format_timestamp(issued.expiration),
        },
    })
}
