// The gatehouse Redis/Sentinel objects written as a cdk8s app: what a cdk8s user would keep instead.
// `cargo xtask bench` runs `cdk8s synth` here with GATEHOUSE_BENCH_INPUT naming a JSON file holding
// the chart values derived from the gatehouse model (the same input the Helm chart gets) and
// `scriptsDir`, the directory of the scripts the Redis pods run.
"use strict";

const fs = require("fs");
const path = require("path");
const { App, Chart, ApiObject } = require("cdk8s");

const input = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_BENCH_INPUT || "values.json", "utf8"));

class RedisSentinel extends Chart {
  constructor(scope, id, v) {
    super(scope, id);
    const r = v.redis;
    const s = r.sentinel;
    const ns = v.namespace;
    const dataSts = `${v.name}-redis`;
    const dataSvc = `${v.name}-redis-data`;
    const sentinelSts = `${v.name}-redis-sentinel`;
    const shared = `${v.name}-redis`;
    const host = (svc) => `${svc}.${ns}.svc.cluster.local`;
    const selector = (component) => ({
      "app.kubernetes.io/component": component,
      "app.kubernetes.io/instance": v.name,
      "app.kubernetes.io/name": "redis",
    });
    const labels = (component) => ({ ...selector(component), "app.kubernetes.io/managed-by": "gatehouse" });
    const meta = (name, component) => ({ labels: labels(component), name, namespace: ns });
    const obj = (id, body) => new ApiObject(this, id, body);

    obj("namespace", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { labels: { "app.kubernetes.io/managed-by": "gatehouse" }, name: ns },
    });
    obj("service-account", {
      apiVersion: "v1",
      kind: "ServiceAccount",
      automountServiceAccountToken: false,
      metadata: meta(shared, "redis"),
    });

    const data = {};
    for (const file of fs.readdirSync(input.scriptsDir).filter((f) => f.endsWith(".sh"))) {
      data[file] = fs.readFileSync(path.join(input.scriptsDir, file), "utf8");
    }
    const minReplicas = r.minReplicasToWrite
      ? `min-replicas-to-write ${r.minReplicasToWrite.replicas}\nmin-replicas-max-lag ${r.minReplicasToWrite.maxLagSeconds}\n`
      : "";
    data["redis.conf"] =
      `# Base configuration of every Redis data node of ${v.name}, rendered by gatehouse.\n` +
      "# start-redis.sh copies it into a writable directory and appends what differs per node: port,\n" +
      "# data directory, announced address, role (replicaof) and the passwords, read from the\n" +
      "# environment (a Kubernetes Secret). No password is ever written into this file.\n" +
      "bind * -::*\nprotected-mode no\n" +
      `appendonly ${r.appendOnly ? "yes" : "no"}\n` +
      "appendfsync everysec\nreplica-serve-stale-data yes\nreplica-read-only yes\nrepl-diskless-sync yes\n" +
      `repl-backlog-size ${r.replBacklogMegabytes}mb\n` +
      minReplicas;
    data["sentinel.conf"] =
      `# Base configuration of every Sentinel of ${v.name}, rendered by gatehouse.\n` +
      "# start-sentinel.sh replaces the %MASTER_HOST%/%MASTER_PORT% placeholders with the current master\n" +
      "# (asked from the other Sentinels, or the bootstrap master on first start), copies the result into\n" +
      "# a writable directory that Sentinel rewrites, and appends port, announced address and passwords from\n" +
      "# the environment. No password is ever written into this file.\n" +
      "sentinel resolve-hostnames yes\nsentinel announce-hostnames yes\n" +
      `sentinel monitor ${r.masterName} %MASTER_HOST% %MASTER_PORT% ${s.quorum}\n` +
      `sentinel down-after-milliseconds ${r.masterName} ${s.downAfterMilliseconds}\n` +
      `sentinel parallel-syncs ${r.masterName} ${s.parallelSyncs}\n` +
      `sentinel failover-timeout ${r.masterName} ${s.failoverTimeoutMilliseconds}\n`;
    obj("config-map", { apiVersion: "v1", kind: "ConfigMap", metadata: meta(shared, "redis"), data });

    for (const [component, name, portName, port] of [
      ["data", dataSvc, "redis", r.port],
      ["sentinel", s.serviceName, "sentinel", s.port],
    ]) {
      obj(`service-${component}`, {
        apiVersion: "v1",
        kind: "Service",
        metadata: meta(name, component),
        spec: {
          clusterIP: "None",
          ports: [{ name: portName, port, protocol: "TCP", targetPort: portName }],
          publishNotReadyAddresses: true,
          selector: selector(component),
        },
      });
    }

    obj("network-policy", {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta(shared, "redis"),
      spec: {
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: selector("data") } },
              { podSelector: { matchLabels: selector("sentinel") } },
              {
                podSelector: {
                  matchLabels: {
                    "app.kubernetes.io/component": "gateway",
                    "app.kubernetes.io/instance": v.gateway.releaseName,
                    "app.kubernetes.io/name": "apim",
                  },
                },
              },
            ],
            ports: [
              { port: r.port, protocol: "TCP" },
              { port: s.port, protocol: "TCP" },
            ],
          },
        ],
        podSelector: {
          matchLabels: { "app.kubernetes.io/instance": v.name, "app.kubernetes.io/name": "redis" },
        },
        policyTypes: ["Ingress"],
      },
    });

    const needed = Math.max(s.quorum, Math.floor(s.count / 2) + 1);
    for (const [component, name, max] of [
      ["data", dataSts, 1],
      ["sentinel", sentinelSts, Math.max(s.count - needed, 1)],
    ]) {
      obj(`pdb-${component}`, {
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: meta(name, component),
        spec: { maxUnavailable: max, selector: { matchLabels: selector(component) } },
      });
    }

    const sentinels = [];
    for (let i = 0; i < s.count; i++) sentinels.push(`${sentinelSts}-${i}.${host(s.serviceName)}:${s.port}`);
    const plain = (name, value) => ({ name, value: String(value) });
    const scriptEnv = (ownService) => [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      {
        name: "REDIS_PASSWORD",
        valueFrom: { secretKeyRef: { key: r.passwordSecret.key, name: r.passwordSecret.name } },
      },
      plain("ANNOUNCE_HOST", `$(POD_NAME).${host(ownService)}`),
      plain("MASTER_NAME", r.masterName),
      plain("SENTINELS", sentinels.join(" ")),
      plain("SENTINEL_AUTH", s.auth ? "yes" : "no"),
      plain("BOOTSTRAP_MASTER", `${dataSts}-0.${host(dataSvc)}:${r.port}`),
      plain("REDIS_PORT", r.port),
      plain("SENTINEL_PORT", s.port),
      plain("TEMPLATE_DIR", "/etc/gatehouse"),
    ];
    const probe = (check, period, failures) => ({
      exec: { command: ["sh", "/etc/gatehouse/probe.sh", check] },
      failureThreshold: failures,
      periodSeconds: period,
      timeoutSeconds: 5,
    });
    const antiAffinity = (component) => {
      const term = { labelSelector: { matchLabels: selector(component) }, topologyKey: "kubernetes.io/hostname" };
      return r.requiredAntiAffinity
        ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } }
        : { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ podAffinityTerm: term, weight: 100 }] } };
    };
    const claim = (name, size) => {
      const spec = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } };
      if (r.persistence.storageClass) spec.storageClassName = r.persistence.storageClass;
      return { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name }, spec };
    };
    const persistent = r.persistence.enabled;
    const statefulSet = (id, w) =>
      obj(id, {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: meta(w.name, w.component),
        spec: {
          ...(persistent ? { persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" } } : {}),
          podManagementPolicy: "Parallel",
          replicas: w.replicas,
          selector: { matchLabels: selector(w.component) },
          serviceName: w.service,
          template: {
            metadata: { labels: labels(w.component) },
            spec: {
              affinity: antiAffinity(w.component),
              automountServiceAccountToken: false,
              containers: [w.container],
              securityContext: { fsGroup: 999, runAsGroup: 999, runAsNonRoot: true, runAsUser: 999 },
              serviceAccountName: shared,
              terminationGracePeriodSeconds: w.grace,
              volumes: w.volumes,
            },
          },
          ...(persistent ? { volumeClaimTemplates: [w.claim] } : {}),
        },
      });
    const security = {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    };
    const templates = { configMap: { defaultMode: 0o444, name: shared }, name: "templates" };

    statefulSet("statefulset-data", {
      name: dataSts,
      component: "data",
      service: dataSvc,
      replicas: r.replicas + 1,
      grace: 30,
      container: {
        command: ["sh", "/etc/gatehouse/start-redis.sh"],
        env: [...scriptEnv(dataSvc), plain("CONFIG_DIR", "/run/gatehouse"), plain("DATA_DIR", "/data"), plain("PRESTOP_TIMEOUT", 20)],
        image: r.image,
        lifecycle: { preStop: { exec: { command: ["sh", "/etc/gatehouse/prestop-redis.sh"] } } },
        livenessProbe: probe("redis-alive", 10, 3),
        name: "redis",
        ports: [{ containerPort: r.port, name: "redis", protocol: "TCP" }],
        readinessProbe: probe("redis-ready", 5, 2),
        resources: r.resources,
        securityContext: security,
        startupProbe: probe("redis-alive", 5, 60),
        volumeMounts: [
          { mountPath: "/etc/gatehouse", name: "templates", readOnly: true },
          { mountPath: "/run/gatehouse", name: "config" },
          { mountPath: "/data", name: "data" },
        ],
      },
      volumes: [templates, { emptyDir: {}, name: "config" }, ...(persistent ? [] : [{ emptyDir: {}, name: "data" }])],
      claim: claim("data", r.persistence.size),
    });

    statefulSet("statefulset-sentinel", {
      name: sentinelSts,
      component: "sentinel",
      service: s.serviceName,
      replicas: s.count,
      grace: 10,
      container: {
        command: ["sh", "/etc/gatehouse/start-sentinel.sh"],
        env: [...scriptEnv(s.serviceName), plain("CONFIG_DIR", "/data")],
        image: r.image,
        livenessProbe: probe("sentinel-alive", 10, 3),
        name: "sentinel",
        ports: [{ containerPort: s.port, name: "sentinel", protocol: "TCP" }],
        readinessProbe: probe("sentinel-ready", 5, 2),
        resources: s.resources,
        securityContext: security,
        volumeMounts: [
          { mountPath: "/etc/gatehouse", name: "templates", readOnly: true },
          { mountPath: "/data", name: "state" },
        ],
      },
      volumes: [templates, ...(persistent ? [] : [{ emptyDir: {}, name: "state" }])],
      claim: claim("state", "64Mi"),
    });
  }
}

const app = new App();
new RedisSentinel(app, "redis-sentinel", input);
app.synth();
