//! What the gateway sends to Redis, per supported chart line, read from the gateway's own sources.
//!
//! This table is the one place the gateway's command list lives: the rendered ACL of the `default`
//! user (the gateway's, see [`super`]) and the gateway-shaped test client in `crates/ha` are both
//! built from it. Each entry names the file and the release tags it was read at
//! (gravitee-io/gravitee-api-management, and vertx-redis-client for the connection handshake and the
//! Sentinel discovery, which the gateway delegates to it).

/// Where a command is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// To the master, as a command of its own.
    DataNode,
    /// To the master, from inside the gateway's Lua scripts (Redis checks each one against the
    /// calling user).
    Script,
    /// To a Sentinel.
    Sentinel,
}

/// One command the gateway sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayCommand {
    /// The command as sent (`SCRIPT LOAD`).
    pub sent: &'static str,
    /// Its ACL name (`script|load`), or `None` when Redis skips the ACL command check for it
    /// (`HELLO`, `AUTH`: flagged `no-auth`).
    pub acl: Option<&'static str>,
    /// Where it is sent.
    pub target: Target,
    /// The chart lines (`MAJOR.MINOR`) whose gateway sends it.
    pub lines: &'static [&'static str],
    /// The source it was read from: file and release tags.
    pub source: &'static str,
}

/// A key pattern the gateway's commands name as keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayKeys {
    /// The ACL key pattern (`ratelimit:*`).
    pub pattern: &'static str,
    /// The chart lines whose gateway uses it.
    pub lines: &'static [&'static str],
    /// Why, and the source it was read from.
    pub source: &'static str,
}

const ALL_LINES: &[&str] = &["4.9", "4.10", "4.11", "4.12"];
const BEFORE_4_12: &[&str] = &["4.9", "4.10", "4.11"];
const FROM_4_12: &[&str] = &["4.12"];

const REPO: &str = "gravitee-apim-repository/gravitee-apim-repository-redis/src/main";

/// Every command the gateway sends for rate limiting, in the order a connection sends them.
pub const GATEWAY_COMMANDS: &[GatewayCommand] = &[
    GatewayCommand {
        sent: "SENTINEL SENTINELS",
        acl: Some("sentinel|sentinels"),
        target: Target::Sentinel,
        lines: ALL_LINES,
        source: "vertx-redis-client SharedSentinelTopology (4.5.27 for 4.9.32/4.10.28/4.11.25, 5.0.12 for 4.12.17: vertx.version in the gateway's pom.xml)",
    },
    GatewayCommand {
        sent: "SENTINEL GET-MASTER-ADDR-BY-NAME",
        acl: Some("sentinel|get-master-addr-by-name"),
        target: Target::Sentinel,
        lines: ALL_LINES,
        source: "vertx-redis-client SharedSentinelTopology (4.5.27, 5.0.12)",
    },
    GatewayCommand {
        sent: "SENTINEL SLAVES",
        acl: Some("sentinel|slaves"),
        target: Target::Sentinel,
        lines: ALL_LINES,
        source: "vertx-redis-client SharedSentinelTopology (4.5.27, 5.0.12)",
    },
    GatewayCommand {
        sent: "HELLO 3 AUTH default <password>",
        acl: None,
        target: Target::Sentinel,
        lines: ALL_LINES,
        source: "vertx-redis-client RedisConnectionManager (4.5.27, 5.0.12); the user is `default`: the gateway drops ratelimit.redis.username in Sentinel mode (common/RedisConnectionFactory.java at 4.9.32, 4.10.28, 4.11.25; RedisClientOptionsMapper of gravitee-plugin-common-configurations 1.4.2 for 4.12.17)",
    },
    GatewayCommand {
        sent: "HELLO 3 AUTH default <password>",
        acl: None,
        target: Target::DataNode,
        lines: ALL_LINES,
        source: "vertx-redis-client RedisConnectionManager (4.5.27, 5.0.12)",
    },
    GatewayCommand {
        sent: "SCRIPT LOAD",
        acl: Some("script|load"),
        target: Target::DataNode,
        lines: ALL_LINES,
        source: "REPO/java/io/gravitee/repository/redis/vertx/RedisClient.java loadScripts (4.9.32, 4.10.28, 4.11.25, 4.12.17)",
    },
    GatewayCommand {
        sent: "EVALSHA",
        acl: Some("evalsha"),
        target: Target::DataNode,
        lines: ALL_LINES,
        source: "REPO/java/io/gravitee/repository/redis/ratelimit/RedisRateLimitRepository.java (4.9.32, 4.10.28, 4.11.25, 4.12.17), RedisTokenBucketRateLimitRepository.java (4.12.17)",
    },
    GatewayCommand {
        sent: "EVAL",
        acl: Some("eval"),
        target: Target::DataNode,
        lines: FROM_4_12,
        source: "REPO/java/io/gravitee/repository/redis/ratelimit/RedisRateLimitRepository.java and RedisTokenBucketRateLimitRepository.java (4.12.17: EVAL with the source after a NOSCRIPT reply; absent at 4.9.32, 4.10.28, 4.11.25)",
    },
    GatewayCommand {
        sent: "HEXISTS",
        acl: Some("hexists"),
        target: Target::Script,
        lines: ALL_LINES,
        source: "REPO/resources/scripts/ratelimit/ratelimit.lua (4.9.32, 4.10.28, 4.11.25, 4.12.17)",
    },
    GatewayCommand {
        sent: "HINCRBY",
        acl: Some("hincrby"),
        target: Target::Script,
        lines: ALL_LINES,
        source: "REPO/resources/scripts/ratelimit/ratelimit.lua (4.9.32, 4.10.28, 4.11.25, 4.12.17)",
    },
    GatewayCommand {
        sent: "HMSET",
        acl: Some("hmset"),
        target: Target::Script,
        lines: ALL_LINES,
        source: "REPO/resources/scripts/ratelimit/ratelimit.lua (4.9.32, 4.10.28, 4.11.25, 4.12.17)",
    },
    GatewayCommand {
        sent: "PEXPIREAT",
        acl: Some("pexpireat"),
        target: Target::Script,
        lines: ALL_LINES,
        source: "REPO/resources/scripts/ratelimit/ratelimit.lua (4.9.32, 4.10.28, 4.11.25, 4.12.17), token-bucket/token-bucket.lua (4.12.17)",
    },
    GatewayCommand {
        sent: "HMGET",
        acl: Some("hmget"),
        target: Target::Script,
        lines: ALL_LINES,
        source: "REPO/resources/scripts/ratelimit/ratelimit.lua (4.9.32, 4.10.28, 4.11.25, 4.12.17)",
    },
    GatewayCommand {
        sent: "HGET",
        acl: Some("hget"),
        target: Target::Script,
        lines: FROM_4_12,
        source: "REPO/resources/scripts/token-bucket/token-bucket.lua (4.12.17)",
    },
    GatewayCommand {
        sent: "HSET",
        acl: Some("hset"),
        target: Target::Script,
        lines: FROM_4_12,
        source: "REPO/resources/scripts/token-bucket/token-bucket.lua (4.12.17)",
    },
];

/// The keys the gateway's EVALSHA/EVAL calls declare (Redis checks every declared key against the
/// user's key patterns, inside a script and for the call itself).
pub const GATEWAY_KEYS: &[GatewayKeys] = &[
    GatewayKeys {
        pattern: "ratelimit:*",
        lines: ALL_LINES,
        source: "REDIS_KEY_PREFIX of REPO/java/io/gravitee/repository/redis/ratelimit/RedisRateLimitRepository.java (4.9.32, 4.10.28, 4.11.25, 4.12.17)",
    },
    GatewayKeys {
        pattern: "tokenbucket:*",
        lines: FROM_4_12,
        source: "REDIS_KEY_PREFIX of REPO/java/io/gravitee/repository/redis/ratelimit/RedisTokenBucketRateLimitRepository.java (4.12.17)",
    },
    GatewayKeys {
        // 4.9-4.11 call EVALSHA with numkeys 2 and the request weight (a decimal number) as the
        // second key (KEYS[2] in ratelimit.lua): without a pattern matching it, Redis refuses every
        // call (measured on 7.0.15: NOPERM ... keys used as arguments) and the gateway fails open.
        pattern: "[0-9]*",
        lines: BEFORE_4_12,
        source: "convertToList (\"2\", // Number of keys) of REPO/java/io/gravitee/repository/redis/ratelimit/RedisRateLimitRepository.java and KEYS[2] in REPO/resources/scripts/ratelimit/ratelimit.lua (4.9.32, 4.10.28, 4.11.25; 4.12.17 passes numkeys 1)",
    },
];

/// The number of keys the gateway's rate-limit EVALSHA declares on a chart line: 2 before 4.12
/// (the key and the weight), 1 from 4.12 (weight in ARGV).
pub fn rate_limit_numkeys(line: &str) -> usize {
    if BEFORE_4_12.contains(&line) { 2 } else { 1 }
}

/// The commands the gateway sends on `line` to `target`.
pub fn commands_on(
    line: &str,
    target: Target,
) -> impl Iterator<Item = &'static GatewayCommand> + '_ {
    GATEWAY_COMMANDS
        .iter()
        .filter(move |c| c.target == target && c.lines.contains(&line))
}

/// The ACL rules of `default` (the gateway's user) on the data nodes for chart line `line`:
/// nothing but the commands of [`GATEWAY_COMMANDS`] (the scripts' inner ones included) on the keys
/// of [`GATEWAY_KEYS`], and no channel.
pub fn data_node_rules(line: &str) -> String {
    let mut rules = vec!["resetchannels".to_string(), "-@all".to_string()];
    for target in [Target::DataNode, Target::Script] {
        rules.extend(
            commands_on(line, target)
                .filter_map(|c| c.acl)
                .map(|a| format!("+{a}")),
        );
    }
    rules.extend(
        GATEWAY_KEYS
            .iter()
            .filter(|k| k.lines.contains(&line))
            .map(|k| format!("~{}", k.pattern)),
    );
    rules.join(" ")
}

/// The ACL rules of `default` on the Sentinels for chart line `line`: the discovery subcommands only.
pub fn sentinel_rules(line: &str) -> String {
    let mut rules = vec!["resetchannels".to_string(), "-@all".to_string()];
    rules.extend(
        commands_on(line, Target::Sentinel)
            .filter_map(|c| c.acl)
            .map(|a| format!("+{a}")),
    );
    rules.join(" ")
}

/// The source text of an entry with the repository path written out.
pub fn expanded_source(source: &str) -> String {
    source.replace("REPO/", &format!("{REPO}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_rules_follow_the_chart_line() {
        assert_eq!(
            data_node_rules("4.9"),
            "resetchannels -@all +script|load +evalsha +hexists +hincrby +hmset +pexpireat +hmget ~ratelimit:* ~[0-9]*"
        );
        assert_eq!(
            data_node_rules("4.12"),
            "resetchannels -@all +script|load +evalsha +eval +hexists +hincrby +hmset +pexpireat +hmget +hget +hset ~ratelimit:* ~tokenbucket:*"
        );
        assert_eq!(
            sentinel_rules("4.11"),
            "resetchannels -@all +sentinel|sentinels +sentinel|get-master-addr-by-name +sentinel|slaves"
        );
        assert_eq!(
            (rate_limit_numkeys("4.10"), rate_limit_numkeys("4.12")),
            (2, 1)
        );
    }

    #[test]
    fn every_supported_line_has_commands_and_every_entry_a_source() {
        for line in gatehouse_chart_contract::supported_lines().split(", ") {
            assert!(commands_on(line, Target::Script).count() >= 5, "{line}");
            assert!(commands_on(line, Target::Sentinel).count() >= 3, "{line}");
        }
        for c in GATEWAY_COMMANDS {
            assert!(c.source.contains('(') && !c.lines.is_empty(), "{c:?}");
        }
    }
}
