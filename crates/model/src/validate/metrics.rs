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
        if !m.enabled {
            return;
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

/// The number of Sentinels that must see the master for a failover to start and be authorized:
/// the quorum (to agree it is down) and the majority (to elect a leader), whichever is larger.
/// At or below it, one more Sentinel lost stops failovers.
pub fn quorum_at_risk_threshold(d: &Deployment) -> u32 {
    let s = &d.redis.sentinel;
    s.effective_quorum().max(s.count / 2 + 1)
}
