//! The contract between gatehouse and the `graviteeio/apim` Helm chart, as data.
//!
//! `contract/apim-<line>.yaml` (one per supported chart line, written by
//! `cargo xtask chart-import`) lists every key path that chart version's `values.yaml` declares,
//! commented-out example keys included, with the type of its value. `contract/emitted.yaml`
//! (written by hand) lists the supported lines and their `gravitee.yml` layouts, and every key
//! gatehouse emits or checks with the chart fact behind it. The build script turns both into:
//!
//! - the tables here: [`SUPPORTED`], [`ChartLayout`], [`CHART_KEYS`];
//! - the values types gatehouse-render fills (`gatehouse_render::helm::GatewayValues` and below);
//!
//! and refuses to build when gatehouse would emit a key that a supported chart line does not
//! declare, naming the key and the line. A chart upgrade is a data change: import the new
//! `values.yaml`, build, and the build names every emitted key the new chart dropped.
//!
//! ```
//! use gatehouse_chart_contract::{ChartLayout, supported_chart};
//!
//! let chart = supported_chart("4.12.3").expect("4.12 is supported");
//! assert_eq!(chart.layout, ChartLayout::V4_12);
//! assert!(chart.declares("gateway.ratelimit.redis.sentinel.nodes[].host"));
//! assert!(supported_chart("4.8.0").is_none());
//! ```
//!
//! Runtime dependencies: serde only (the `import` feature adds the YAML reader for
//! `chart-import`), so the model and render can use the tables.

pub mod data;
#[cfg(feature = "import")]
pub mod import;
#[cfg(feature = "import")]
pub mod values_paths;

pub use data::ValueKind;

include!(concat!(env!("OUT_DIR"), "/contract.rs"));

/// `parent.key`, or `key` at the top (`parent` empty): how every dotted field path is built.
pub fn join_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The env variable the gateway reads its license key from (every chart line).
pub const LICENSE_KEY_ENV: &str = "gravitee_license_key";
/// The env variable the gateway reads its cloud token from (every chart line).
pub const CLOUD_TOKEN_ENV: &str = "gravitee_cloud_token";

/// The env variable that sets the password of the gateway's technical API user `admin` (every
/// chart line): the chart renders `services.core.http.authentication.users.admin` from
/// `gateway.services.core.http.authentication.password` into `gravitee.yml` (default `adminadmin`),
/// and the gateway's environment variables override `gravitee.yml` (`gravitee_` + the path with
/// `_`, Gravitee's configuration documentation).
pub const TECHNICAL_API_PASSWORD_ENV: &str =
    "gravitee_services_core_http_authentication_users_admin";

/// Every env name through which the gateway reads a secret, in any supported layout, sorted:
/// only `valueFrom.secretKeyRef` is acceptable for them.
pub fn secret_env_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ChartLayout::ALL
        .iter()
        .flat_map(|l| [l.redis_password_env(), l.sentinel_password_env()])
        .chain([LICENSE_KEY_ENV, CLOUD_TOKEN_ENV, TECHNICAL_API_PASSWORD_ENV])
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// What the gateway reads in one `gravitee.yml` layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutFacts {
    /// Where the rendered `gravitee.yml` keeps the rate-limit repository.
    pub ratelimit_path: &'static str,
    /// The env variable the gateway reads the Redis password from.
    pub redis_password_env: &'static str,
    /// The env variable the gateway reads the Sentinel password from.
    pub sentinel_password_env: &'static str,
    /// The facts behind these names, with their sources.
    pub fact: &'static str,
}

impl ChartLayout {
    /// The layout of a supported chart version (`4.9.32`, `4.12`), `None` when unsupported.
    pub fn of_version(version: &str) -> Option<ChartLayout> {
        supported_chart(version).map(|c| c.layout)
    }

    /// Where the rendered `gravitee.yml` keeps the rate-limit repository.
    pub fn ratelimit_path(self) -> &'static str {
        self.facts().ratelimit_path
    }

    /// The env variable the gateway reads the Redis password from.
    pub fn redis_password_env(self) -> &'static str {
        self.facts().redis_password_env
    }

    /// The env variable the gateway reads the Sentinel password from.
    pub fn sentinel_password_env(self) -> &'static str {
        self.facts().sentinel_password_env
    }

    /// The env prefix of every rate-limit Redis setting of this layout (`gravitee_ratelimit_redis`,
    /// `gravitee_repositories_ratelimit_redis`): a setting's env name is the prefix, `_`, and its
    /// property path below `redis.` in lowercase with `_` for `.` (`<prefix>_truststore_path`).
    ///
    /// ```
    /// use gatehouse_chart_contract::ChartLayout;
    /// assert_eq!(ChartLayout::V4_9.redis_env_prefix(), "gravitee_ratelimit_redis");
    /// ```
    pub fn redis_env_prefix(self) -> &'static str {
        self.redis_password_env()
            .strip_suffix("_password")
            .expect("every layout's password variable is `<prefix>_password`")
    }
}

/// One supported chart line and the paths its `values.yaml` declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedChart {
    /// `MAJOR.MINOR`.
    pub line: &'static str,
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
    /// The chart version whose `values.yaml` was imported.
    pub imported_from: &'static str,
    /// The `gravitee.yml` layout of the line.
    pub layout: ChartLayout,
    /// Declared paths with their types, sorted by path.
    pub declared: &'static [(&'static str, ValueKind)],
}

impl SupportedChart {
    /// Whether the chart's `values.yaml` declares `path` (possibly commented out).
    pub fn declares(&self, path: &str) -> bool {
        self.kind(path).is_some()
    }

    /// The type `values.yaml` shows for `path`.
    pub fn kind(&self, path: &str) -> Option<ValueKind> {
        self.declared
            .binary_search_by(|(p, _)| (*p).cmp(path))
            .ok()
            .map(|i| self.declared[i].1)
    }

    /// Every declared path.
    pub fn paths(&self) -> impl Iterator<Item = &'static str> {
        self.declared.iter().map(|(p, _)| *p)
    }
}

/// The supported chart line of a version (`MAJOR.MINOR` with anything after it: `4.12.17`,
/// `4.10.0-rc.1`), `None` when the line is not supported.
pub fn supported_chart(version: &str) -> Option<&'static SupportedChart> {
    let mut parts = version.trim().split('.');
    let major: u64 = parts.next()?.parse().ok()?;
    let minor_text: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let minor: u64 = minor_text.parse().ok()?;
    SUPPORTED
        .iter()
        .find(|c| c.major == major && c.minor == minor)
}

/// The supported lines for a message: `4.9, 4.10, 4.11, 4.12`.
pub fn supported_lines() -> String {
    SUPPORTED
        .iter()
        .map(|c| c.line)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How the chart uses the value at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A scalar the templates insert.
    Scalar,
    /// A map whose keys are the user's (`podAnnotations`): any key below is taken as is.
    FreeFormMap,
    /// A list inserted with `toYaml` (`env`, `additionalPlugins`): items are not chart keys.
    RawList,
    /// A map copied with `toYaml` into `gravitee.yml` or the pod spec: keys below it are the
    /// gateway's or Kubernetes' settings, not chart keys.
    PassThrough,
    /// A string of YAML the template inserts with `tpl` (`extraInitContainers`, `extraVolumes`).
    YamlText,
}

/// One values path the contract knows, and the chart fact it relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartKey {
    /// Dot-separated path, `[]` for list items.
    pub path: &'static str,
    /// How the chart uses it.
    pub shape: Shape,
    /// The template fact (what reads it, how).
    pub fact: &'static str,
    /// Whether the chart's `values.yaml` shows the key (possibly commented out). `false` only for
    /// keys the templates read but `values.yaml` never mentions.
    pub in_values_yaml: bool,
    /// Whether gatehouse emits the key (a field of the generated values types); the others are
    /// only checked in values written by hand.
    pub emitted: bool,
}

/// The contract rule for an exact path.
pub fn rule(path: &str) -> Option<&'static ChartKey> {
    CHART_KEYS.iter().find(|k| k.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_select_their_line_and_layout() {
        for (version, line, layout) in [
            ("4.9.32", "4.9", ChartLayout::V4_9),
            ("4.10.0-rc.1", "4.10", ChartLayout::V4_9),
            ("4.11.25", "4.11", ChartLayout::V4_9),
            ("4.12.17", "4.12", ChartLayout::V4_12),
        ] {
            let chart = supported_chart(version).expect(version);
            assert_eq!((chart.line, chart.layout), (line, layout), "{version}");
        }
        for unsupported in ["4.8.0", "4.13.0", "3.9.1", "5.0.0", "4", "x.y"] {
            assert!(supported_chart(unsupported).is_none(), "{unsupported}");
        }
        assert_eq!(supported_lines(), "4.9, 4.10, 4.11, 4.12");
    }

    #[test]
    fn declared_tables_are_sorted_for_lookup() {
        for chart in SUPPORTED {
            assert!(
                chart.declared.windows(2).all(|w| w[0].0 < w[1].0),
                "{}",
                chart.line
            );
            assert!(chart.declares("gateway.ratelimit.redis.sentinel.master"));
            assert!(!chart.declares("gateway.ratelimit.type"));
        }
    }

    #[test]
    fn each_layout_reads_the_password_under_its_own_prefix() {
        for layout in ChartLayout::ALL {
            let prefix = format!(
                "gravitee_{}_redis_",
                layout.ratelimit_path().replace('.', "_")
            );
            assert_eq!(
                layout.redis_password_env(),
                format!("{prefix}password"),
                "{layout:?}"
            );
            assert_eq!(
                layout.sentinel_password_env(),
                format!("{prefix}sentinel_password"),
                "{layout:?}"
            );
        }
    }
}
