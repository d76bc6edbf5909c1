//! Reading rules the derived deserializers do not give: booleans only from YAML booleans, and
//! partial overrides of `image` and `resources` merged with the defaults of their place (a
//! resource left out derived from its written request or limit).

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::{ContainerImage, CpuMemory, Resources, parse_quantity};

/// A boolean written as a YAML boolean: a quoted `"yes"` or `"true"` is text and refused.
pub(crate) fn strict_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct BoolVisitor;
    impl Visitor<'_> for BoolVisitor {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean")
        }
        fn visit_bool<E>(self, value: bool) -> Result<bool, E> {
            Ok(value)
        }
        fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
            let word = value.trim().to_ascii_lowercase();
            let spelled = ["yes", "no", "true", "false", "on", "off", "y", "n"];
            Err(E::custom(if spelled.contains(&word.as_str()) {
                format!(
                    "\"{word}\" is quoted text, not a boolean; write {word} without quotes, or \
                     true/false"
                )
            } else {
                "expected true or false, found text".to_string()
            }))
        }
    }
    deserializer.deserialize_any(BoolVisitor)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PartialCpuMemory {
    cpu: Option<String>,
    memory: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PartialResources {
    requests: Option<PartialCpuMemory>,
    limits: Option<PartialCpuMemory>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PartialImage {
    repository: Option<String>,
    tag: Option<String>,
}

/// One quantity left out, derived from its written counterpart so that a request never exceeds
/// its limit because of a default: a request left out is the default or the written limit when
/// that is lower; a limit left out is the default or the written request when that is higher.
fn derive_quantity(default: String, counterpart: Option<&String>, keep_lower: bool) -> String {
    let Some(written) = counterpart else {
        return default;
    };
    match (parse_quantity(&default), parse_quantity(written)) {
        (Some(d), Some(w)) if (keep_lower && w < d) || (!keep_lower && w > d) => written.clone(),
        _ => default,
    }
}

/// `resources` merged field by field over `default`; see [`derive_quantity`].
fn merge_resources<'de, D: Deserializer<'de>>(
    deserializer: D,
    default: Resources,
) -> Result<Resources, D::Error> {
    let partial = PartialResources::deserialize(deserializer)?;
    let split = |p: Option<PartialCpuMemory>| p.map_or((None, None), |p| (p.cpu, p.memory));
    let (request_cpu, request_memory) = split(partial.requests);
    let (limit_cpu, limit_memory) = split(partial.limits);
    let pick = |written: &Option<String>, default: String, counterpart, keep_lower| {
        written
            .clone()
            .unwrap_or_else(|| derive_quantity(default, counterpart, keep_lower))
    };
    Ok(Resources {
        requests: CpuMemory {
            cpu: pick(&request_cpu, default.requests.cpu, limit_cpu.as_ref(), true),
            memory: pick(
                &request_memory,
                default.requests.memory,
                limit_memory.as_ref(),
                true,
            ),
        },
        limits: CpuMemory {
            cpu: pick(&limit_cpu, default.limits.cpu, request_cpu.as_ref(), false),
            memory: pick(
                &limit_memory,
                default.limits.memory,
                request_memory.as_ref(),
                false,
            ),
        },
    })
}

/// An image merged field by field over `default`.
fn merge_image<'de, D: Deserializer<'de>>(
    deserializer: D,
    default: ContainerImage,
) -> Result<ContainerImage, D::Error> {
    let partial = PartialImage::deserialize(deserializer)?;
    Ok(ContainerImage {
        repository: partial.repository.unwrap_or(default.repository),
        tag: partial.tag.unwrap_or(default.tag),
    })
}

/// `redis.resources` over its default.
pub(crate) fn redis_resources<'de, D: Deserializer<'de>>(d: D) -> Result<Resources, D::Error> {
    merge_resources(d, crate::Redis::default().resources)
}

/// `redis.sentinel.resources` over its default.
pub(crate) fn sentinel_resources<'de, D: Deserializer<'de>>(d: D) -> Result<Resources, D::Error> {
    merge_resources(d, crate::Sentinel::default().resources)
}

/// `gateway.resources` over its default.
pub(crate) fn gateway_resources<'de, D: Deserializer<'de>>(d: D) -> Result<Resources, D::Error> {
    merge_resources(d, crate::Gateway::default().resources)
}

/// `redis.image` over its default.
pub(crate) fn redis_image<'de, D: Deserializer<'de>>(d: D) -> Result<ContainerImage, D::Error> {
    merge_image(d, crate::Redis::default().image)
}

/// `gateway.pluginVerifierImage` over its default.
pub(crate) fn verifier_image<'de, D: Deserializer<'de>>(d: D) -> Result<ContainerImage, D::Error> {
    merge_image(d, crate::Gateway::default().plugin_verifier_image)
}
