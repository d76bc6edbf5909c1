//! Every default that depends on another field is derived from what the user set: setting one
//! field of each dependent pair alone, to each valid value that matters, never yields an error
//! about the other field, and the derived value is the one README documents. Each pair is tried
//! from a YAML file and from a Rust value built from `Default`.

use gatehouse_model::{Deployment, Severity, ValidDeployment, from_yaml_str};

/// The YAML of one field set alone, `a.b.c: value`, nested.
fn yaml_of(path: &str, value: &str) -> String {
    let mut yaml = String::new();
    let parts: Vec<&str> = path.split('.').collect();
    for (depth, part) in parts.iter().enumerate() {
        let indent = "  ".repeat(depth);
        if depth + 1 == parts.len() {
            yaml.push_str(&format!("{indent}{part}: {value}\n"));
        } else {
            yaml.push_str(&format!("{indent}{part}:\n"));
        }
    }
    yaml
}

/// Loads the YAML and validates it, failing with every problem if it has an error.
fn valid_from_yaml(yaml: &str) -> ValidDeployment {
    let d = from_yaml_str(yaml, "t.yaml").unwrap_or_else(|e| panic!("{yaml}\n{e}"));
    valid(d, yaml)
}

fn valid(d: Deployment, what: &str) -> ValidDeployment {
    let problems = d.validate();
    let errors: Vec<_> = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
    d.validated().expect("no error")
}

fn warned(valid: &ValidDeployment, path: &str) -> bool {
    valid.warnings().iter().any(|p| p.path == path)
}

#[test]
fn min_replicas_max_lag_follows_down_after() {
    // (down-after written, derived lag): the lag never exceeds down-after and is capped at 10 s.
    let cases = [
        (1000, 1),
        (2000, 2),
        (3000, 3),
        (7000, 7),
        (9999, 9),
        (10_000, 10),
        (60_000, 10),
    ];
    for (down_after, lag) in cases {
        let yaml = yaml_of(
            "redis.sentinel.downAfterMilliseconds",
            &down_after.to_string(),
        );
        let from_yaml = valid_from_yaml(&yaml);
        let from_rust = valid(
            Deployment::default().with_down_after_milliseconds(down_after),
            "rust",
        );
        for v in [&from_yaml, &from_rust] {
            let min = v.redis.min_replicas_in_force().expect("on with 2 replicas");
            assert_eq!(
                (min.replicas, min.max_lag_seconds),
                (1, lag),
                "{down_after}"
            );
            assert!(!warned(v, "redis.minReplicasToWrite.maxLagSeconds"));
        }
    }
    // Below a second the shortest lag Redis accepts (1 s) is longer: a warning, never an error.
    for down_after in [100, 500, 999] {
        let yaml = yaml_of(
            "redis.sentinel.downAfterMilliseconds",
            &down_after.to_string(),
        );
        let v = valid_from_yaml(&yaml);
        assert_eq!(v.redis.min_replicas_in_force().unwrap().max_lag_seconds, 1);
        assert!(
            warned(&v, "redis.minReplicasToWrite.maxLagSeconds"),
            "{down_after}"
        );
    }
}

#[test]
fn down_after_follows_a_written_lag_never_the_reverse() {
    // A written lag is checked against the down-after in force (written or default 10 s).
    for lag in 1..=10 {
        let yaml = yaml_of("redis.minReplicasToWrite.maxLagSeconds", &lag.to_string());
        let v = valid_from_yaml(&yaml);
        assert_eq!(
            v.redis.min_replicas_in_force().unwrap().max_lag_seconds,
            lag
        );
    }
    let err = from_yaml_str(
        &yaml_of("redis.minReplicasToWrite.maxLagSeconds", "11"),
        "t",
    )
    .unwrap()
    .validated()
    .unwrap_err();
    assert!(
        err.has_path("redis.minReplicasToWrite.maxLagSeconds"),
        "{err}"
    );
}

#[test]
fn min_replicas_follows_the_replica_count() {
    // (replicas written, derived min-replicas-to-write; None: off).
    for (replicas, expected) in [(1, None), (2, Some(1)), (3, Some(1)), (5, Some(1))] {
        let yaml = yaml_of("redis.replicas", &replicas.to_string());
        let from_yaml = valid_from_yaml(&yaml);
        let from_rust = valid(Deployment::default().with_redis_replicas(replicas), "rust");
        for v in [&from_yaml, &from_rust] {
            assert_eq!(
                v.redis.min_replicas_in_force().map(|m| m.replicas),
                expected,
                "{replicas}"
            );
            // Off with 1 replica says what the user gives up; on, nothing to say.
            assert_eq!(
                warned(v, "redis.minReplicasToWrite"),
                expected.is_none(),
                "{replicas}"
            );
        }
    }
    let off = valid_from_yaml("redis:\n  replicas: 1\n");
    let warning = off
        .warnings()
        .iter()
        .find(|p| p.path == "redis.minReplicasToWrite")
        .unwrap();
    assert!(warning.message.contains("writes are lost"), "{warning}");
    // Written, it stays an error: the user asked for something that stops every write.
    let err = from_yaml_str(
        "redis:\n  replicas: 1\n  minReplicasToWrite:\n    replicas: 1\n",
        "t",
    )
    .unwrap()
    .validated()
    .unwrap_err();
    assert!(err.has_path("redis.minReplicasToWrite.replicas"), "{err}");
    // And `null` turns it off without a warning.
    let v = valid_from_yaml("redis:\n  replicas: 1\n  minReplicasToWrite: null\n");
    assert_eq!(v.redis.min_replicas_in_force(), None);
    assert!(!warned(&v, "redis.minReplicasToWrite"));
}

#[test]
fn replica_count_never_conflicts_with_a_written_min_replicas() {
    // minReplicasToWrite.replicas written alone (valid with the default 2 replicas).
    let v = valid_from_yaml(&yaml_of("redis.minReplicasToWrite.replicas", "1"));
    assert_eq!(v.redis.min_replicas_in_force().unwrap().replicas, 1);
}

#[test]
fn quorum_follows_the_sentinel_count() {
    for (count, quorum) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4)] {
        let v = valid_from_yaml(&yaml_of("redis.sentinel.count", &count.to_string()));
        assert_eq!(v.redis.sentinel.effective_quorum(), quorum, "{count}");
        let r = valid(Deployment::default().with_sentinels(count), "rust");
        assert_eq!(r.redis.sentinel.effective_quorum(), quorum, "{count}");
    }
    // The quorum alone is checked against the default count (3).
    for quorum in 1..=3 {
        let v = valid_from_yaml(&yaml_of("redis.sentinel.quorum", &quorum.to_string()));
        assert_eq!(v.redis.sentinel.effective_quorum(), quorum);
    }
}

#[test]
fn failover_timeout_follows_down_after() {
    for (down_after, timeout) in [
        (100, 30_000),
        (10_000, 30_000),
        (29_999, 89_997),
        (30_000, 90_000),
        (60_000, 180_000),
        (u32::MAX, u32::MAX),
    ] {
        let v = valid_from_yaml(&yaml_of(
            "redis.sentinel.downAfterMilliseconds",
            &down_after.to_string(),
        ));
        let r = valid(
            Deployment::default().with_down_after_milliseconds(down_after),
            "rust",
        );
        for v in [&v, &r] {
            let s = &v.redis.sentinel;
            assert_eq!(s.effective_failover_timeout_milliseconds(), timeout);
            assert!(!v.warnings().iter().any(|p| p.path.contains("failover")));
        }
    }
    // A written timeout alone is checked against the default down-after (10 s).
    let v = valid_from_yaml(&yaml_of(
        "redis.sentinel.failoverTimeoutMilliseconds",
        "10001",
    ));
    assert_eq!(
        v.redis.sentinel.effective_failover_timeout_milliseconds(),
        10_001
    );
}

#[test]
fn shutdown_delay_and_grace_period_follow_each_other() {
    // (grace period written, derived delay).
    for (grace, delay) in [(1, 0), (2, 0), (3, 1), (15, 6), (50, 20), (120, 20)] {
        let yaml = yaml_of("gateway.terminationGracePeriodSeconds", &grace.to_string());
        let v = valid_from_yaml(&yaml);
        assert_eq!(v.gateway.graceful_shutdown(), delay, "{grace}");
        assert_eq!(v.gateway.termination_grace_period(), grace);
    }
    // (delay written, derived grace period).
    for (delay, grace) in [(0, 50), (20, 50), (49, 79), (50, 80), (300, 330)] {
        let yaml = yaml_of("gateway.gracefulShutdownSeconds", &delay.to_string());
        let v = valid_from_yaml(&yaml);
        assert_eq!(v.gateway.termination_grace_period(), grace, "{delay}");
    }
    // Both written and contradictory: the error stays.
    let err = from_yaml_str(
        "gateway:\n  gracefulShutdownSeconds: 30\n  terminationGracePeriodSeconds: 30\n",
        "t",
    )
    .unwrap()
    .validated()
    .unwrap_err();
    assert!(err.has_path("gateway.gracefulShutdownSeconds"), "{err}");
}

#[test]
fn a_resource_left_out_follows_its_written_request_or_limit() {
    // (place, field written alone, value, the other field, its derived value).
    let cases = [
        (
            "redis.resources",
            "requests.memory",
            "1Gi",
            "limits.memory",
            "1Gi",
        ),
        (
            "redis.resources",
            "requests.memory",
            "128Mi",
            "limits.memory",
            "512Mi",
        ),
        ("redis.resources", "requests.cpu", "2", "limits.cpu", "2"),
        (
            "redis.resources",
            "limits.cpu",
            "50m",
            "requests.cpu",
            "50m",
        ),
        (
            "redis.resources",
            "limits.memory",
            "128Mi",
            "requests.memory",
            "128Mi",
        ),
        (
            "redis.resources",
            "limits.memory",
            "1Gi",
            "requests.memory",
            "256Mi",
        ),
        (
            "redis.sentinel.resources",
            "requests.cpu",
            "1",
            "limits.cpu",
            "1",
        ),
        (
            "redis.sentinel.resources",
            "limits.memory",
            "32Mi",
            "requests.memory",
            "32Mi",
        ),
        (
            "gateway.resources",
            "requests.memory",
            "4Gi",
            "limits.memory",
            "4Gi",
        ),
        (
            "gateway.resources",
            "limits.cpu",
            "100m",
            "requests.cpu",
            "100m",
        ),
    ];
    for (place, field, value, other, derived) in cases {
        let yaml = yaml_of(&format!("{place}.{field}"), &format!("\"{value}\""));
        let v = valid_from_yaml(&yaml);
        let json = serde_json::to_value(v.deployment()).unwrap();
        let mut node = &json;
        for part in place.split('.').chain(other.split('.')) {
            node = &node[part];
        }
        assert_eq!(node, derived, "{yaml}");
    }
}

#[test]
fn sentinel_port_follows_the_redis_port() {
    for (redis, sentinel) in [(6379, 26379), (1, 26379), (26379, 26380), (26380, 26379)] {
        let v = valid_from_yaml(&yaml_of("redis.port", &redis.to_string()));
        assert_eq!(v.redis.sentinel_port(), sentinel, "{redis}");
        let mut d = Deployment::default();
        d.redis.port = redis;
        assert_eq!(valid(d, "rust").redis.sentinel_port(), sentinel);
    }
    // The Sentinel port alone never collides with the default data port unless written so.
    for port in [26379, 6380, 1] {
        let v = valid_from_yaml(&yaml_of("redis.sentinel.port", &port.to_string()));
        assert_eq!(v.redis.sentinel_port(), port);
    }
}
