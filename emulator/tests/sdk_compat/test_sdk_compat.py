"""Drive the acs-emulator binary with the official Alibaba Cloud Python SDKs.

Proves the emulator speaks the real wire protocol: signature V1 (core SDK, Tea with
signature_algorithm='v2') and V3 (Tea default), STS tokens, the JSON field names the SDK
models read, and error codes/statuses exactly as each SDK reports them.

The binary comes from $ACS_EMULATOR_BIN (default target/debug/acs-emulator); it is started
on a free 127.0.0.1 port with tests/fixtures/seed.yaml. Nothing leaves loopback.
"""

import json
import os
import pathlib
import subprocess

import pytest

from aliyunsdkcore.acs_exception.exceptions import ServerException as CoreServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkkms.request.v20160120.GetSecretValueRequest import GetSecretValueRequest as CoreGetSecretValue
from aliyunsdkoos.request.v20190601.GetParameterRequest import GetParameterRequest as CoreGetParameter
from aliyunsdkoos.request.v20190601.GetSecretParameterRequest import (
    GetSecretParameterRequest as CoreGetSecretParameter,
)

from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_kms20160120.client import Client as TeaKmsClient
from alibabacloud_oos20190601 import models as oos_models
from alibabacloud_oos20190601.client import Client as TeaOosClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.models import Config
from darabonba.runtime import RuntimeOptions

EMULATOR_DIR = pathlib.Path(__file__).resolve().parents[2]
REPO = EMULATOR_DIR.parent
SEED = EMULATOR_DIR / "tests" / "fixtures" / "seed.yaml"
ACCOUNT = "1234567890123456"

# Keys from tests/fixtures/seed.yaml (fake values).
PLAIN = ("LTAI5tTestKeyId", "TestSecret123", None)
STS = ("STS.NTestKey", "StsSecret", "CAIS/token+with=chars")
LIMITED = ("LTAI5tLimited", "LimitedSecret", None)
UNKNOWN = ("LTAI5tNoSuchKey", "whatever", None)
WRONG_SECRET = ("LTAI5tTestKeyId", "NotTheSecret", None)


@pytest.fixture(scope="session")
def endpoint():
    binary = os.environ.get("ACS_EMULATOR_BIN", str(REPO / "target" / "debug" / "acs-emulator"))
    proc = subprocess.Popen(
        [binary, "--listen", "127.0.0.1:0", "--seed", str(SEED)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        prefix = "listening on http://"
        assert line.startswith(prefix), f"unexpected first line from emulator: {line!r}"
        host = line[len(prefix):]
        assert host.startswith("127.0.0.1:"), host
        yield host
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class SdkError(Exception):
    """An error as the SDK surfaced it: HTTP status and error code."""

    def __init__(self, status, code, message=""):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


# --- core SDK (signature V1) -------------------------------------------------------------

def core_client(key):
    ak, secret, token = key
    if token:
        return AcsClient(region_id="cn-hangzhou", credential=StsTokenCredential(ak, secret, token), auto_retry=False)
    return AcsClient(ak, secret, "cn-hangzhou", auto_retry=False)


def core_call(endpoint, key, request):
    request.set_endpoint(endpoint)
    request.set_protocol_type("http")
    try:
        return json.loads(core_client(key).do_action_with_exception(request))
    except CoreServerException as e:
        raise SdkError(e.get_http_status(), e.get_error_code(), e.get_error_msg()) from e


def core_kms(endpoint, key, name, stage=None, version_id=None, extended=None):
    r = CoreGetSecretValue()
    r.set_SecretName(name)
    if stage:
        r.set_VersionStage(stage)
    if version_id:
        r.set_VersionId(version_id)
    if extended is not None:
        r.set_FetchExtendedConfig(extended)
    return core_call(endpoint, key, r)


def core_oos_secret(endpoint, key, name, version=None, decrypt=True):
    r = CoreGetSecretParameter()
    r.set_Name(name)
    if decrypt:
        r.set_WithDecryption(True)
    if version:
        r.set_ParameterVersion(version)
    return core_call(endpoint, key, r)


def core_oos_plain(endpoint, key, name, version=None):
    r = CoreGetParameter()
    r.set_Name(name)
    if version:
        r.set_ParameterVersion(version)
    return core_call(endpoint, key, r)


# --- Tea SDK (V3 by default, V1 with signature_algorithm='v2') ------------------------------

def tea_config(endpoint, key, signature_algorithm=None):
    ak, secret, token = key
    cfg = Config(access_key_id=ak, access_key_secret=secret, region_id="cn-hangzhou", endpoint=endpoint, protocol="http")
    if token:
        cfg.security_token = token
    if signature_algorithm:
        cfg.signature_algorithm = signature_algorithm
    return cfg


def tea_call(fn, request):
    try:
        resp = fn(request, RuntimeOptions(autoretry=False))
    except AlibabaCloudException as e:
        raise SdkError(e.status_code, e.code, e.message) from e
    assert resp.status_code == 200
    return resp.body.to_map()


def tea_kms(endpoint, key, name, stage=None, version_id=None, extended=None, signature_algorithm=None):
    client = TeaKmsClient(tea_config(endpoint, key, signature_algorithm))
    req = kms_models.GetSecretValueRequest(secret_name=name, version_stage=stage, version_id=version_id,
                                           fetch_extended_config=extended)
    return tea_call(client.get_secret_value_with_options, req)


def tea_oos_secret(endpoint, key, name, version=None, decrypt=True):
    client = TeaOosClient(tea_config(endpoint, key))
    req = oos_models.GetSecretParameterRequest(name=name, parameter_version=version,
                                               with_decryption=True if decrypt else None)
    return tea_call(client.get_secret_parameter_with_options, req)


def tea_oos_plain(endpoint, key, name, version=None):
    client = TeaOosClient(tea_config(endpoint, key))
    return tea_call(client.get_parameter_with_options, oos_models.GetParameterRequest(name=name, parameter_version=version))


KMS_FLAVOURS = {
    "core-v1": core_kms,
    "tea-v3": tea_kms,
    "tea-v1": lambda *a, **kw: tea_kms(*a, signature_algorithm="v2", **kw),
}
OOS_FLAVOURS = {
    "core-v1": (core_oos_secret, core_oos_plain),
    "tea-v3": (tea_oos_secret, tea_oos_plain),
}
CREDS = {"ak": PLAIN, "sts": STS}


@pytest.fixture(params=sorted(KMS_FLAVOURS))
def kms(request, endpoint):
    fn = KMS_FLAVOURS[request.param]
    return lambda key, name, **kw: fn(endpoint, key, name, **kw)


@pytest.fixture(params=sorted(OOS_FLAVOURS))
def oos(request, endpoint):
    secret_fn, plain_fn = OOS_FLAVOURS[request.param]
    return (lambda key, name, **kw: secret_fn(endpoint, key, name, **kw),
            lambda key, name, **kw: plain_fn(endpoint, key, name, **kw))


def expect_error(status, code, fn, *args, **kwargs):
    with pytest.raises(SdkError) as info:
        fn(*args, **kwargs)
    assert (info.value.status, info.value.code) == (status, code), info.value
    return info.value


# --- KMS ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cred", sorted(CREDS))
def test_kms_current_version(kms, cred):
    body = kms(CREDS[cred], "app/db-password")
    assert body["SecretName"] == "app/db-password"
    assert body["VersionId"] == "v2"
    assert body["VersionStages"] == {"VersionStage": ["ACSCurrent"]}
    assert body["SecretType"] == "Generic"
    assert body["SecretDataType"] == "text"
    assert json.loads(body["SecretData"]) == {
        "username": "app", "password": "s3cr3t-v2", "host": "db.example.internal", "port": 5432}
    assert len(body["RequestId"]) == 36


@pytest.mark.parametrize("cred", sorted(CREDS))
def test_kms_previous_stage_and_version_id(kms, cred):
    prev = kms(CREDS[cred], "app/db-password", stage="ACSPrevious")
    assert prev["VersionId"] == "v1"
    assert json.loads(prev["SecretData"])["password"] == "s3cr3t-v1"
    old = kms(CREDS[cred], "app/db-password", version_id="v0")
    assert old["SecretData"] == "retired-value"


def test_kms_arn_and_name_needing_encoding(kms):
    arn = f"acs:kms:cn-hangzhou:{ACCOUNT}:secret/app/db-password"
    assert kms(PLAIN, arn)["SecretName"] == "app/db-password"
    assert kms(PLAIN, "app/db pass*~+é")["SecretData"] == "encoded-name-value"


def test_kms_binary_secret(kms):
    body = kms(PLAIN, "bin/cert")
    assert body["SecretDataType"] == "binary"
    assert body["SecretData"] == "AAEC//5kZW1v"


def test_kms_extended_config(kms):
    body = kms(PLAIN, "rds/creds", extended=True)
    assert body["SecretType"] == "Rds"
    assert json.loads(body["ExtendedConfig"])["DBInstanceId"] == "rm-test"


def test_kms_not_found(kms):
    expect_error(404, "Forbidden.ResourceNotFound", kms, PLAIN, "no/such-secret")
    expect_error(404, "Forbidden.ResourceNotFound", kms, PLAIN, "app/db-password", stage="ACSPending")


def test_kms_no_permission(kms):
    assert kms(LIMITED, "app/db-password")["VersionId"] == "v2"
    expect_error(403, "Forbidden.NoPermission", kms, LIMITED, "bin/cert")


def test_kms_unknown_access_key(kms):
    expect_error(404, "InvalidAccessKeyId.NotFound", kms, UNKNOWN, "app/db-password")


def test_kms_wrong_sts_token(kms):
    wrong = (STS[0], STS[1], "CAIS/not-the-token")
    expect_error(400, "InvalidSecurityToken.MismatchWithAccessKey", kms, wrong, "app/db-password")


def test_core_sdk_reports_wrong_secret_as_invalid_access_key_secret(endpoint):
    # The core SDK rewrites SignatureDoesNotMatch to InvalidAccessKeySecret only when the
    # server's string-to-sign in the message equals its own: proof both canonicalise alike.
    err = expect_error(400, "InvalidAccessKeySecret", core_kms, endpoint, WRONG_SECRET, "app/db-password")
    assert "AccessKeySecret" in err.message


@pytest.mark.parametrize("algorithm", [None, "v2"])
def test_tea_sdk_reports_wrong_secret_as_signature_mismatch(endpoint, algorithm):
    err = expect_error(400, "SignatureDoesNotMatch", tea_kms, endpoint, WRONG_SECRET, "app/db-password",
                       signature_algorithm=algorithm)
    assert "server string to sign is:" in err.message


# --- OOS ------------------------------------------------------------------------------------

@pytest.mark.parametrize("cred", sorted(CREDS))
def test_oos_secret_parameter_versions(oos, cred):
    secret, _ = oos
    latest = secret(CREDS[cred], "my-secret-param")["Parameter"]
    assert (latest["Name"], latest["Type"], latest["Value"], latest["ParameterVersion"]) == (
        "my-secret-param", "Secret", "param-value-v2", 2)
    first = secret(CREDS[cred], "my-secret-param", version=1)["Parameter"]
    assert (first["Value"], first["ParameterVersion"]) == ("param-value-v1", 1)


def test_oos_secret_parameter_without_decryption_hides_the_value(oos):
    secret, _ = oos
    assert not secret(PLAIN, "my-secret-param", decrypt=False)["Parameter"].get("Value")


def test_oos_plain_parameters(oos):
    _, plain = oos
    p = plain(PLAIN, "plain-param")["Parameter"]
    assert (p["Type"], p["Value"], p["ParameterVersion"]) == ("String", "plain-v2", 2)
    assert plain(PLAIN, "plain-param", version=1)["Parameter"]["Value"] == "plain-v1"
    lst = plain(STS, "list-param")["Parameter"]
    assert (lst["Type"], lst["Value"]) == ("StringList", "a,b,c")


def test_oos_errors(oos):
    secret, plain = oos
    expect_error(404, "EntityNotExists.Parameter", secret, PLAIN, "no-such-param")
    expect_error(404, "EntityNotExists.Parameter", secret, PLAIN, "my-secret-param", version=7)
    expect_error(404, "EntityNotExists.Parameter", plain, PLAIN, "no-such-param")
    expect_error(403, "Forbidden.NoPermission", secret, LIMITED, "my-secret-param")
    assert secret(LIMITED, "team-param")["Parameter"]["Value"] == "team-param-value"
    expect_error(404, "InvalidAccessKeyId.NotFound", secret, UNKNOWN, "my-secret-param")
