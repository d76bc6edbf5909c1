//! `redis.tls` as rendered: the Redis pods mount the Secret whole and get the TLS environment, the
//! gateway gets TLS with its certificate check and hostname verification on (never its insecure
//! defaults) and only the files it needs; a cert-manager source renders a Certificate into that
//! Secret naming every host a client dials.

use gatehouse_model::{Deployment, IssuerKind, IssuerRef, TlsCertificateSource, TlsClientAuth};
use gatehouse_render::{KubeObject, Names, helm, render};

fn tls(client_auth: TlsClientAuth) -> Deployment {
    let mut d = Deployment::guide_example();
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(TlsCertificateSource::Secret {
        name: "redis-tls".into(),
        client_secret: (client_auth == TlsClientAuth::Required).then(|| "redis-tls-gateway".into()),
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
    for (auth, files) in [
        (TlsClientAuth::Optional, vec![("ca.crt", "redis-tls")]),
        (
            TlsClientAuth::Required,
            vec![
                ("ca.crt", "redis-tls"),
                ("tls.crt", "redis-tls-gateway"),
                ("tls.key", "redis-tls-gateway"),
            ],
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
        assert_eq!(
            env.iter().any(|(n, _)| n.contains("_keystore_")),
            auth == TlsClientAuth::Required,
            "a keystore only with mutual TLS: {env:?}"
        );
        // Which Secret each mounted file comes from: the servers' Secret gives only the CA.
        let text = values.gateway.extra_volumes.clone().expect("extraVolumes");
        let volumes: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let mut found = Vec::new();
        for source in volumes[0]["projected"]["sources"].as_array().unwrap() {
            let secret = &source["secret"];
            for item in secret["items"].as_array().unwrap() {
                found.push((
                    item["path"].as_str().unwrap().to_string(),
                    secret["name"].as_str().unwrap().to_string(),
                ));
            }
        }
        let wanted: Vec<(String, String)> = files
            .iter()
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect();
        assert_eq!(found, wanted, "{auth:?}:\n{text}");
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
fn mutual_tls_from_cert_manager_gives_the_gateway_a_client_certificate_of_its_own() {
    let mut d = cert_manager();
    d.redis.tls.client_auth = TlsClientAuth::Required;
    let rendered = render(&d.clone().validated().unwrap());
    let certificates = certificates(&rendered);
    let [group, gateway] = certificates[..] else {
        panic!("two Certificates: {certificates:?}");
    };
    let names = Names::of(&d);
    assert_eq!(Some(&group.spec.secret_name), names.tls_secret.as_ref());
    assert_eq!(
        Some(&gateway.spec.secret_name),
        names.tls_client_secret.as_ref()
    );
    assert_ne!(group.spec.secret_name, gateway.spec.secret_name);
    assert_eq!(gateway.spec.issuer_ref, group.spec.issuer_ref);
    assert_eq!(gateway.spec.dns_names, None, "a client serves no host");
    let usages = serde_json::to_value(&gateway.spec.usages).unwrap();
    assert!(usages.as_array().unwrap().contains(&"client auth".into()));
    assert!(!usages.as_array().unwrap().contains(&"server auth".into()));
    let volumes = rendered.helm.values.gateway.extra_volumes.clone().unwrap();
    assert!(
        volumes.contains(&format!("name: {}", gateway.spec.secret_name)),
        "{volumes}"
    );
    assert_fits_its_subset(&KubeObject::Certificate(gateway.clone()));
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

fn cert_manager() -> Deployment {
    let mut d = Deployment::guide_example();
    d.redis.tls.enabled = true;
    d.redis.tls.certificate = Some(TlsCertificateSource::CertManager {
        issuer_ref: IssuerRef::new("internal-ca", IssuerKind::ClusterIssuer),
        duration: Some("2160h".into()),
        renew_before: Some("720h".into()),
        private_key: None,
    });
    d
}

fn env_value(container: &k8s_openapi::api::core::v1::Container, name: &str) -> String {
    container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
        .unwrap_or_else(|| panic!("{name} in {}", container.name))
}

/// Every host a client dials in the rendered output, read from the objects and values (not from
/// `Names`): each pod's announced address, the Sentinel and bootstrap addresses the scripts dial,
/// and the Sentinel nodes the gateway dials with hostname verification.
/// The cert-manager `Certificate`s among the rendered objects.
fn certificates(
    rendered: &gatehouse_render::Rendered,
) -> Vec<&gatehouse_render::crds::cert_manager::Certificate> {
    rendered
        .objects
        .iter()
        .filter_map(|o| match o {
            KubeObject::Certificate(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn dialled_hosts(rendered: &gatehouse_render::Rendered) -> std::collections::BTreeSet<String> {
    let mut hosts = std::collections::BTreeSet::new();
    let host = |addr: &str| addr.rsplit_once(':').unwrap().0.to_string();
    for object in &rendered.objects {
        let KubeObject::StatefulSet(sts) = object else {
            continue;
        };
        let spec = sts.spec.as_ref().unwrap();
        let container = &spec.template.spec.as_ref().unwrap().containers[0];
        let announce = env_value(container, "ANNOUNCE_HOST");
        for ordinal in 0..spec.replicas.unwrap() {
            let pod = format!("{}-{ordinal}", object.name());
            hosts.insert(announce.replace("$(POD_NAME)", &pod));
        }
        for sentinel in env_value(container, "SENTINELS").split_whitespace() {
            hosts.insert(host(sentinel));
        }
        hosts.insert(host(&env_value(container, "BOOTSTRAP_MASTER")));
    }
    let values = serde_json::to_value(&rendered.helm.values).unwrap();
    for node in values["gateway"]["ratelimit"]["redis"]["sentinel"]["nodes"]
        .as_array()
        .unwrap()
    {
        hosts.insert(node["host"].as_str().unwrap().to_string());
    }
    hosts
}

#[test]
fn a_cert_manager_source_renders_a_certificate_naming_every_dialled_host_into_the_mounted_secret() {
    let d = cert_manager();
    let rendered = render(&d.clone().validated().unwrap());
    let certificates = certificates(&rendered);
    let [certificate] = certificates[..] else {
        panic!("one Certificate: {certificates:?}");
    };
    let spec = &certificate.spec;
    assert_eq!(
        (
            spec.issuer_ref.name.as_str(),
            spec.issuer_ref.kind.as_deref()
        ),
        ("internal-ca", Some("ClusterIssuer"))
    );
    assert_eq!(spec.duration.as_deref(), Some("2160h"));
    // The Secret cert-manager writes is the one both StatefulSets mount and the gateway reads.
    let mounted: Vec<String> = rendered
        .objects
        .iter()
        .filter_map(|o| match o {
            KubeObject::StatefulSet(sts) => Some(sts),
            _ => None,
        })
        .flat_map(|sts| {
            let pod = sts.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
            pod.volumes
                .iter()
                .flatten()
                .filter_map(|v| v.secret.as_ref()?.secret_name.clone())
        })
        .filter(|name| name.contains("tls"))
        .collect();
    assert_eq!(mounted, vec![spec.secret_name.clone(); 2]);
    assert!(
        rendered
            .helm
            .values
            .gateway
            .extra_volumes
            .as_deref()
            .is_some_and(|v| v.contains(&format!("name: {}", spec.secret_name))),
        "the gateway reads the CA from the same Secret"
    );
    // Every host the pods and the gateway dial is a name of the certificate, and each name is
    // one of them or a Service name (short, namespaced and full).
    let names = spec.dns_names.clone().unwrap();
    let dialled = dialled_hosts(&rendered);
    let missing: Vec<_> = dialled.iter().filter(|h| !names.contains(h)).collect();
    assert!(missing.is_empty(), "not in dnsNames: {missing:?}");
    let n = Names::of(&d);
    for name in &names {
        assert!(
            dialled.contains(name)
                || [&n.data_service, &n.sentinel_service]
                    .iter()
                    .any(|s| name == *s || name.starts_with(&format!("{s}."))),
            "{name} is neither dialled nor a Service name"
        );
    }
    assert_eq!(dialled.len(), (n.data_pods + n.sentinel_pods) as usize);
    let usages = serde_json::to_value(&spec.usages).unwrap();
    for usage in ["server auth", "client auth"] {
        assert!(
            usages.as_array().unwrap().contains(&usage.into()),
            "{usages}"
        );
    }
    // The rendered object is exactly what the kept subset of the CRD allows.
    assert_fits_its_subset(&KubeObject::Certificate(certificate.clone()));
}

#[test]
fn a_secret_source_or_tls_off_renders_no_certificate() {
    for d in [tls(TlsClientAuth::Optional), Deployment::guide_example(), {
        let mut d = cert_manager();
        d.redis.tls.enabled = false;
        d
    }] {
        let rendered = render(&d.validated().unwrap());
        assert!(
            !rendered.objects.iter().any(|o| o.kind() == "Certificate"),
            "a Certificate without a cert-manager source"
        );
    }
}

/// The rendered object is exactly what the kept subset of its CRD allows (closed schema).
fn assert_fits_its_subset(object: &KubeObject) {
    let schema = gatehouse_render::crds::Subset::of(object.kind())
        .unwrap()
        .closed_object_schema();
    if let Some(errors) = gatehouse_testkit::jsonschema_errors(&schema, &object.to_json()) {
        assert_eq!(errors, Vec::<String>::new(), "{}", object.display_name());
    }
}

#[test]
fn the_release_names_the_secrets_the_gateway_mounts_and_no_other() {
    let mounted = |d: Deployment| {
        render(&d.validated().unwrap())
            .helm
            .mounted_secrets()
            .into_iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(mounted(tls(TlsClientAuth::Optional)), ["redis-tls"]);
    assert_eq!(
        mounted(tls(TlsClientAuth::Required)),
        ["redis-tls", "redis-tls-gateway"]
    );
    // The plugin volume (an emptyDir beside the TLS volume) mounts no Secret.
    let with_plugin = tls(TlsClientAuth::Optional)
        .with_plugin("https://x.example/p/a-1.0.zip", Some(&"a".repeat(64)));
    assert_eq!(mounted(with_plugin), ["redis-tls"]);
    assert!(mounted(Deployment::guide_example()).is_empty());
}
