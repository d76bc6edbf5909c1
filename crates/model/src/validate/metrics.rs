//! `metrics`: a pinned exporter image, a scrape interval that can see what the alerts watch, and
//! a gateway endpoint that exists.

use super::Checker;
use crate::{Deployment, SENTINEL_TILT_SECONDS};

impl Checker {
    pub(super) fn metrics(&mut self, d: &Deployment) {
        let m = &d.metrics;
        self.image(
            "metrics.exporter.image",
            &m.exporter.image,
            "oliver006/redis_exporter",
            "v1.45.0",
        );
        if let Some(url) = &m.runbook_url {
            self.runbook_url(url);
        }
        if !m.enabled {
            return;
        }
        if m.rules && m.runbook_url.is_none() {
            self.warning(
                "metrics.runbookUrl",
                "not set: the alerts carry no `runbook_url`, so whoever is paged gets no link to \
                 what to do",
                "set it to where your team keeps gatehouse's runbooks (e.g. your copy of \
                 README.md's \"Monitoring\" section: https://<host>/<path>/README.md#)",
            );
        }
        let interval = m.scrape_interval_seconds;
        if interval == 0 || interval > 300 {
            self.error(
                "metrics.scrapeIntervalSeconds",
                format!("{interval} s is not a scrape interval Prometheus can keep alerts on"),
                "use 5..=300 seconds (the default is 15)",
            );
        } else if m.rules && m.sentinels && interval >= SENTINEL_TILT_SECONDS {
            self.warning(
                "metrics.scrapeIntervalSeconds",
                format!(
                    "{interval} s: a Sentinel stays in TILT for {SENTINEL_TILT_SECONDS} s, so the \
                     Sentinel-in-TILT alert may never see one and never fire"
                ),
                format!("use less than {SENTINEL_TILT_SECONDS} seconds, e.g. 15"),
            );
        }
        let s = &d.redis.sentinel;
        if m.rules && m.sentinels && quorum_at_risk_threshold(d) >= s.count {
            self.warning(
                "redis.sentinel.quorum",
                format!(
                    "{} of {} Sentinels must agree: losing any one Sentinel already stops \
                     failovers, so the quorum-at-risk alert fires all the time",
                    quorum_at_risk_threshold(d),
                    s.count
                ),
                "leave `quorum` out (the majority) or add Sentinels",
            );
        }
        let services = &d.gateway.services;
        if m.gateway && !(services.metrics && services.prometheus && services.core_http) {
            self.error(
                "metrics.gateway",
                "the gateway's Prometheus endpoint is off (it needs gateway.services.metrics, \
                 gateway.services.prometheus and gateway.services.coreHttp)",
                "turn those three on, or set `metrics.gateway: false`",
            );
        }
    }
}

impl Checker {
    /// `metrics.runbookUrl`: parsed with the `url` crate; absolute http(s) with a host, no
    /// credentials (it is written into the `PrometheusRule`), ending where an anchor can follow.
    fn runbook_url(&mut self, text: &str) {
        const PATH: &str = "metrics.runbookUrl";
        const SHAPE: &str = "use an absolute URL such as https://<host>/<path>/README.md#";
        let url = match url::Url::parse(text) {
            Ok(url) => url,
            Err(error) => {
                self.error(PATH, format!("is not an absolute URL ({error})"), SHAPE);
                return;
            }
        };
        if !matches!(url.scheme(), "http" | "https") {
            self.error(
                PATH,
                format!("uses {}:, not http: or https:", crate::shown(url.scheme())),
                SHAPE,
            );
            return;
        }
        // The URL standard repairs `https:///x` into host `x`: look at the text.
        let authority_written = text
            .split_once("://")
            .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with('/'));
        if !authority_written || url.host_str().is_none_or(str::is_empty) {
            self.error(PATH, "has no host", SHAPE);
            return;
        }
        if !url.username().is_empty() || url.password().is_some() {
            self.error(
                PATH,
                "contains credentials before `@`: they would be written into the PrometheusRule",
                "remove them; link to a page your on-call team can open",
            );
        }
        if !(text.ends_with('#') || text.ends_with('/')) {
            self.error(
                PATH,
                "must end with `#` or `/`: each alert's anchor (its name in lower case) is \
                 appended to it",
                "end it with `#` (one page, a heading per alert, e.g. .../README.md#) or `/` \
                 (a page per alert)",
            );
        }
    }
}

/// The number of Sentinels that must see the master for a failover to start and be authorized:
/// the quorum (to agree it is down) and the majority (to elect a leader), whichever is larger.
/// At or below it, one more Sentinel lost stops failovers.
pub fn quorum_at_risk_threshold(d: &Deployment) -> u32 {
    let s = &d.redis.sentinel;
    s.effective_quorum().max(s.count / 2 + 1)
}
