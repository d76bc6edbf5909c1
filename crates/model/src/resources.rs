//! CPU and memory requests and limits, and Kubernetes quantities.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// CPU and memory of one container, as Kubernetes quantities (`200m`, `512Mi`).
///
/// In a config file, a partial `resources` keeps the rest of the default of its place, derived
/// from what is written: a request left out is at most the written limit, a limit left out at
/// least the written request (so a default never contradicts them). In Rust,
/// built from named values (the default is empty: every field must be set):
///
/// ```
/// use gatehouse_model::Resources;
/// let r = Resources::default()
///     .with_request_cpu("200m")
///     .with_request_memory("512Mi")
///     .with_limit_cpu("1")
///     .with_limit_memory("1Gi");
/// assert_eq!((r.requests.cpu.as_str(), r.limits.memory.as_str()), ("200m", "1Gi"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Resources {
    /// What the scheduler reserves.
    pub requests: CpuMemory,
    /// The most the container may use.
    pub limits: CpuMemory,
}

/// A CPU and a memory quantity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CpuMemory {
    /// CPU, e.g. `200m` or `1`.
    pub cpu: String,
    /// Memory, e.g. `512Mi`.
    pub memory: String,
}

impl Resources {
    /// Sets the CPU the scheduler reserves (`requests.cpu`, e.g. `200m`).
    pub fn with_request_cpu(mut self, cpu: impl Into<String>) -> Self {
        self.requests.cpu = cpu.into();
        self
    }

    /// Sets the memory the scheduler reserves (`requests.memory`, e.g. `512Mi`).
    pub fn with_request_memory(mut self, memory: impl Into<String>) -> Self {
        self.requests.memory = memory.into();
        self
    }

    /// Sets the most CPU the container may use (`limits.cpu`, e.g. `1`).
    pub fn with_limit_cpu(mut self, cpu: impl Into<String>) -> Self {
        self.limits.cpu = cpu.into();
        self
    }

    /// Sets the most memory the container may use (`limits.memory`, e.g. `1Gi`).
    pub fn with_limit_memory(mut self, memory: impl Into<String>) -> Self {
        self.limits.memory = memory.into();
        self
    }
}

/// Parses a Kubernetes quantity (`500m`, `1.5`, `512Mi`, `1G`, `1e3`) into its value in base units.
///
/// Returns `None` for anything the API server would reject.
///
/// ```
/// use gatehouse_model::parse_quantity;
/// assert_eq!(parse_quantity("500m"), Some(0.5));
/// assert_eq!(parse_quantity("1Ki"), Some(1024.0));
/// assert_eq!(parse_quantity("12 MB"), None);
/// ```
pub fn parse_quantity(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    if number.is_empty()
        || number.starts_with('-')
        || number.matches('.').count() > 1
        || !number
            .trim_start_matches('+')
            .starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || number
            .trim_start_matches('+')
            .chars()
            .any(|c| c == '+' || c == '-')
    {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exponent if exponent.starts_with(['e', 'E']) => {
            let power: i32 = exponent[1..].parse().ok()?;
            10f64.powi(power)
        }
        _ => return None,
    };
    Some(value * factor)
}

#[cfg(test)]
mod tests {
    use super::parse_quantity;

    #[test]
    fn quantities_kubernetes_accepts_parse() {
        for (text, value) in [
            ("1", 1.0),
            ("0.25", 0.25),
            ("200m", 0.2),
            ("512Mi", 536_870_912.0),
            ("1G", 1e9),
            ("2e3", 2000.0),
        ] {
            assert_eq!(parse_quantity(text), Some(value), "{text}");
        }
    }

    #[test]
    fn quantities_kubernetes_rejects_do_not_parse() {
        for text in [
            "", "m", "-1", "1.2.3", "12 MB", "1mi", "1GB", "abc", "1e", "0x10",
        ] {
            assert_eq!(parse_quantity(text), None, "{text}");
        }
    }
}
