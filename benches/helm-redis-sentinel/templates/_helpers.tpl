{{/* Labels selecting the pods of one component: dict "root" $ "component" "data" */}}
{{- define "rs.selector" -}}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/instance: {{ .root.Values.name }}
app.kubernetes.io/name: redis
{{- end }}

{{/* Labels of the objects of one component. */}}
{{- define "rs.labels" -}}
{{ include "rs.selector" . }}
app.kubernetes.io/managed-by: gatehouse
{{- end }}

{{- define "rs.dataStatefulSet" -}}{{ .Values.name }}-redis{{- end }}
{{- define "rs.dataService" -}}{{ .Values.name }}-redis-data{{- end }}
{{- define "rs.sentinelStatefulSet" -}}{{ .Values.name }}-redis-sentinel{{- end }}

{{- define "rs.serviceHost" -}}{{ .service }}.{{ .root.Values.namespace }}.svc.cluster.local{{- end }}

{{/* Sentinel pods that may be down at once: count - max(quorum, majority), at least 1. */}}
{{- define "rs.sentinelMaxUnavailable" -}}
{{- $s := .Values.redis.sentinel }}
{{- $needed := max (int $s.quorum) (add1 (div (int $s.count) 2)) }}
{{- max (sub (int $s.count) $needed) 1 }}
{{- end }}

{{/* Environment the scripts read, shared by both StatefulSets: dict "root" $ "service" name */}}
{{- define "rs.scriptEnv" -}}
{{- $v := .root.Values }}
{{- $sentinelHost := include "rs.serviceHost" (dict "root" .root "service" $v.redis.sentinel.serviceName) }}
{{- $dataHost := include "rs.serviceHost" (dict "root" .root "service" (include "rs.dataService" .root)) }}
{{- $hosts := list }}
{{- range $i := until (int $v.redis.sentinel.count) }}
{{- $hosts = append $hosts (printf "%s-%d.%s:%d" (include "rs.sentinelStatefulSet" $.root) $i $sentinelHost (int $v.redis.sentinel.port)) }}
{{- end }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      key: {{ $v.redis.passwordSecret.key }}
      name: {{ $v.redis.passwordSecret.name }}
- name: ANNOUNCE_HOST
  value: {{ printf "$(POD_NAME).%s" (include "rs.serviceHost" (dict "root" .root "service" .service)) | quote }}
- name: MASTER_NAME
  value: {{ $v.redis.masterName | quote }}
- name: SENTINELS
  value: {{ join " " $hosts | quote }}
- name: SENTINEL_AUTH
  value: {{ ternary "yes" "no" $v.redis.sentinel.auth | quote }}
- name: BOOTSTRAP_MASTER
  value: {{ printf "%s-0.%s:%d" (include "rs.dataStatefulSet" .root) $dataHost (int $v.redis.port) | quote }}
- name: REDIS_PORT
  value: {{ int $v.redis.port | toString | quote }}
- name: SENTINEL_PORT
  value: {{ int $v.redis.sentinel.port | toString | quote }}
- name: TEMPLATE_DIR
  value: /etc/gatehouse
{{- end }}

{{/* Hard (or preferred) anti-affinity on the node for one component. */}}
{{- define "rs.antiAffinity" -}}
podAntiAffinity:
{{- if .root.Values.redis.requiredAntiAffinity }}
  requiredDuringSchedulingIgnoredDuringExecution:
  - labelSelector:
      matchLabels:
        {{- include "rs.selector" . | nindent 8 }}
    topologyKey: kubernetes.io/hostname
{{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
  - podAffinityTerm:
      labelSelector:
        matchLabels:
          {{- include "rs.selector" . | nindent 10 }}
      topologyKey: kubernetes.io/hostname
    weight: 100
{{- end }}
{{- end }}

{{- define "rs.probe" -}}
exec:
  command:
  - sh
  - /etc/gatehouse/probe.sh
  - {{ .check }}
failureThreshold: {{ .failures }}
periodSeconds: {{ .period }}
timeoutSeconds: 5
{{- end }}

{{- define "rs.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities:
  drop:
  - ALL
readOnlyRootFilesystem: true
runAsNonRoot: true
{{- end }}

{{- define "rs.podSecurity" -}}
fsGroup: 999
runAsGroup: 999
runAsNonRoot: true
runAsUser: 999
{{- end }}

{{- define "rs.claim" -}}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata:
    name: {{ .name }}
  spec:
    accessModes:
    - ReadWriteOnce
    {{- with .root.Values.redis.persistence.storageClass }}
    storageClassName: {{ . }}
    {{- end }}
    resources:
      requests:
        storage: {{ .size }}
{{- end }}
