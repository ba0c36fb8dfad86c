{{/* Names and labels, as "helm create" makes them. */}}
{{- define "podbot.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "podbot.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "podbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "podbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "podbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "podbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "podbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "podbot.slackSecretName" -}}
{{- default (printf "%s-slack" (include "podbot.fullname" .)) .Values.slack.existingSecret }}
{{- end }}

{{/*
Refuse values that cannot work, with a message that says what to change. Included by the
Deployment, so every render checks them.
*/}}
{{- define "podbot.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (ne .Values.database.type "postgresql") }}
{{- fail (printf "replicas: %d needs database.type: postgresql. SQLite is a single file that only one replica may write (podbot refuses to start a second one); set database.type=postgresql with database.postgresql.existingSecret, or replicas=1." (int .Values.replicas)) }}
{{- end }}
{{- if and (eq .Values.database.type "postgresql") (not .Values.database.postgresql.existingSecret) }}
{{- fail "database.type: postgresql needs database.postgresql.existingSecret: the name of a Secret whose key database.postgresql.secretKey (DATABASE_URL) holds the URL, e.g. postgresql+psycopg://podbot:PASSWORD@db:5432/podbot" }}
{{- end }}
{{- if not .Values.slack.existingSecret }}
{{- if not .Values.slack.botToken }}
{{- fail "podbot needs Slack credentials: set slack.existingSecret (a Secret with SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN in socket mode), or slack.botToken" }}
{{- end }}
{{- if and (eq .Values.mode "http") (not .Values.slack.signingSecret) }}
{{- fail "mode: http needs slack.signingSecret (Basic Information > App Credentials), or slack.existingSecret" }}
{{- end }}
{{- if and (eq .Values.mode "socket") (not .Values.slack.appToken) }}
{{- fail "mode: socket needs slack.appToken (an app-level token with connections:write, xapp-...), or slack.existingSecret" }}
{{- end }}
{{- if and (eq .Values.mode "http") .Values.slack.appToken }}
{{- fail "mode: http with slack.appToken: an app token switches podbot to Socket Mode; remove it, or set mode: socket" }}
{{- end }}
{{- end }}
{{- if and .Values.ingress.enabled (ne .Values.mode "http") }}
{{- fail "ingress.enabled needs mode: http (Socket Mode has no public URL)" }}
{{- end }}
{{- end }}

{{/* podbot.yaml, from the values in podbot's own configuration format. */}}
{{- define "podbot.config" -}}
{{- $leader := dict "enabled" true "lease_name" (include "podbot.fullname" .) "lease_duration_seconds" .Values.leaderElection.leaseDurationSeconds "renew_deadline_seconds" .Values.leaderElection.renewDeadlineSeconds "retry_period_seconds" .Values.leaderElection.retryPeriodSeconds }}
{{- $config := dict "locale" .Values.locale "approvals" .Values.approvals "channels" .Values.channels "identity" .Values.identity "leader_election" $leader }}
{{- toYaml (mergeOverwrite $config (deepCopy .Values.extraConfig)) }}
{{- end }}
