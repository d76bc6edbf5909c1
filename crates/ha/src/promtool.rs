//! Scrapes recorded from the real exporters, written as `promtool test rules` input.
//!
//! A [`Timeline`] is one scrape round of every exporter per second. [`Timeline::input_series`]
//! turns a run of its rounds into promtool's `input_series` (one value per second, `stale` where a
//! series left a scrape, as Prometheus marks it, `_` while it stays away), run-length encoded.

use std::collections::{BTreeMap, BTreeSet};

use crate::exporter::Sample;

/// How often the recorder scrapes, and promtool's `interval`/`evaluation_interval`.
pub const STEP_SECONDS: u32 = 1;

/// One scrape round of every exporter per [`STEP_SECONDS`].
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// The rounds, in order.
    pub rounds: Vec<Vec<Sample>>,
}

/// What one series holds at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Point {
    Value(f64),
    Stale,
    Missing,
}

impl Timeline {
    /// The values of `name` samples whose labels include every pair of `with`, in round `i`.
    pub fn values(&self, i: usize, name: &str, with: &[(&str, &str)]) -> Vec<f64> {
        self.rounds[i]
            .iter()
            .filter(|s| {
                s.name == name
                    && with
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .collect()
    }

    /// promtool `input_series` entries for the rounds in `frames` (indexes into
    /// [`Timeline::rounds`], one per step; repeat an index to hold a situation), keeping only the
    /// metrics in `metrics`. Returns `(series, values)` pairs.
    pub fn input_series(&self, frames: &[usize], metrics: &[&str]) -> Vec<(String, String)> {
        let mut series: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        let wanted: BTreeSet<&str> = metrics.iter().copied().collect();
        for (step, &frame) in frames.iter().enumerate() {
            for sample in &self.rounds[frame] {
                if !wanted.contains(sample.name.as_str()) {
                    continue;
                }
                let points = series
                    .entry(sample.series())
                    .or_insert_with(|| vec![Point::Missing; frames.len()]);
                points[step] = Point::Value(sample.value);
            }
        }
        series
            .into_iter()
            .map(|(name, mut points)| {
                for i in 1..points.len() {
                    if points[i] == Point::Missing && matches!(points[i - 1], Point::Value(_)) {
                        points[i] = Point::Stale;
                    }
                }
                (name, encode(&points))
            })
            .collect()
    }
}

/// promtool's expanding notation: `v+0xN` for N+1 equal values, `_xN` for N missing ones.
fn encode(points: &[Point]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < points.len() {
        let mut run = 1;
        while i + run < points.len() && points[i + run] == points[i] {
            run += 1;
        }
        match points[i] {
            Point::Value(v) if run == 1 => parts.push(number(v)),
            Point::Value(v) => parts.push(format!("{}+0x{}", number(v), run - 1)),
            Point::Missing => parts.push(format!("_x{run}")),
            Point::Stale => parts.extend(std::iter::repeat_n("stale".to_string(), run)),
        }
        i += run;
    }
    parts.join(" ")
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A YAML single-quoted scalar.
pub fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, pod: &str, value: f64) -> Sample {
        Sample {
            name: name.into(),
            labels: BTreeMap::from([("pod".to_string(), pod.to_string())]),
            value,
        }
    }

    #[test]
    fn runs_are_encoded_and_a_series_that_leaves_goes_stale() {
        let timeline = Timeline {
            rounds: vec![
                vec![sample("m", "a", 1.0), sample("other", "a", 9.0)],
                vec![sample("m", "a", 1.0), sample("m", "b", 0.5)],
                vec![sample("m", "b", 0.5)],
                vec![sample("m", "b", 2.0)],
            ],
        };
        let series = timeline.input_series(&[0, 1, 2, 2, 3], &["m"]);
        assert_eq!(
            series,
            vec![
                ("m{pod=\"a\"}".to_string(), "1+0x1 stale _x2".to_string()),
                ("m{pod=\"b\"}".to_string(), "_x1 0.5+0x2 2".to_string()),
            ]
        );
        assert_eq!(timeline.values(1, "m", &[("pod", "b")]), vec![0.5]);
    }
}
