{{/* Chart name, truncated to the 63 characters a label value may hold. */}}
{{- define "provider.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified name: the release name, plus the chart name unless the release name already contains it. */}}
{{- define "provider.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "provider.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels: stable across upgrades, so never add to them. */}}
{{- define "provider.selectorLabels" -}}
app.kubernetes.io/name: {{ include "provider.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "provider.labels" -}}
{{ include "provider.selectorLabels" . }}
helm.sh/chart: {{ include "provider.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: csi-provider
{{- end -}}

{{- define "provider.serviceAccountName" -}}
{{- .Values.serviceAccount.name -}}
{{- end -}}

{{/* The region passed as --region, or "" when regionId is empty or an unfilled placeholder like __ACK_REGION_ID__. */}}
{{- define "provider.region" -}}
{{- $r := toString .Values.regionId -}}
{{- if and $r (not (regexMatch "^__.*__$" $r)) -}}
{{- $r -}}
{{- end -}}
{{- end -}}

{{/*
Probe timeout in seconds: the health check may itself wait linux.healthzTimeout for the socket, so the kubelet must
wait longer than that (at least 10 s, as upstream).
*/}}
{{- define "provider.probeTimeoutSeconds" -}}
{{- $t := toString .Values.linux.healthzTimeout -}}
{{- $n := regexFind "^[0-9]+" $t | default "0" | atoi -}}
{{- $unit := trimPrefix (regexFind "^[0-9]+" $t) $t -}}
{{- $secs := get (dict "ms" (div (add $n 999) 1000) "s" $n "m" (mul $n 60) "h" (mul $n 3600)) $unit | default 0 -}}
{{- max 10 (add $secs 5) -}}
{{- end -}}

{{/* Where the RRSA token is projected; upstream's path, so existing ALICLOUD_OIDC_TOKEN_FILE settings keep working. */}}
{{- define "provider.rrsaTokenDir" -}}/var/run/secrets/tokens{{- end -}}
{{- define "provider.rrsaTokenFile" -}}{{ include "provider.rrsaTokenDir" . }}/csi-secrets-store-provider-alibabacloud{{- end -}}

{{- define "provider.builtinPluginDir" -}}/usr/lib/csi-provider-alibabacloud/plugins{{- end -}}
{{- define "provider.pluginCacheDir" -}}/var/cache/csi-provider-alibabacloud{{- end -}}
{{- define "provider.policyDir" -}}/etc/csi-provider-alibabacloud/policy{{- end -}}

{{/* "true" when any policy rule selects namespaces by label, which needs namespaces get. */}}
{{- define "provider.policyUsesSelectors" -}}
{{- if .Values.policy.enabled -}}
{{- if .Values.policy.existingConfigMap -}}
{{- if .Values.policy.existingConfigMapUsesSelectors -}}true{{- end -}}
{{- else -}}
{{- range .Values.policy.rules -}}
{{- if .namespaceSelector -}}true{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* "true" when the ClusterRole has at least one rule. */}}
{{- define "provider.needsClusterRole" -}}
{{- if or .Values.podIdentity.enabled .Values.regionFromNode (include "provider.policyUsesSelectors" .) -}}true{{- end -}}
{{- end -}}

{{/*
Cross-value checks the schema cannot express. Each failure names the values involved and what to set; all are
collected and reported together.
*/}}
{{- define "provider.validate" -}}
{{- $errs := list -}}
{{- $drv := index .Values "secrets-store-csi-driver" | default dict -}}
{{- if and $drv.install .Values.linux.enabled -}}
{{- $dl := $drv.linux | default dict -}}
{{- $dirs := list ($dl.providersDir | default "/var/run/secrets-store-csi-providers") -}}
{{- $dirs = concat $dirs ($dl.additionalProvidersDirs | default list) -}}
{{- if not (has .Values.linux.providersDir $dirs) -}}
{{- $errs = append $errs (printf "linux.providersDir %q is not a directory the driver searches (secrets-store-csi-driver.linux.providersDir %q, additionalProvidersDirs %v): the driver would report 'provider not found'; set both to the same path" .Values.linux.providersDir (index $dirs 0) (rest $dirs)) -}}
{{- end -}}
{{- $kd := $dl.kubeletRootDir | default "/var/lib/kubelet" -}}
{{- if ne .Values.linux.kubeletRootDir $kd -}}
{{- $errs = append $errs (printf "linux.kubeletRootDir %q differs from secrets-store-csi-driver.linux.kubeletRootDir %q: the kubelet root dir is used by the driver only; set secrets-store-csi-driver.linux.kubeletRootDir to %q" .Values.linux.kubeletRootDir $kd .Values.linux.kubeletRootDir) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.rrsa.enable (not .Values.envVarsFromSecret.ALICLOUD_ROLE_ARN) (not .Values.envVarsFromSecret.ALIBABA_CLOUD_ROLE_ARN) -}}
{{- $errs = append $errs "rrsa.enable is true but envVarsFromSecret.ALICLOUD_ROLE_ARN is not set: RRSA needs the RAM role to assume (and ALICLOUD_OIDC_PROVIDER_ARN, or rrsa.accountId with rrsa.clusterId)" -}}
{{- end -}}
{{- if and .Values.rrsa.enable (not .Values.envVarsFromSecret.ALICLOUD_OIDC_PROVIDER_ARN) (not .Values.envVarsFromSecret.ALIBABA_CLOUD_OIDC_PROVIDER_ARN) (not (and .Values.rrsa.accountId .Values.rrsa.clusterId)) -}}
{{- $errs = append $errs "rrsa.enable is true but neither envVarsFromSecret.ALICLOUD_OIDC_PROVIDER_ARN nor rrsa.accountId with rrsa.clusterId is set: RRSA needs the cluster's OIDC provider ARN" -}}
{{- end -}}
{{- if and (hasKey .Values.envVarsFromSecret "SECRET_ACCESS_KEY") (not (hasKey .Values.envVarsFromSecret "ACCESS_KEY_ID")) -}}
{{- $errs = append $errs "envVarsFromSecret.SECRET_ACCESS_KEY is set without envVarsFromSecret.ACCESS_KEY_ID: an AccessKey needs both" -}}
{{- end -}}
{{- if and (hasKey .Values.envVarsFromSecret "ACCESS_KEY_ID") (not (hasKey .Values.envVarsFromSecret "SECRET_ACCESS_KEY")) -}}
{{- $errs = append $errs "envVarsFromSecret.ACCESS_KEY_ID is set without envVarsFromSecret.SECRET_ACCESS_KEY: an AccessKey needs both" -}}
{{- end -}}
{{- if and .Values.policy.existingConfigMap (not .Values.policy.enabled) -}}
{{- $errs = append $errs "policy.existingConfigMap is set but policy.enabled is false: the policy would not be enforced; set policy.enabled=true (or clear policy.existingConfigMap)" -}}
{{- end -}}
{{- if and .Values.policy.enabled .Values.policy.existingConfigMap .Values.policy.rules -}}
{{- $errs = append $errs "policy.existingConfigMap and policy.rules are both set: the rules would be ignored; use one of them" -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (eq (int .Values.metrics.port) 0) -}}
{{- $errs = append $errs "metrics.serviceMonitor.enabled is true but metrics.port is 0 (metrics disabled): set metrics.port" -}}
{{- end -}}
{{- if and .Values.metrics.port (eq (int .Values.metrics.port) (int .Values.linux.healthzPort)) -}}
{{- $errs = append $errs (printf "metrics.port and linux.healthzPort are both %v: use two different ports" .Values.metrics.port) -}}
{{- end -}}
{{- if $errs -}}
{{- fail (printf "\n%s" (join "\n" $errs)) -}}
{{- end -}}
{{- end -}}

{{/* plugins.perPluginLimits as the provider's PLUGIN_LIMITS: NAME=memory:M,timeout:T,output:O;... */}}
{{- define "provider.pluginLimits" -}}
{{- $entries := list -}}
{{- range $name, $l := . -}}
{{- $keys := list -}}
{{- with $l.memoryMiB }}{{ $keys = append $keys (printf "memory:%v" .) }}{{ end -}}
{{- with $l.timeoutMs }}{{ $keys = append $keys (printf "timeout:%v" .) }}{{ end -}}
{{- with $l.maxOutputKiB }}{{ $keys = append $keys (printf "output:%v" .) }}{{ end -}}
{{- $entries = append $entries (printf "%s=%s" $name (join "," $keys)) -}}
{{- end -}}
{{- join ";" $entries -}}
{{- end -}}
