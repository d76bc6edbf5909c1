//! `redis.tls` as rendered: the Redis pods mount the Secret whole and get the TLS environment, the
//! gateway gets TLS with its certificate check and hostname verification on (never its insecure
//! defaults) and only the files it needs.

use gatehouse_model::{Deployment, TlsCertificateSource, TlsClientAuth};
use gatehouse_render::{KubeObject, Names, helm, render};

fn tls(client_auth: TlsClientAuth) -> Deployment {
    let mut d = Deployment::guide_example();
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(TlsCertificateSource::Secret {
        name: "redis-tls".into(),
    });
    d.redis.tls.client_auth = client_auth;
    d
}

fn env_of(values: &helm::GatewayValues) -> Vec<(String, String)> {
    values
        .gateway
        .env
        .iter()
        .filter_map(|e| e.value.clone().map(|v| (e.name.clone(), v)))
        .collect()
}

#[test]
fn redis_pods_mount_the_secret_whole_and_speak_tls() {
    let valid = tls(TlsClientAuth::Required).validated().unwrap();
    let rendered = render(&valid);
    let mut seen = 0;
    for object in &rendered.objects {
        let KubeObject::StatefulSet(sts) = object else {
            continue;
        };
        let pod = sts.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let volume = pod
            .volumes
            .iter()
            .flatten()
            .find(|v| v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some("redis-tls"))
            .unwrap_or_else(|| panic!("{} mounts the TLS Secret", object.name()));
        let container = &pod.containers[0];
        let mount = container
            .volume_mounts
            .iter()
            .flatten()
            .find(|m| m.name == volume.name)
            .expect("mounted");
        assert_eq!(
            mount.sub_path, None,
            "a subPath mount never sees a renewed certificate"
        );
        let env: Vec<_> = container.env.iter().flatten().collect();
        let value = |name: &str| {
            env.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
                .unwrap_or_else(|| panic!("{name} in {}", object.name()))
        };
        assert_eq!(value("REDIS_TLS"), "yes");
        assert_eq!(value("TLS_AUTH_CLIENTS"), "yes");
        assert!(value("TLS_CERT_FILE").starts_with(&mount.mount_path));
        seen += 1;
    }
    assert_eq!(seen, 2, "both StatefulSets");
}

#[test]
fn without_tls_nothing_tls_is_rendered() {
    let d = Deployment::guide_example();
    let valid = d.clone().validated().unwrap();
    for object in &render(&valid).objects {
        if let KubeObject::StatefulSet(sts) = object {
            let pod = sts.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
            let env = &pod.containers[0].env;
            assert!(
                !env.iter().flatten().any(|e| e.name.contains("TLS")),
                "TLS env without redis.tls: {env:?}"
            );
            assert!(!pod.volumes.iter().flatten().any(|v| v.name == "tls"));
        }
    }
    let values = helm::gateway_values(&d, &Names::of(&d));
    assert!(
        !env_of(&values).iter().any(|(n, _)| n.ends_with("_ssl")),
        "gateway TLS env without redis.tls"
    );
    assert_eq!(values.gateway.extra_volumes, None);
}

#[test]
fn the_gateway_verifies_the_server_and_sees_no_private_key_unless_mutual() {
    for (auth, keys) in [
        (TlsClientAuth::Optional, vec!["ca.crt"]),
        (
            TlsClientAuth::Required,
            vec!["ca.crt", "tls.crt", "tls.key"],
        ),
    ] {
        let d = tls(auth);
        let names = Names::of(&d);
        let values = helm::gateway_values(&d, &names);
        let env = env_of(&values);
        let layout = helm::chart_layout(&d);
        let prefix = layout.redis_env_prefix();
        for (name, value) in [
            ("ssl", "true"),
            ("trustall", "false"),
            ("hostnameverificationalgorithm", "HTTPS"),
            ("truststore_type", "pem"),
        ] {
            assert!(
                env.contains(&(format!("{prefix}_{name}"), value.into())),
                "{name}={value} in {env:?}"
            );
        }
        let volumes = values.gateway.extra_volumes.clone().expect("extraVolumes");
        for key in ["ca.crt", "tls.crt", "tls.key"] {
            assert_eq!(
                volumes.contains(&format!("key: {key}")),
                keys.contains(&key),
                "{auth:?}: {key} in\n{volumes}"
            );
        }
        assert!(
            values
                .gateway
                .extra_volume_mounts
                .as_deref()
                .is_some_and(|m| m.contains(helm::GATEWAY_REDIS_TLS)),
            "mounted"
        );
    }
}

#[test]
fn the_gateway_tls_settings_follow_the_chart_line() {
    let mut d = tls(TlsClientAuth::Optional);
    for version in ["4.9.0", "4.12.0"] {
        d.gateway.version = version.into();
        let values = helm::gateway_values(&d, &Names::of(&d));
        let expected = format!("{}_trustall", helm::chart_layout(&d).redis_env_prefix());
        assert!(
            env_of(&values)
                .iter()
                .any(|(n, v)| n == &expected && v == "false"),
            "{version}: {expected}"
        );
    }
}
