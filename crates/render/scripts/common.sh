# Shared helpers of the gatehouse Redis scripts; sourced, never run alone.
# Every host, port and path comes from the environment, so the same scripts run in the pods and,
# with loopback addresses, in the real-process tests.
#
#   OPERATOR_USER     the ACL user of these scripts (probes, pre-stop, election, start-up)
#   OPERATOR_PASSWORD its password, from a Kubernetes Secret (never echoed, never on a command line)
#   *_PASSWORD        the other ACL users' passwords named in acl-users, from Kubernetes Secrets
#   MASTER_NAME       Sentinel master group name
#   SENTINELS         space-separated host:port of every Sentinel
#   REDIS_CLI         redis-cli binary (default: redis-cli)
#   QUERY_TIMEOUT     seconds allowed for one query (default: 3)
#   LOCAL_HOST        address of this pod's own process for probes and preStop (default: 127.0.0.1)

: "${REDIS_CLI:=redis-cli}"
: "${QUERY_TIMEOUT:=3}"
: "${OPERATOR_USER:=gatehouse-operator}"

# config_quoted VALUE: VALUE as a double-quoted Redis config string.
config_quoted() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# acl_file SIDE: the ACL file of SIDE (redis or sentinel) from the rendered user list
# ($TEMPLATE_DIR/acl-users: "side user PASSWORD_VARIABLE rules..."), each password taken from its
# environment variable and written only as its SHA-256 (`#<hash>`); "-" means no password.
acl_file() {
  while read -r side user variable rules; do
    [ "$side" = "$1" ] || continue
    if [ "$variable" = - ]; then
      secret=nopass
    else
      eval "value=\${$variable:?$variable is not set}"
      secret="#$(printf '%s' "$value" | sha256sum | cut -c1-64)"
    fi
    printf 'user %s on %s %s\n' "$user" "$secret" "$rules"
  done <"$TEMPLATE_DIR/acl-users"
}

# redis_query HOST PORT ARGS...: one command to a data node, as the operator user.
redis_query() {
  host=$1 port=$2
  shift 2
  REDISCLI_AUTH=$OPERATOR_PASSWORD timeout "$QUERY_TIMEOUT" "$REDIS_CLI" --no-auth-warning --user "$OPERATOR_USER" --raw -h "$host" -p "$port" "$@"
}

# sentinel_query HOST PORT ARGS...: one command to a Sentinel, as the operator user.
sentinel_query() {
  host=$1 port=$2
  shift 2
  REDISCLI_AUTH=$OPERATOR_PASSWORD timeout "$QUERY_TIMEOUT" "$REDIS_CLI" --no-auth-warning --user "$OPERATOR_USER" --raw -h "$host" -p "$port" "$@"
}

# current_master [SKIP]: prints "host port" of the master as the first Sentinel that knows it
# reports it; SKIP (host:port) is not asked. Fails when no Sentinel answers with an address.
current_master() {
  skip=${1:-}
  for sentinel in $SENTINELS; do
    [ "$sentinel" = "$skip" ] && continue
    answer=$(sentinel_query "${sentinel%:*}" "${sentinel##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null) || continue
    host=$(printf '%s\n' "$answer" | sed -n 1p)
    port=$(printf '%s\n' "$answer" | sed -n 2p)
    case "$port" in
      '' | *[!0-9]*) continue ;;
    esac
    [ -n "$host" ] && { printf '%s %s\n' "$host" "$port"; return 0; }
  done
  return 1
}

# current_master_with_retry ATTEMPTS [SKIP]: current_master, asked up to ATTEMPTS times a second apart.
current_master_with_retry() {
  attempts=$1
  while [ "$attempts" -gt 0 ]; do
    current_master "${2:-}" && return 0
    attempts=$((attempts - 1))
    [ "$attempts" -gt 0 ] && sleep 1
  done
  return 1
}

# info_field SECTION FIELD: one field of INFO SECTION of the local data node.
info_field() {
  redis_query "${LOCAL_HOST:-127.0.0.1}" "$REDIS_PORT" INFO "$1" | tr -d '\r' | sed -n "s/^$2://p"
}

# A data node of a group that started before, started while no Sentinel knows the master (a full
# restart with the Sentinels' state lost), is a candidate: a replica of this address, where nothing
# listens, so it loads its data, takes no writes and copies nobody until start-redis.sh's election
# names the master.
CANDIDATE_MASTER="127.0.0.1 1"

# node_role HOST PORT: what a data node is: "master", "candidate" or "replica HOST PORT".
# Fails when it does not answer.
node_role() {
  info=$(redis_query "$1" "$2" INFO replication 2>/dev/null | tr -d '\r') || return 1
  case "$(printf '%s\n' "$info" | sed -n 's/^role://p')" in
    master) echo master ;;
    slave)
      following="$(printf '%s\n' "$info" | sed -n 's/^master_host://p') $(printf '%s\n' "$info" | sed -n 's/^master_port://p')"
      if [ "$following" = "$CANDIDATE_MASTER" ]; then echo candidate; else echo "replica $following"; fi
      ;;
    *) return 1 ;;
  esac
}
