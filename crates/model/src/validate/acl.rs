//! `redis.acl`: rules that cannot do their user's job are errors naming the field and the fix.

use super::Checker;
use crate::acl::{GatewayAccess, NAMED_USERS, UserRules};
use crate::{Deployment, shown};

/// Whether a rule set allows a command, read the way Redis applies rules: left to right, the
/// last rule about the command (or its parent command, or every command) wins.
fn allows(tokens: &[&str], command: &str) -> bool {
    let parent = command.split('|').next().unwrap_or(command);
    let mut allowed = false;
    for token in tokens {
        let lower = token.to_ascii_lowercase();
        match lower.as_str() {
            "+@all" | "allcommands" => allowed = true,
            "-@all" | "nocommands" => allowed = false,
            _ => {
                if let Some(name) = lower.strip_prefix('+') {
                    if name == command || name == parent {
                        allowed = true;
                    }
                } else if let Some(name) = lower.strip_prefix('-')
                    && (name == command || name == parent)
                {
                    allowed = false;
                }
            }
        }
    }
    allowed
}

/// Whether a rule set grants a channel (users start with none on Redis 7.0).
fn grants_channel(tokens: &[&str], channel: &str) -> bool {
    let mut granted = false;
    for token in tokens {
        match *token {
            "allchannels" => granted = true,
            "resetchannels" => granted = false,
            _ => {
                if let Some(pattern) = token.strip_prefix('&') {
                    let matches = match pattern.strip_suffix('*') {
                        Some(prefix) => {
                            !prefix.contains(['*', '?', '[']) && channel.starts_with(prefix)
                        }
                        None => pattern == channel,
                    };
                    granted |= matches;
                }
            }
        }
    }
    granted
}

/// Why a token cannot be in a user's rules, if it cannot.
fn refused(token: &str) -> Option<&'static str> {
    let lower = token.to_ascii_lowercase();
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "|-_".contains(c))
    };
    let is_pattern = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_graphic() && !"\"'\\".contains(c))
    };
    match lower.as_str() {
        "+@all" | "-@all" | "allcommands" | "nocommands" | "allkeys" | "resetkeys"
        | "allchannels" | "resetchannels" => None,
        "on" | "off" | "nopass" | "resetpass" | "reset" => {
            Some("turning the user on or off and its passwords are gatehouse's")
        }
        _ if lower.starts_with(['>', '<', '#', '!']) => {
            Some("passwords come from the user's password source, never from its rules")
        }
        _ if lower.starts_with("+@") || lower.starts_with("-@") => Some(
            "command categories cannot be checked against what the user's job needs; name the commands",
        ),
        _ if lower.starts_with(['+', '-']) && is_name(&lower[1..]) => None,
        _ if lower.starts_with('~') || lower.starts_with('&') => {
            is_pattern(&lower[1..]).then_some(()).map_or(
                Some("a pattern of printable characters without quotes is expected"),
                |()| None,
            )
        }
        _ if lower.starts_with('%') && lower.contains('~') => None,
        _ => Some(
            "not an ACL rule gatehouse accepts (commands `+cmd`/`-cmd`, keys `~pattern`, channels `&pattern`)",
        ),
    }
}

impl Checker {
    pub(super) fn acl(&mut self, d: &Deployment) {
        let acl = &d.redis.acl;
        if acl.gateway == GatewayAccess::Unrestricted {
            self.warning(
                "redis.acl.gateway",
                "the gateway's user (`default`) may run every command on every key: a stolen gateway \
                 password can wipe (FLUSHALL) or reconfigure (CONFIG SET) the store and force failovers",
                "remove `gateway: unrestricted` once the gateway works with the restricted user",
            );
        }
        for user in NAMED_USERS {
            let rules = acl.rules_of(user);
            if rules == user.rules {
                continue;
            }
            self.user_rules(user, &rules);
        }
    }

    fn user_rules(&mut self, user: &UserRules, rules: &str) {
        let tokens: Vec<&str> = rules.split_whitespace().collect();
        let mut well_formed = true;
        for token in &tokens {
            if let Some(why) = refused(token) {
                well_formed = false;
                // A password rule is never shown: only its kind.
                let what = match token.chars().next() {
                    Some(c @ ('>' | '<' | '#' | '!')) => format!("a `{c}` password rule"),
                    _ => format!("`{}`", shown(token)),
                };
                self.error(
                    user.field,
                    format!("{what} is not allowed: {why}"),
                    "remove it (or remove `rules` to use gatehouse's minimal rules)",
                );
            }
        }
        if !well_formed {
            return;
        }
        for (command, without) in user.needs {
            if !allows(&tokens, command) {
                self.error(
                    user.field,
                    format!(
                        "does not allow `{command}`, which user {} needs: without it {without}",
                        user.user
                    ),
                    format!(
                        "add `+{command}` (or remove `rules` to use gatehouse's minimal rules)"
                    ),
                );
            }
        }
        if let Some(channel) = user.channel
            && !grants_channel(&tokens, channel)
        {
            self.error(
                user.field,
                format!(
                    "does not grant the channel `{channel}`: Redis 7.0 users start with no channel, and \
                     without it Sentinels never discover each other, so no failover reaches a quorum"
                ),
                format!("add `&{channel}` (or remove `rules` to use gatehouse's minimal rules)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_read_left_to_right_with_parents_and_all() {
        let t = ["-@all", "+config", "-config|set", "+ping"];
        assert!(allows(&t, "config|get") && allows(&t, "ping"));
        assert!(!allows(&t, "config|set") && !allows(&t, "info"));
        assert!(allows(&["+@all"], "slaveof") && !allows(&["+@all", "-@all"], "slaveof"));
    }

    #[test]
    fn channels_need_a_grant_that_matches() {
        let hello = "__sentinel__:hello";
        assert!(grants_channel(&["&__sentinel__:*"], hello));
        assert!(grants_channel(&["allchannels"], hello));
        assert!(!grants_channel(&["allchannels", "resetchannels"], hello));
        assert!(!grants_channel(&["&__sentinel__:other"], hello));
        assert!(!grants_channel(&[], hello));
    }

    #[test]
    fn passwords_categories_and_switches_are_refused_in_rules() {
        for token in [">pw", "#abc", "nopass", "on", "+@admin", "\"x"] {
            assert!(refused(token).is_some(), "{token}");
        }
        for token in [
            "+client|setname",
            "~ratelimit:*",
            "&__sentinel__:hello",
            "%R~a*",
            "-@all",
        ] {
            assert_eq!(refused(token), None, "{token}");
        }
    }

    #[test]
    fn a_sentinel_user_without_the_hello_channel_is_an_error_naming_the_field_and_the_fix() {
        let mut d = Deployment::default();
        d.redis.acl.sentinel.rules = Some(
            "resetchannels -@all +multi +slaveof +ping +exec +subscribe +config|rewrite +role \
             +publish +info +client|setname +client|kill +script|kill"
                .into(),
        );
        let problems = d.clone().validate();
        let p = problems
            .iter()
            .find(|p| p.path == "redis.acl.sentinel.rules")
            .expect("an error at the field");
        assert!(p.message.contains("channel `__sentinel__:hello`"), "{p}");
        assert!(p.fix.contains("add `&__sentinel__:hello`"), "{p}");
        assert_eq!(
            problems
                .iter()
                .filter(|p| p.path.starts_with("redis.acl"))
                .count(),
            1
        );

        d.redis.acl.sentinel_peer.rules = Some("&__sentinel__:hello -@all +ping >SECRET-pw".into());
        let text = d
            .clone()
            .validate()
            .iter()
            .map(ToString::to_string)
            .collect::<String>();
        assert!(
            text.contains("redis.acl.sentinelPeer.rules: a `>` password rule is not allowed"),
            "{text}"
        );
        assert!(!text.contains("SECRET-pw"), "{text}");
        d.redis.acl.sentinel_peer.rules = Some("&__sentinel__:hello -@all +ping +publish".into());
        let text = d
            .validate()
            .iter()
            .map(ToString::to_string)
            .collect::<String>();
        assert!(
            text.contains("does not allow `sentinel|is-master-down-by-addr`"),
            "{text}"
        );
    }

    #[test]
    fn the_unrestricted_gateway_is_a_warning_and_widens_only_default() {
        let mut d = Deployment::default();
        assert!(
            d.gateway_acl_rules(crate::acl::Side::DataNode)
                .contains("~ratelimit:*")
        );
        d.redis.acl.gateway = GatewayAccess::Unrestricted;
        let valid = d.validated().expect("a warning, not an error");
        assert!(
            valid
                .warnings()
                .iter()
                .any(|p| p.path == "redis.acl.gateway")
        );
        assert_eq!(
            valid.gateway_acl_rules(crate::acl::Side::Sentinel),
            "+@all ~* &*"
        );
    }
}
