//! redis.conf and sentinel.conf (handlebars templates) and the scripts the Redis pods run.
//!
//! The same files run in the pods and in the real-process tests: the scripts take every host, port
//! and path from the environment, and the pod specs set that environment from [`crate::Names`].

use std::collections::BTreeMap;

use gatehouse_model::acl::{self, Side};
use gatehouse_model::{Deployment, SecretRole, ValidDeployment};
use handlebars::Handlebars;
use serde::Serialize;

const REDIS_CONF: &str = include_str!("../templates/redis.conf.hbs");
const SENTINEL_CONF: &str = include_str!("../templates/sentinel.conf.hbs");

/// File name of the data nodes' base config.
pub const REDIS_CONF_FILE: &str = "redis.conf";
/// File name of the Sentinels' base config.
pub const SENTINEL_CONF_FILE: &str = "sentinel.conf";
/// Start script of a data node.
pub const START_REDIS: &str = "start-redis.sh";
/// Start script of a Sentinel.
pub const START_SENTINEL: &str = "start-sentinel.sh";
/// Readiness/liveness script.
pub const PROBE: &str = "probe.sh";
/// Pre-stop hook of a data node.
pub const PRESTOP_REDIS: &str = "prestop-redis.sh";
/// Helpers sourced by the other scripts.
pub const COMMON: &str = "common.sh";
/// The ACL users of both kinds of nodes, without passwords (the start scripts build the ACL files).
pub const ACL_USERS: &str = "acl-users";

/// The environment variable holding each ACL user's password in the Redis pods (from a Secret).
pub const PASSWORD_ENV: [(&str, SecretRole); 6] = [
    ("REDIS_PASSWORD", SecretRole::RedisPassword),
    ("REPLICATION_PASSWORD", SecretRole::ReplicationPassword),
    ("SENTINEL_PASSWORD", SecretRole::SentinelPassword),
    ("SENTINEL_PEER_PASSWORD", SecretRole::SentinelPeerPassword),
    ("OPERATOR_PASSWORD", SecretRole::OperatorPassword),
    ("EXPORTER_PASSWORD", SecretRole::ExporterPassword),
];
/// The passwords a data pod reads: `default` (the gateway's), replication, Sentinel monitoring,
/// operator.
pub const DATA_POD_PASSWORDS: [&str; 4] = [
    "REDIS_PASSWORD",
    "REPLICATION_PASSWORD",
    "SENTINEL_PASSWORD",
    "OPERATOR_PASSWORD",
];
/// The passwords a Sentinel pod reads: `default` (the gateway's), Sentinel monitoring (to log in
/// to the data nodes), Sentinel peers, operator.
pub const SENTINEL_POD_PASSWORDS: [&str; 4] = [
    "REDIS_PASSWORD",
    "SENTINEL_PASSWORD",
    "SENTINEL_PEER_PASSWORD",
    "OPERATOR_PASSWORD",
];

/// The variable of the exporter user's password: read by the pods of a side whose exporter runs
/// (`metrics`), to put the user in that side's ACL file.
pub const EXPORTER_PASSWORD: &str = "EXPORTER_PASSWORD";

/// The passwords one side's pods read: the side's fixed list, plus the exporter's while that
/// side's exporter runs.
pub fn pod_passwords(d: &Deployment, side: Side) -> Vec<&'static str> {
    let (fixed, exporter) = match side {
        Side::DataNode => (&DATA_POD_PASSWORDS, d.metrics.scrapes_data_nodes()),
        Side::Sentinel => (&SENTINEL_POD_PASSWORDS, d.metrics.scrapes_sentinels()),
    };
    let mut passwords = fixed.to_vec();
    if exporter {
        passwords.push(EXPORTER_PASSWORD);
    }
    passwords
}

/// The environment variable of a role's password.
fn password_env(role: SecretRole) -> &'static str {
    PASSWORD_ENV
        .iter()
        .find(|(_, r)| *r == role)
        .map(|(name, _)| *name)
        .expect("every ACL user's role has a variable")
}

/// The rendered user list: one line per user, `side user PASSWORD_VARIABLE rules...` (`-` for a
/// user without password: `default` on Sentinels without `sentinel.auth`).
fn acl_users(d: &Deployment) -> String {
    let side_word = |side| match side {
        Side::DataNode => "redis",
        Side::Sentinel => "sentinel",
    };
    let mut lines = vec![
        "# side user password-variable rules (rendered by gatehouse; no password here)".to_string(),
    ];
    for side in [Side::DataNode, Side::Sentinel] {
        let open_sentinels = side == Side::Sentinel && !d.redis.sentinel.auth;
        let variable = if open_sentinels {
            "-"
        } else {
            password_env(SecretRole::RedisPassword)
        };
        lines.push(format!(
            "{} default {variable} {}",
            side_word(side),
            d.gateway_acl_rules(side)
        ));
        let exporter_runs = match side {
            Side::DataNode => d.metrics.scrapes_data_nodes(),
            Side::Sentinel => d.metrics.scrapes_sentinels(),
        };
        for user in acl::NAMED_USERS.iter().filter(|u| u.side == side) {
            let role = match user.user {
                acl::REPLICATION_USER => SecretRole::ReplicationPassword,
                acl::SENTINEL_USER => SecretRole::SentinelPassword,
                acl::SENTINEL_PEER_USER => SecretRole::SentinelPeerPassword,
                acl::EXPORTER_USER if exporter_runs => SecretRole::ExporterPassword,
                acl::EXPORTER_USER => continue,
                _ => SecretRole::OperatorPassword,
            };
            lines.push(format!(
                "{} {} {} {}",
                side_word(side),
                user.user,
                password_env(role),
                d.redis.acl.rules_of(user)
            ));
        }
    }
    lines.join("\n") + "\n"
}

/// The ConfigMap entries a data pod mounts (and so the ones its config digest covers): its start
/// script, probes, pre-stop hook, their helpers and redis.conf.
pub const DATA_POD_FILES: [&str; 6] = [
    COMMON,
    START_REDIS,
    PROBE,
    PRESTOP_REDIS,
    REDIS_CONF_FILE,
    ACL_USERS,
];
/// The ConfigMap entries a Sentinel pod mounts (and so the ones its config digest covers).
pub const SENTINEL_POD_FILES: [&str; 5] =
    [COMMON, START_SENTINEL, PROBE, SENTINEL_CONF_FILE, ACL_USERS];

pub(crate) const SCRIPTS: [(&str, &str); 5] = [
    (COMMON, include_str!("../scripts/common.sh")),
    (START_REDIS, include_str!("../scripts/start-redis.sh")),
    (START_SENTINEL, include_str!("../scripts/start-sentinel.sh")),
    (PROBE, include_str!("../scripts/probe.sh")),
    (PRESTOP_REDIS, include_str!("../scripts/prestop-redis.sh")),
];

/// The config files and scripts mounted into every Redis pod (the ConfigMap's data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisFiles {
    /// File name → content. Nothing here contains a password.
    pub files: BTreeMap<String, String>,
}

impl RedisFiles {
    /// The content of one file.
    pub fn get(&self, name: &str) -> &str {
        self.files
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no rendered file {name}"))
    }
}

#[derive(Serialize)]
struct MinReplicas {
    replicas: u32,
    max_lag_seconds: u32,
}

#[derive(Serialize)]
struct TemplateContext<'a> {
    instance: &'a str,
    append_only: bool,
    min_replicas: Option<MinReplicas>,
    repl_backlog_megabytes: u32,
    master_name: &'a str,
    quorum: u32,
    down_after_milliseconds: u32,
    parallel_syncs: u32,
    failover_timeout_milliseconds: u32,
    replication_user: &'static str,
    sentinel_user: &'static str,
    sentinel_peer_user: &'static str,
}

/// The template engine with both config templates parsed once per process: parsing them took
/// about 40% of a render (measured with `perf` on `cargo xtask bench`).
fn engine() -> &'static Handlebars<'static> {
    static ENGINE: std::sync::OnceLock<Handlebars<'static>> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut engine = Handlebars::new();
        engine.set_strict_mode(true);
        engine.register_escape_fn(handlebars::no_escape);
        for (name, template) in [
            (REDIS_CONF_FILE, REDIS_CONF),
            (SENTINEL_CONF_FILE, SENTINEL_CONF),
        ] {
            engine
                .register_template_string(name, template)
                .expect("the built-in templates parse");
        }
        engine
    })
}

/// Renders the config templates and collects the scripts.
pub fn redis_files(valid: &ValidDeployment) -> RedisFiles {
    let d = valid.deployment();
    let sentinel = &d.redis.sentinel;
    let context = TemplateContext {
        instance: &d.name,
        append_only: d.redis.persistence.append_only,
        min_replicas: d.redis.min_replicas_in_force().map(|m| MinReplicas {
            replicas: m.replicas,
            max_lag_seconds: m.max_lag_seconds,
        }),
        repl_backlog_megabytes: d.redis.repl_backlog_megabytes,
        master_name: &d.redis.master_name,
        quorum: sentinel.effective_quorum(),
        down_after_milliseconds: sentinel.down_after_milliseconds,
        parallel_syncs: sentinel.parallel_syncs,
        failover_timeout_milliseconds: sentinel.effective_failover_timeout_milliseconds(),
        replication_user: acl::REPLICATION_USER,
        sentinel_user: acl::SENTINEL_USER,
        sentinel_peer_user: acl::SENTINEL_PEER_USER,
    };
    let render = |name: &str| {
        engine()
            .render(name, &context)
            .expect("the built-in templates render for every validated model")
    };
    let mut files: BTreeMap<String, String> = SCRIPTS
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    files.insert(REDIS_CONF_FILE.into(), render(REDIS_CONF_FILE));
    files.insert(SENTINEL_CONF_FILE.into(), render(SENTINEL_CONF_FILE));
    files.insert(ACL_USERS.into(), acl_users(d));
    RedisFiles { files }
}
