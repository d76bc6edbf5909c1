//! The config digest on the Redis pod templates: a changed setting changes the pod template (and so
//! rolls the pods) of exactly the StatefulSet(s) that read it, and nothing else moves it.

use gatehouse_model::arbitrary::valid_deployment;
use gatehouse_model::{Deployment, SecretSource};
use gatehouse_render::names::annotations::CONFIG_DIGEST;
use gatehouse_render::{KubeObject, Names, Rendered, render};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use proptest::prelude::*;

fn rendered(d: &Deployment) -> Option<Rendered> {
    d.clone().validated().ok().map(|v| render(&v))
}

fn statefulset<'a>(r: &'a Rendered, name: &str) -> &'a StatefulSet {
    r.objects
        .iter()
        .find_map(|o| match o {
            KubeObject::StatefulSet(s) if s.metadata.name.as_deref() == Some(name) => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no StatefulSet {name}"))
}

/// (data digest, Sentinel digest).
fn digests(d: &Deployment) -> Option<(String, String)> {
    let r = rendered(d)?;
    let names = Names::of(d);
    let digest = |name: &str| {
        statefulset(&r, name)
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(CONFIG_DIGEST))
            .cloned()
            .unwrap_or_else(|| panic!("{name} has no {CONFIG_DIGEST} annotation"))
    };
    Some((
        digest(&names.data_statefulset),
        digest(&names.sentinel_statefulset),
    ))
}

/// Which digests moved: (data, Sentinel).
fn moved(before: &Deployment, change: impl FnOnce(&mut Deployment)) -> Option<(bool, bool)> {
    let mut after = before.clone();
    change(&mut after);
    let (data0, sentinel0) = digests(before)?;
    let (data1, sentinel1) = digests(&after)?;
    Some((data0 != data1, sentinel0 != sentinel1))
}

fn pod(s: &StatefulSet) -> &PodSpec {
    s.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

/// The script files a container runs: its command, probes and pre-stop hook.
fn scripts_run(c: &Container) -> Vec<String> {
    let exec_commands = [
        c.command.clone(),
        c.readiness_probe
            .as_ref()
            .and_then(|p| p.exec.as_ref()?.command.clone()),
        c.liveness_probe
            .as_ref()
            .and_then(|p| p.exec.as_ref()?.command.clone()),
        c.startup_probe
            .as_ref()
            .and_then(|p| p.exec.as_ref()?.command.clone()),
        c.lifecycle
            .as_ref()
            .and_then(|l| l.pre_stop.as_ref()?.exec.as_ref()?.command.clone()),
    ];
    exec_commands
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|arg| {
            arg.strip_prefix(gatehouse_render::names::paths::TEMPLATES)
                .map(|rest| rest.trim_start_matches('/').to_string())
        })
        .collect()
}

/// The ConfigMap entries a pod mounts.
fn mounted(s: &StatefulSet) -> Vec<String> {
    pod(s)
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| v.config_map.as_ref()?.items.as_ref())
        .flatten()
        .map(|i| i.key.clone())
        .collect()
}

/// What the digest covers is what the pod reads: every script it runs and every file those scripts
/// name under `$TEMPLATE_DIR` is mounted, and every mounted entry is read by one of them.
#[test]
fn each_pod_mounts_exactly_the_files_it_reads() {
    let d = Deployment::guide_example();
    let r = rendered(&d).expect("the example is valid");
    let names = Names::of(&d);
    let cm = r
        .objects
        .iter()
        .find_map(|o| match o {
            KubeObject::ConfigMap(c) => c.data.clone(),
            _ => None,
        })
        .expect("a ConfigMap");
    for name in [&names.data_statefulset, &names.sentinel_statefulset] {
        let s = statefulset(&r, name);
        let mounted = mounted(s);
        let mut read: Vec<String> = scripts_run(&pod(s).containers[0]);
        read = read.iter().fold(Vec::new(), |mut unique, f| {
            if !unique.contains(f) {
                unique.push(f.clone());
            }
            unique
        });
        let mut i = 0;
        while i < read.len() {
            let text = cm
                .get(&read[i])
                .unwrap_or_else(|| panic!("{name} runs {} which is not rendered", read[i]));
            for part in text.split("$TEMPLATE_DIR/").skip(1) {
                let file: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
                    .collect();
                if !read.contains(&file) {
                    read.push(file);
                }
            }
            i += 1;
        }
        read.sort();
        let mut mounted_sorted = mounted.clone();
        mounted_sorted.sort();
        assert_eq!(
            mounted_sorted, read,
            "{name} mounts {mounted:?} but reads {read:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A Sentinel setting moves the Sentinels' digest only; a redis.conf setting the data nodes'
    /// only; the Redis password's Secret reference both; a gateway setting neither.
    #[test]
    fn a_setting_moves_the_digest_of_exactly_its_readers(d in valid_deployment()) {
        prop_assume!(digests(&d).is_some());
        let sentinel_changes: [fn(&mut Deployment); 3] = [
            |d| d.redis.sentinel.down_after_milliseconds += 1000,
            |d| {
                let s = &mut d.redis.sentinel;
                s.failover_timeout_milliseconds = Some(s.effective_failover_timeout_milliseconds() + 1000)
            },
            |d| d.redis.sentinel.parallel_syncs = d.redis.sentinel.parallel_syncs % 2 + 1,
        ];
        for change in sentinel_changes {
            if let Some(m) = moved(&d, change) {
                // parallel-syncs may be set to the value it had: then nothing may move.
                prop_assert!(!m.0, "a Sentinel setting moved the data digest");
            }
        }
        if let Some(m) = moved(&d, |d| d.redis.sentinel.down_after_milliseconds += 1000) {
            prop_assert_eq!(m, (false, true));
        }
        if let Some(m) = moved(&d, |d| d.redis.repl_backlog_megabytes += 1) {
            prop_assert_eq!(m, (true, false));
        }
        if let Some(m) = moved(&d, |d| {
            d.redis.persistence.append_only = !d.redis.persistence.append_only
        }) {
            prop_assert_eq!(m, (true, false));
        }
        if let Some(m) = moved(&d, |d| {
            d.redis.password = SecretSource::ExistingSecret {
                name: "other-redis-secret".into(),
                key: "pw".into(),
            }
        }) {
            prop_assert_eq!(m, (true, true));
        }
        if let Some(m) = moved(&d, |d| d.gateway.replicas += 1) {
            prop_assert_eq!(m, (false, false));
        }
        if let Some(m) = moved(&d, |d| d.gateway.version = format!("{}-x", d.gateway.version)) {
            prop_assert_eq!(m, (false, false));
        }
    }
}
