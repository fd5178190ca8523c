{{/* Name of the chart, or nameOverride. */}}
{{- define "sail-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects: fullnameOverride, the release name when it contains the chart name, or
release-chart. */}}
{{- define "sail-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "sail-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sail-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sail
{{- end }}

{{/* Labels selecting the operator's pods; they never change for a release. */}}
{{- define "sail-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sail-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Name of the operator's ServiceAccount. */}}
{{- define "sail-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sail-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image: repository@digest or repository:tag (the tag defaults to appVersion). */}}
{{- define "sail-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
The rules of one generated role: files/rbac/role.yaml is a copy of config/rbac/role.yaml, which controller-gen
generates from the operator's RBAC markers (internal/operator/rbac.go). Called with (list $ "ClusterRole").
*/}}
{{- define "sail-operator.generatedRules" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- $found := false }}
{{- range $doc := regexSplit "(?m)^---[ \\t]*$" ($root.Files.Get "files/rbac/role.yaml") -1 }}
{{- if trim $doc }}
{{- $role := fromYaml $doc }}
{{- if hasKey $role "Error" }}
{{- fail (printf "files/rbac/role.yaml: %s" $role.Error) }}
{{- end }}
{{- if eq $role.kind $kind }}
{{- $found = true }}
{{- toYaml $role.rules }}
{{- end }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "files/rbac/role.yaml has no %s" $kind) }}
{{- end }}
{{- end }}
