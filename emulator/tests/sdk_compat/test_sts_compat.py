"""STS and ECS-metadata emulation driven by the official Python SDKs.

Tea STS client (AssumeRole signed with V3 and V1, AssumeRoleWithOIDC anonymous), the core
STS SDK (V1), and the alibabacloud-credentials providers ram_role_arn, oidc_role_arn and
ecs_ram_role pointed at the emulator. Every credential obtained is then used to read a
secret through the KMS SDKs, and the role's permission limits are checked.

Test-only overrides (see docs alibaba-api.md §10): the providers hard-code https and
100.100.100.200, so they get `sts_endpoint='http://127.0.0.1:PORT'` and the ECS provider's
private metadata host attribute. Nothing leaves loopback.
"""

import base64
import json
import os
import subprocess
import time

import pytest

from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest as CoreAssumeRole
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.provider.ecs_ram_role import EcsRamRoleCredentialsProvider
from alibabacloud_credentials.provider.oidc import OIDCRoleArnCredentialsProvider
from alibabacloud_credentials.provider.ram_role_arn import RamRoleArnCredentialsProvider
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_kms20160120.client import Client as TeaKmsClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as TeaStsClient
from alibabacloud_tea_openapi.models import Config

from test_sdk_compat import (  # noqa: F401  (endpoint is a fixture)
    PLAIN,
    STS,
    SdkError,
    core_call,
    core_kms,
    endpoint,
    expect_error,
    tea_call,
    tea_config,
    tea_kms,
)

ACCOUNT = "1234567890123456"
ROLE = f"acs:ram::{ACCOUNT}:role/app-role"
PROVIDER = f"acs:ram::{ACCOUNT}:oidc-provider/ack-rrsa"
ISSUER = "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/c1234567890"
SUBJECT = "system:serviceaccount:default:app"
SECRET_VALUE = "s3cr3t-v2"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_jwt(iss=ISSUER, sub=SUBJECT, aud="sts.aliyuncs.com", exp=None):
    """An unsigned-in-spirit token: the emulator checks claims, not the signature."""
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iss": iss, "sub": sub, "aud": [aud], "exp": exp if exp is not None else now + 3600, "iat": now}
    return ".".join([b64url(json.dumps(header).encode()), b64url(json.dumps(claims).encode()), b64url(b"sig")])


def key_of(creds):
    """(ak, secret, token) from a Tea/JSON Credentials map."""
    return creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"]


def assert_role_limited(endpoint, key):
    """The credential reads app/* through both KMS SDKs and nothing outside the role's grant."""
    assert SECRET_VALUE in tea_kms(endpoint, key, "app/db-password")["SecretData"]
    assert SECRET_VALUE in core_kms(endpoint, key, "app/db-password")["SecretData"]
    expect_error(403, "Forbidden.NoPermission", tea_kms, endpoint, key, "team-a/token")


def seconds_left(expiration):
    return time.mktime(time.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())


# --- Tea STS client ---------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", [None, "v2"], ids=["v3", "v1"])
def test_tea_assume_role(endpoint, algorithm):
    client = TeaStsClient(tea_config(endpoint, PLAIN, algorithm))
    req = sts_models.AssumeRoleRequest(role_arn=ROLE, role_session_name="tea-session", duration_seconds=3600)
    body = tea_call(client.assume_role_with_options, req)
    assert body["AssumedRoleUser"]["Arn"] == f"acs:ram::{ACCOUNT}:assumed-role/app-role/tea-session"
    creds = body["Credentials"]
    assert creds["AccessKeyId"].startswith("STS.")
    assert 3500 < seconds_left(creds["Expiration"]) <= 3600
    assert_role_limited(endpoint, key_of(creds))


def test_tea_assume_role_errors(endpoint):
    client = TeaStsClient(tea_config(endpoint, STS))  # the seeded STS key is not trusted by app-role
    req = sts_models.AssumeRoleRequest(role_arn=ROLE, role_session_name="tea-session")
    expect_error(403, "NoPermission", tea_call, client.assume_role_with_options, req)
    client = TeaStsClient(tea_config(endpoint, PLAIN))
    req = sts_models.AssumeRoleRequest(role_arn=f"acs:ram::{ACCOUNT}:role/ghost", role_session_name="tea-session")
    expect_error(404, "EntityNotExist.Role", tea_call, client.assume_role_with_options, req)
    req = sts_models.AssumeRoleRequest(role_arn=ROLE, role_session_name="x")
    expect_error(400, "InvalidParameter.RoleSessionName", tea_call, client.assume_role_with_options, req)


def anonymous_sts(endpoint):
    return TeaStsClient(Config(region_id="cn-hangzhou", endpoint=endpoint, protocol="http"))


def test_tea_assume_role_with_oidc_is_anonymous(endpoint):
    req = sts_models.AssumeRoleWithOIDCRequest(role_arn=ROLE, oidcprovider_arn=PROVIDER, oidctoken=mint_jwt(),
                                               role_session_name="rrsa-session", duration_seconds=3600)
    body = tea_call(anonymous_sts(endpoint).assume_role_with_oidcwith_options, req)
    assert body["OIDCTokenInfo"]["Subject"] == SUBJECT
    assert body["OIDCTokenInfo"]["Issuer"] == ISSUER
    assert_role_limited(endpoint, key_of(body["Credentials"]))


@pytest.mark.parametrize("token,code,status", [
    (mint_jwt(exp=1_600_000_000), "AuthenticationFail.OIDCToken.Expired", 400),
    (mint_jwt(iss="https://elsewhere"), "AuthenticationFail.OIDCToken.Invalid", 400),
    (mint_jwt(aud="another-client"), "AuthenticationFail.OIDCToken.Invalid", 400),
    (mint_jwt(sub="system:serviceaccount:default:intruder"), "AuthenticationFail.NoPermission", 403),
], ids=["expired", "issuer", "audience", "subject"])
def test_tea_assume_role_with_oidc_errors(endpoint, token, code, status):
    req = sts_models.AssumeRoleWithOIDCRequest(role_arn=ROLE, oidcprovider_arn=PROVIDER, oidctoken=token,
                                               role_session_name="rrsa-session")
    err = expect_error(status, code, tea_call, anonymous_sts(endpoint).assume_role_with_oidcwith_options, req)
    if code.endswith("Expired"):
        assert "This JsonWebToken is expired." in err.message


# --- core STS SDK (V1) -------------------------------------------------------------------------

def test_core_assume_role(endpoint):
    r = CoreAssumeRole()
    r.set_RoleArn(ROLE)
    r.set_RoleSessionName("core-session")
    r.set_DurationSeconds(900)
    body = core_call(endpoint, PLAIN, r)
    assert 800 < seconds_left(body["Credentials"]["Expiration"]) <= 900
    assert_role_limited(endpoint, key_of(body["Credentials"]))


# --- alibabacloud-credentials providers --------------------------------------------------------

def provider_key(provider):
    c = provider.get_credentials()
    return c.get_access_key_id(), c.get_access_key_secret(), c.get_security_token()


def kms_via_credential_client(endpoint, provider):
    """The real-world wiring: a Tea KMS client whose credential comes from the provider."""
    cfg = Config(credential=CredentialClient(provider=provider), region_id="cn-hangzhou",
                 endpoint=endpoint, protocol="http")
    client = TeaKmsClient(cfg)
    req = kms_models.GetSecretValueRequest(secret_name="app/db-password")
    return tea_call(client.get_secret_value_with_options, req)


def test_credentials_ram_role_arn(endpoint):
    provider = RamRoleArnCredentialsProvider(
        access_key_id=PLAIN[0], access_key_secret=PLAIN[1], role_arn=ROLE,
        role_session_name="cred-session", sts_endpoint=f"http://{endpoint}")
    key = provider_key(provider)
    assert key[0].startswith("STS.")
    assert_role_limited(endpoint, key)
    assert SECRET_VALUE in kms_via_credential_client(endpoint, provider)["SecretData"]


def test_credentials_oidc_role_arn(endpoint, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(mint_jwt())
    provider = OIDCRoleArnCredentialsProvider(
        role_arn=ROLE, oidc_provider_arn=PROVIDER, oidc_token_file_path=str(token_file),
        role_session_name="rrsa-session", sts_endpoint=f"http://{endpoint}")
    assert_role_limited(endpoint, provider_key(provider))
    assert SECRET_VALUE in kms_via_credential_client(endpoint, provider)["SecretData"]


def test_credentials_oidc_role_arn_reports_an_expired_token(endpoint, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(mint_jwt(exp=1_600_000_000))
    provider = OIDCRoleArnCredentialsProvider(
        role_arn=ROLE, oidc_provider_arn=PROVIDER, oidc_token_file_path=str(token_file),
        role_session_name="rrsa-session", sts_endpoint=f"http://{endpoint}")
    with pytest.raises(Exception) as info:
        provider.get_credentials()
    assert "AuthenticationFail.OIDCToken.Expired" in str(info.value)


@pytest.mark.parametrize("disable_imds_v1", [False, True], ids=["imds-v1-allowed", "hardened-token"])
def test_credentials_ecs_ram_role(endpoint, disable_imds_v1):
    provider = EcsRamRoleCredentialsProvider(disable_imds_v1=disable_imds_v1, async_update_enabled=False)
    provider._EcsRamRoleCredentialsProvider__metadata_service_host = endpoint  # test-only override
    key = provider_key(provider)
    assert key[0].startswith("STS.")
    # ecs-node-role may read app/db-password but not team-a/token.
    assert SECRET_VALUE in tea_kms(endpoint, key, "app/db-password")["SecretData"]
    assert SECRET_VALUE in core_kms(endpoint, key, "app/db-password")["SecretData"]
    expect_error(403, "Forbidden.NoPermission", tea_kms, endpoint, key, "team-a/token")
    assert SECRET_VALUE in kms_via_credential_client(endpoint, provider)["SecretData"]


# --- hardened ECS metadata with short-lived credentials (a second emulator) ----------------------

@pytest.fixture(scope="module")
def hardened_endpoint(tmp_path_factory):
    """An emulator whose metadata server requires a token and hands out 2-second credentials."""
    from test_sdk_compat import REPO, SEED

    seed = SEED.read_text().replace(
        "  instanceId: i-bp1emulator0001\n",
        "  instanceId: i-bp1emulator0001\n  requireToken: true\n  credentialLifetimeSeconds: 2\n",
    )
    assert "requireToken: true" in seed
    path = tmp_path_factory.mktemp("seed") / "hardened.yaml"
    path.write_text(seed)
    binary = os.environ.get("ACS_EMULATOR_BIN", str(REPO / "target" / "debug" / "acs-emulator"))
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--seed", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield line[len("listening on http://"):]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_credentials_ecs_ram_role_hardened_mode_and_refresh(hardened_endpoint):
    ep = hardened_endpoint
    provider = EcsRamRoleCredentialsProvider(disable_imds_v1=True, async_update_enabled=False)
    provider._EcsRamRoleCredentialsProvider__metadata_service_host = ep  # test-only override
    first = provider_key(provider)
    assert SECRET_VALUE in tea_kms(ep, first, "app/db-password")["SecretData"]
    time.sleep(3.1)
    expect_error(400, "InvalidSecurityToken.Expired", tea_kms, ep, first, "app/db-password")
    # The credential was stale on arrival (< 15 min left), so the provider fetches a new one.
    second = provider_key(provider)
    assert second[0] != first[0]
    assert SECRET_VALUE in tea_kms(ep, second, "app/db-password")["SecretData"]
