{{/* The release's full name: the release name, with "-tidal" unless it already contains it. */}}
{{- define "tidal.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "tidal.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "tidal.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels that select tidal's pods. */}}
{{- define "tidal.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The ServiceAccount's name. */}}
{{- define "tidal.serviceAccountName" -}}
{{- default (include "tidal.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The policies ConfigMap's name. */}}
{{- define "tidal.policiesConfigMap" -}}
{{- default (printf "%s-policies" (include "tidal.fullname" .)) .Values.existingPolicyConfigMap -}}
{{- end -}}

{{/* The image reference. */}}
{{- define "tidal.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
