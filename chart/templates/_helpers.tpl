{{/* The chart name, or nameOverride. */}}
{{- define "multinet-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full resource name: fullnameOverride, else the release name plus the chart name unless it is already in it. */}}
{{- define "multinet-agent.fullname" -}}
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

{{/* Labels that select the agent pods; never change them (a DaemonSet's selector is immutable). */}}
{{- define "multinet-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "multinet-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every resource. */}}
{{- define "multinet-agent.labels" -}}
{{ include "multinet-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/* The agent's ServiceAccount. */}}
{{- define "multinet-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "multinet-agent.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* URL scheme of the agent's endpoints. */}}
{{- define "multinet-agent.scheme" -}}
{{- if .Values.tls.enabled -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}

{{/* Directory of the CRI socket: unix:///run/containerd/containerd.sock -> /run/containerd. */}}
{{- define "multinet-agent.criSocketDir" -}}
{{- .Values.cri.endpoint | trimPrefix "unix://" | dir -}}
{{- end -}}
