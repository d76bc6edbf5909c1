//! The competitors' inputs, written at bench time from gatehouse's own rendered objects.
//!
//! Nothing here re-implements the product: two Helm charts made from the rendered objects (the
//! *literal* one, whose templates are the objects with only name and namespace left to Helm, the
//! floor of any chart; and a *realistic* one, written the way a person writes a chart: every value
//! looked up from `values.yaml`, label maps and lists through `toYaml | nindent`), a kustomization
//! of the rendered manifests, and the objects as JSON for a generic cdk8s app
//! (`benches/cdk8s/main.js`). Adding an object kind to gatehouse changes every input with no edit
//! here.

use std::fmt::Write as _;
use std::path::Path;

use gatehouse_model::{Deployment, ValidDeployment};
use gatehouse_render::{Rendered, render, yaml::to_yaml};
use serde_json::{Value, json};

use super::write;

/// Stands for the deployment's name in the chart's templates (`{{ .Values.name }}`).
const NAME_MARKER: &str = "zzbenchname";
/// Stands for the namespace in the chart's templates (`{{ .Release.Namespace }}`).
const NAMESPACE_MARKER: &str = "zzbenchns";

/// `example` with its name and namespace replaced by markers, and the names derived from its name
/// (Sentinel service, release) following along.
fn with_markers(example: &Deployment) -> Result<ValidDeployment, String> {
    let rename = |text: &str| match text.strip_prefix(example.name.as_str()) {
        Some(rest) => format!("{NAME_MARKER}{rest}"),
        None => text.to_string(),
    };
    let mut d = example.clone().with_namespace(NAMESPACE_MARKER);
    d.name = NAME_MARKER.into();
    // Unset names are derived from `name` and follow the marker by themselves.
    d.redis.sentinel.service_name = example.redis.sentinel.service_name.as_deref().map(rename);
    d.gateway.release_name = example.gateway.release_name.as_deref().map(rename);
    d.validated()
        .map_err(|_| "the bench's marker deployment is not valid".to_string())
}

/// One template of the generated chart: an object's YAML with Go template delimiters escaped and
/// the markers turned into template actions.
fn template(yaml: &str) -> String {
    yaml.replace("{{", "{{ \"{{\" }}")
        .replace(NAMESPACE_MARKER, "{{ .Release.Namespace }}")
        .replace(NAME_MARKER, "{{ .Values.name }}")
}

/// Pairs (digest in the marked render, digest in the example's render) of the pod templates' config
/// digest: it covers file contents that name the deployment, so it cannot follow the markers; the
/// chart carries the example's own digest instead.
fn digest_pairs(marked: &Rendered, real: &Rendered) -> Vec<(String, String)> {
    let digests = |r: &Rendered| -> Vec<String> {
        r.objects
            .iter()
            .filter_map(|o| match o {
                gatehouse_render::KubeObject::StatefulSet(s) => s
                    .spec
                    .as_ref()?
                    .template
                    .metadata
                    .as_ref()?
                    .annotations
                    .as_ref()?
                    .get(gatehouse_render::names::annotations::CONFIG_DIGEST)
                    .cloned(),
                _ => None,
            })
            .collect()
    };
    digests(marked).into_iter().zip(digests(real)).collect()
}

fn with_digests(text: String, pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .fold(text, |text, (marked, real)| text.replace(marked, real))
}

/// Writes a Helm chart into `dir` whose templates are gatehouse's objects for `example`, and
/// returns the values that make Helm render exactly those objects.
pub fn helm_chart(example: &Deployment, dir: &Path) -> Result<Value, String> {
    let templates = dir.join("templates");
    chart_yaml(dir, "")?;
    let rendered: Rendered = render(&with_markers(example)?);
    let real = render(
        &example
            .clone()
            .validated()
            .map_err(|_| "the bench's example is not valid".to_string())?,
    );
    let pairs = digest_pairs(&rendered, &real);
    for object in &rendered.objects {
        write(
            &templates.join(object.file_name()),
            &with_digests(template(&to_yaml(object)), &pairs),
        )?;
    }
    Ok(json!({
        "name": example.name,
        "namespace": example.namespace,
        "releaseName": example.gateway.release_name,
    }))
}

/// Writes a chart into `dir` the way a person writes one: the templates keep each object's shape,
/// `apiVersion` and `kind` are literal, every other value comes from `values.yaml` (scalars as
/// `{{ .Values.… | toJson }}`, maps of strings such as labels and lists of scalars as
/// `{{- toYaml .Values.… | nindent N }}`), the namespace is `{{ .Release.Namespace }}`. Returns the values to render it with (the chart's own `values.yaml`
/// holds every object value).
pub fn realistic_helm_chart(example: &Deployment, dir: &Path) -> Result<Value, String> {
    let templates = dir.join("templates");
    chart_yaml(dir, ", values templated")?;
    let valid = example
        .clone()
        .validated()
        .map_err(|_| "the bench's example is not valid".to_string())?;
    let mut values = serde_json::Map::new();
    for object in &render(&valid).objects {
        let key = values_key(object.kind(), object.name());
        let mut text = String::new();
        let Value::Object(json) = object.to_json() else {
            return Err(format!("{} is not a JSON object", object.display_name()));
        };
        template_map(&json, &[Segment::Key(key.clone())], 0, &mut text);
        write(&templates.join(object.file_name()), &text)?;
        values.insert(key, Value::Object(json));
    }
    write(&dir.join("values.yaml"), &to_yaml(&values))?;
    Ok(json!({
        "name": example.name,
        "namespace": example.namespace,
        "releaseName": example.gateway.release_name,
    }))
}

/// The values key of one object: `<kind><Name>` in camel case (`statefulSetGatewayRedis`).
fn values_key(kind: &str, name: &str) -> String {
    let mut key: String = kind[..1].to_ascii_lowercase() + &kind[1..];
    for word in name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        key.push_str(&word[..1].to_ascii_uppercase());
        key.push_str(&word[1..]);
    }
    key
}

/// One step of a path into the values.
#[derive(Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The template expression reading `path` from the values: `.Values.a.b` where every step is a
/// plain name, `(index .Values "a" "b-c" 0)` otherwise.
fn lookup(path: &[Segment]) -> String {
    let plain = path.iter().all(|s| match s {
        Segment::Key(k) => k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        Segment::Index(_) => false,
    });
    if plain {
        let keys: Vec<&str> = path
            .iter()
            .map(|s| match s {
                Segment::Key(k) => k.as_str(),
                Segment::Index(_) => unreachable!(),
            })
            .collect();
        return format!(".Values.{}", keys.join("."));
    }
    let steps: Vec<String> = path
        .iter()
        .map(|s| match s {
            Segment::Key(k) => format!("{k:?}"),
            Segment::Index(i) => i.to_string(),
        })
        .collect();
    format!("(index .Values {})", steps.join(" "))
}

/// Whether a value goes through `toYaml` as one block: a map of strings (labels, annotations,
/// selectors, ConfigMap data) or a list of scalars (commands, arguments).
fn as_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty() && map.values().all(Value::is_string),
        Value::Array(items) => {
            !items.is_empty() && items.iter().all(|v| !v.is_object() && !v.is_array())
        }
        _ => false,
    }
}

fn template_map(
    map: &serde_json::Map<String, Value>,
    path: &[Segment],
    indent: usize,
    out: &mut String,
) {
    let pad = " ".repeat(indent);
    for (key, value) in map {
        let mut here = path.to_vec();
        here.push(Segment::Key(key.clone()));
        let quoted = serde_json::to_string(key).expect("a key serializes");
        if path.len() == 2 && key == "namespace" {
            let _ = writeln!(out, "{pad}{quoted}: {{{{ .Release.Namespace }}}}");
            continue;
        }
        // A person writes the type of each template as it is.
        if path.len() == 1 && (key == "apiVersion" || key == "kind") {
            let _ = writeln!(out, "{pad}{quoted}: {value}");
            continue;
        }
        match value {
            Value::Object(m) if m.is_empty() => {
                let _ = writeln!(out, "{pad}{quoted}: {{}}");
            }
            Value::Array(a) if a.is_empty() => {
                let _ = writeln!(out, "{pad}{quoted}: []");
            }
            v if as_block(v) => {
                let _ = writeln!(
                    out,
                    "{pad}{quoted}:\n{pad}  {{{{- toYaml {} | nindent {} }}}}",
                    lookup(&here),
                    indent + 2
                );
            }
            Value::Object(m) => {
                let _ = writeln!(out, "{pad}{quoted}:");
                template_map(m, &here, indent + 2, out);
            }
            Value::Array(items) => {
                let _ = writeln!(out, "{pad}{quoted}:");
                for (i, item) in items.iter().enumerate() {
                    let mut at = here.clone();
                    at.push(Segment::Index(i));
                    match item {
                        Value::Object(m) if !m.is_empty() => {
                            let mut element = String::new();
                            template_map(m, &at, indent + 2, &mut element);
                            let first = format!("{pad}  ");
                            let element = element.replacen(&first, &format!("{pad}- "), 1);
                            out.push_str(&element);
                        }
                        _ => {
                            let _ = writeln!(out, "{pad}- {{{{ {} | toJson }}}}", lookup(&at));
                        }
                    }
                }
            }
            _ => {
                let _ = writeln!(out, "{pad}{quoted}: {{{{ {} | toJson }}}}", lookup(&here));
            }
        }
    }
}

/// The `Chart.yaml` of a generated chart in `dir`.
fn chart_yaml(dir: &Path, how: &str) -> Result<(), String> {
    let description =
        format!("Generated by cargo xtask bench from gatehouse's rendered objects{how}");
    write(
        &dir.join("Chart.yaml"),
        &format!(
            "apiVersion: v2\nname: gatehouse-redis-sentinel\nversion: 0.1.0\ndescription: {description}\n"
        ),
    )
}

/// Writes a kustomization of the rendered manifests into `dir`.
pub fn kustomization(rendered: &Rendered, dir: &Path) -> Result<(), String> {
    write(
        &dir.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- manifests.yaml\n",
    )?;
    write(&dir.join("manifests.yaml"), &rendered.manifests_yaml())
}

/// The rendered objects as the JSON array the cdk8s app turns into `ApiObject`s.
pub fn cdk8s_objects(rendered: &Rendered) -> String {
    serde_json::to_string(&rendered.objects).expect("objects serialize to JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both generated charts, rendered once by the Helm library, give back the example's objects.
    #[test]
    fn helm_renders_both_charts_to_the_example_objects() {
        let Some(python) = gatehouse_testkit::external_tool("python3", "apt-get install python3")
        else {
            return;
        };
        let probe = std::process::Command::new(&python)
            .args(["-c", "import helm_python"])
            .status()
            .unwrap();
        if !probe.success() {
            gatehouse_testkit::skip_or_fail(
                "the Helm library (helm_python)",
                "pip install helm-python-sdk",
            );
            return;
        }
        let example = Deployment::guide_example();
        let expected = super::super::objects_by_key(&super::super::objects_yaml(
            &example.clone().validated().unwrap(),
        ))
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        type ChartWriter = fn(&Deployment, &Path) -> Result<Value, String>;
        for (slug, write_chart) in [
            ("literal", helm_chart as ChartWriter),
            ("realistic", realistic_helm_chart),
        ] {
            let chart = dir.path().join(slug);
            let values = write_chart(&example, &chart).unwrap();
            let values_file = dir.path().join(format!("{slug}.json"));
            std::fs::write(&values_file, values.to_string()).unwrap();
            let out = dir.path().join(format!("{slug}.yaml"));
            let status = std::process::Command::new(&python)
                .arg(super::super::workspace_root().join("benches/helm-render.py"))
                .args([&chart, &values_file])
                .arg("1")
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "{slug}: helm-render.py failed");
            super::super::same_objects(slug, &expected, &std::fs::read_to_string(&out).unwrap())
                .unwrap();
        }
        let template = std::fs::read_dir(dir.path().join("realistic/templates"))
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect::<String>();
        assert!(
            template.contains("| toJson }}") && template.contains("toYaml"),
            "{template}"
        );
    }

    #[test]
    fn templates_give_back_the_example_objects_once_the_markers_are_filled_in() {
        let example = Deployment::guide_example();
        let expected = render(&example.clone().validated().unwrap()).manifests_yaml();
        let marked = render(&with_markers(&example).unwrap());
        assert!(marked.manifests_yaml().contains(NAME_MARKER));
        let pairs = digest_pairs(&marked, &render(&example.clone().validated().unwrap()));
        assert_eq!(pairs.len(), 2, "both StatefulSets carry a config digest");
        let filled: Vec<String> = marked
            .objects
            .iter()
            .map(|o| {
                with_digests(template(&to_yaml(o)), &pairs)
                    .replace("{{ .Release.Namespace }}", &example.namespace)
                    .replace("{{ .Values.name }}", &example.name)
            })
            .collect();
        assert_eq!(filled.join("---\n"), expected);
    }

    #[test]
    fn template_delimiters_in_objects_are_escaped() {
        assert_eq!(
            template("a: '{{x}}' zzbenchns\n"),
            "a: '{{ \"{{\" }}x}}' {{ .Release.Namespace }}\n"
        );
    }
}
