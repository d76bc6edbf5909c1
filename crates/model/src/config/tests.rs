use super::*;

const CONFIG: &str = "\
namespace: apim
redis:
  sentinel:
    count: 3
    quorum: 4
gateway:
  plugins:
    - url: https://x.example/a.zip
    - url: http://x.example/b.zip
      sha256: nope
  env:
    - name: A
      value: b
";

#[test]
fn validation_errors_point_into_the_file() {
    let err = load_yaml_str(CONFIG, "c.yaml").unwrap_err().to_string();
    assert!(
        err.contains("c.yaml:5:5: error: redis.sentinel.quorum: 4 exceeds"),
        "{err}"
    );
    assert!(
        err.contains("c.yaml:9:7: error: gateway.plugins[1].url:"),
        "{err}"
    );
    assert!(
        err.contains("c.yaml:10:7: error: gateway.plugins[1].sha256:"),
        "{err}"
    );
}

#[test]
fn flow_mappings_are_located_too() {
    let yaml = "redis: {replicas: 0, sentinel: {count: 3, quorum: 4}}\n";
    let err = load_yaml_str(yaml, "f.yaml").unwrap_err().to_string();
    assert!(err.contains("f.yaml:1:9: error: redis.replicas:"), "{err}");
    assert!(
        err.contains("f.yaml:1:43: error: redis.sentinel.quorum:"),
        "{err}"
    );
}

#[test]
fn syntax_errors_name_line_column_and_path() {
    let err = from_yaml_str("redis:\n  sentinel:\n    quorom: 2\n", "f.yaml").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("f.yaml:3:5: redis.sentinel.quorom: unknown field `quorom`"),
        "{text}"
    );
    let err = from_yaml_str("redis:\n  replicas: two\n", "f.yaml")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "f.yaml:2:13: redis.replicas: expected an integer from 0 to 4294967295, found text"
    );
}

fn syntax(yaml: &str) -> String {
    from_yaml_str(yaml, "f.yaml").unwrap_err().to_string()
}

#[test]
fn parse_errors_speak_the_users_terms() {
    for (yaml, expected) in [
        (
            "redis:\n  password: hunter2-pass\n",
            "f.yaml:2:3: redis.password: expected a map with from: env|existingSecret|generated",
        ),
        (
            "namespace: a\nname: b\nnamespace: c\n",
            "f.yaml:3:1: namespace: duplicate key `namespace` (line 1 and line 3)",
        ),
        (
            "namespace: a\n---\nnamespace: b\n",
            "the file has 2 YAML documents; gatehouse reads one",
        ),
        (
            "namespace: ~\n",
            "f.yaml:1:12: namespace: needs text; the value is empty (null)",
        ),
        (
            "redis:\n  port: 70000\n",
            "redis.port: expected an integer from 0 to 65535",
        ),
    ] {
        let err = syntax(yaml);
        assert!(err.contains(expected), "{yaml:?}\n{err}");
        for word in gatehouse_testkit::RUST_WORDS {
            assert!(!err.contains(word), "{yaml:?} leaks `{word}`: {err}");
        }
        assert_eq!(
            err.matches("line ").count(),
            usize::from(expected.contains("(line")) * 2,
            "location once: {err}"
        );
    }
    assert!(!syntax("redis:\n  password: hunter2-pass\n").contains("hunter2"));
}

#[test]
fn long_values_are_cut_in_parse_errors() {
    let yaml = format!("redis:\n  replicas: {}\n", "9".repeat(5000));
    let err = syntax(&yaml);
    assert!(err.len() < 300, "{err}");
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(
        from_yaml_str("# nothing\n", "f").unwrap(),
        Deployment::default()
    );
}

#[test]
fn partial_overrides_keep_the_defaults_of_their_place() {
    let d = from_yaml_str(
        "redis:\n  image: {tag: 7.4.1}\n  resources: {requests: {cpu: 300m}}\n  sentinel:\n    resources:\n      limits: {memory: 256Mi}\ngateway:\n  resources: {limits: {cpu: '2'}}\n",
        "f",
    )
    .unwrap();
    let defaults = Deployment::default();
    assert_eq!(d.redis.image.repository, defaults.redis.image.repository);
    assert_eq!(d.redis.image.tag, "7.4.1");
    assert_eq!(d.redis.resources.requests.cpu, "300m");
    assert_eq!(
        d.redis.resources.requests.memory,
        defaults.redis.resources.requests.memory
    );
    assert_eq!(d.redis.resources.limits, defaults.redis.resources.limits);
    assert_eq!(d.redis.sentinel.resources.limits.memory, "256Mi");
    assert_eq!(
        d.redis.sentinel.resources.requests,
        defaults.redis.sentinel.resources.requests
    );
    assert_eq!(d.gateway.resources.limits.cpu, "2");
    assert_eq!(
        d.gateway.resources.requests,
        defaults.gateway.resources.requests
    );
    // The merged result is validated: an empty tag is still refused.
    let err = load_yaml_str("redis:\n  image: {tag: ''}\n", "f").unwrap_err();
    assert!(err.to_string().contains("redis.image.tag"), "{err}");
}

#[test]
fn booleans_come_only_from_yaml_booleans() {
    assert!(
        from_yaml_str("gateway:\n  autoscaling: yes\n", "f")
            .unwrap()
            .gateway
            .autoscaling
    );
    assert!(
        from_yaml_str("gateway:\n  autoscaling: true\n", "f")
            .unwrap()
            .gateway
            .autoscaling
    );
    let err = syntax("gateway:\n  autoscaling: \"yes\"\n");
    assert!(
        err.contains("gateway.autoscaling: \"yes\" is quoted text"),
        "{err}"
    );
    assert!(err.contains("write yes without quotes, or true"), "{err}");
}
