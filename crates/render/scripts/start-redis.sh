#!/bin/sh
# Starts one Redis data node (rendered by gatehouse).
#
# The node's role is decided here, at every start, by asking the Sentinels for the current master:
# a restarted old master comes back as a replica of the new one instead of a second master.
#
# The config is rebuilt from the rendered template at every start (a copy left in CONFIG_DIR, which
# Sentinel's CONFIG REWRITE may have changed, is never reused), so changed settings apply when the
# pod restarts.
#
# Two rules keep old or missing data from becoming the master:
# - Bootstrap (the bootstrap node as master) happens only on the group's very first start, told by
#   the absence of the marker file on this node's data volume. A node of a group that has started
#   before, when no Sentinel names the master (a full restart, the Sentinels late or their saved
#   state lost), starts as a candidate instead (see "Election" below): the bootstrap node may hold
#   the oldest data.
# - A node whose data volume is empty never starts as master while another node holds data: if the
#   Sentinels still name it (it was restarted inside down-after), it asks them for a failover,
#   waits (at most FAILOVER_WAIT seconds) for the new master and starts as its replica. Starting
#   empty as master would make every replica flush its data to copy the empty one.
#
# Election. Redis keeps no replication offset across a restart with AOF (it starts at offset 0 with
# a new replication ID), so every data node keeps its own record on its data volume: the last time
# (unix seconds) its replication stream moved, its role, replication ID and offset then, and the
# nodes it was linked to ("<time> <role> <replid> <offset> <host:port>..."). A background loop
# rewrites it every second while the node is a master or a replica with its link up, and publishes
# it as the process title template (CONFIG GET proc-title-template), so that other nodes can read
# it while this one accepts no writes. A candidate loads its data as a replica of CANDIDATE_MASTER
# (common.sh), where nothing listens: it takes no writes and copies nobody. It then finds every
# node linked to it (the bootstrap node, and the peers in the records, transitively), waits (at
# most ELECTION_WAIT seconds, then exits so that Kubernetes retries) until each answers, and
# elects the newest record: within one replication ID the master (a master is never behind its
# replicas), otherwise the latest time, then the highest offset, then the first address in sorted
# order (the lowest ordinal). The elected node promotes itself (REPLICAOF NO ONE, keeping its data),
# the others replicate from it. A node that is already a master takes part with its record; when
# this node's record is newer than every other, it neither copies that master nor becomes a second
# one (it waits), so a node that started empty is never copied over newer data.
# Time stamps from different nodes are compared, so their clocks must agree to well within the
# Sentinels' down-after.
#
# Environment (besides common.sh):
#   REDIS_PORT         port of this node
#   ANNOUNCE_HOST      this node's stable address (its pod DNS name)
#   BOOTSTRAP_MASTER   host:port of the node that is master on first start
#   TEMPLATE_DIR       directory holding redis.conf and the scripts (read-only)
#   CONFIG_DIR         writable directory for the final redis.conf
#   DATA_DIR           data directory (the persistent volume)
#   SENTINEL_ATTEMPTS  times the Sentinels are asked before deciding (default 10)
#   ELECTION_WAIT      seconds a candidate waits for every linked node to answer (default 120)
#   FAILOVER_WAIT      seconds an empty node named master waits for its failover (default 60)
#   REDIS_SERVER       redis-server binary (default: redis-server)
#
# TLS certificate renewal: the background loop notices changed TLS files (the Secret volume is
# mounted whole, so the kubelet updates it in place) and has this node's redis-server read them
# again with CONFIG SET of the same paths; no restart, no lost write.
set -eu
: "${REDIS_SERVER:=redis-server}"
: "${SENTINEL_ATTEMPTS:=10}"
: "${ELECTION_WAIT:=120}"
: "${FAILOVER_WAIT:=60}"
. "$TEMPLATE_DIR/common.sh"
tls_check

mkdir -p "$CONFIG_DIR" "$DATA_DIR"
marker="$DATA_DIR/.gatehouse-group-started"
record="$DATA_DIR/.gatehouse-replication"
me="$ANNOUNCE_HOST $REDIS_PORT"
local_host=${LOCAL_HOST:-127.0.0.1}

# others_hold_data: whether a replica the Sentinels know (other than this node) has replicated data.
others_hold_data() {
  for sentinel in $SENTINELS; do
    replicas=$(sentinel_query "${sentinel%:*}" "${sentinel##*:}" SENTINEL REPLICAS "$MASTER_NAME" 2>/dev/null) || continue
    for addr in $(printf '%s\n' "$replicas" | tr -d '\r' | awk 'previous == "name" { print } { previous = $0 }'); do
      [ "$addr" = "$ANNOUNCE_HOST:$REDIS_PORT" ] && continue
      offset=$(redis_query "${addr%:*}" "${addr##*:}" INFO replication 2>/dev/null | tr -d '\r' | sed -n 's/^master_repl_offset://p')
      [ "${offset:-0}" -gt 0 ] 2>/dev/null && return 0
    done
    return 1
  done
  return 1
}

# failover_away: asks the Sentinels to promote a replica and prints the new master ("host port")
# once they report one other than this node; fails after FAILOVER_WAIT seconds.
failover_away() {
  waited=0
  while [ "$waited" -lt "$FAILOVER_WAIT" ]; do
    # Asked again every 5 s: a request can be refused while the Sentinels refresh their replicas.
    if [ $((waited % 5)) -eq 0 ]; then
      for sentinel in $SENTINELS; do
        reply=$(sentinel_query "${sentinel%:*}" "${sentinel##*:}" SENTINEL FAILOVER "$MASTER_NAME" 2>&1) || continue
        echo "gatehouse: SENTINEL FAILOVER at $sentinel: $reply" >&2
        [ "$reply" = OK ] && break
      done
    fi
    sleep 1
    waited=$((waited + 1))
    if next=$(current_master) && [ "$next" != "$me" ]; then
      printf '%s\n' "$next"
      return 0
    fi
  done
  return 1
}

# fields RECORD: its first four fields ("time role replid offset"); peers RECORD: its host:ports.
fields() { printf '%s\n' "$1" | awk '{ print $1 + 0, ($2 == "" ? "none" : $2), ($3 == "" ? "-" : $3), $4 + 0 }'; }
peers() { printf '%s\n' "$1" | awk '{ for (i = 5; i <= NF; i++) print $i }'; }

# record_of HOST:PORT: the record a data node publishes.
record_of() {
  redis_query "${1%:*}" "${1##*:}" CONFIG GET proc-title-template 2>/dev/null | sed -n '2s/^{title} gatehouse //p'
}

# newest: reads lines "host:port time role replid offset" and prints the host:port of the newest
# record (the rule is in the header).
newest() {
  LC_ALL=C sort | awk '
    function newer() {
      if ($4 == r && $4 != "-") return $3 != role ? $3 == "master" : $5 + 0 > offset
      if ($2 + 0 != time) return $2 + 0 > time
      return $5 + 0 > offset
    }
    NR == 1 || newer() { best = $1; time = $2 + 0; role = $3; r = $4; offset = $5 + 0 }
    END { print best }'
}

# elect: run by a candidate once its server answers; replicates from the elected node, or
# promotes this one. Fails after ELECTION_WAIT seconds without a decision.
elect() {
  nl='
'
  waited=0
  while [ "$waited" -lt "$ELECTION_WAIT" ]; do
    sleep 1
    waited=$((waited + 1))
    queue="$ANNOUNCE_HOST:$REDIS_PORT $BOOTSTRAP_MASTER"
    seen=' ' candidates='' masters='' missing=''
    while [ -n "$queue" ]; do
      # shellcheck disable=SC2086 # a list of host:port words
      set -- $queue
      addr=$1
      shift
      queue=$*
      case "$seen" in *" $addr "*) continue ;; esac
      seen="$seen$addr "
      if ! role=$(node_role "${addr%:*}" "${addr##*:}"); then
        missing="$missing $addr"
        continue
      fi
      rec=$(record_of "$addr")
      queue="$queue $(peers "$rec" | tr '\n' ' ')"
      case "$role" in
        candidate) candidates="$candidates$addr $(fields "$rec")$nl" ;;
        master) masters="$masters$addr $(fields "$rec")$nl" ;;
        replica*) queue="$queue $(echo "$role" | awk '{ print $2 ":" $3 }')" ;;
      esac
    done
    if [ -n "$missing" ]; then
      [ $((waited % 10)) -eq 1 ] && echo "gatehouse: election waits for$missing"
      continue
    fi
    winner=$(printf '%s%s' "$candidates" "$masters" | newest)
    if [ "$winner" != "$ANNOUNCE_HOST:$REDIS_PORT" ]; then
      echo "gatehouse: election among${seen% }: $winner has the newest data"
      redis_query "$local_host" "$REDIS_PORT" REPLICAOF "${winner%:*}" "${winner##*:}" >/dev/null && return 0
    elif [ -z "$masters" ]; then
      echo "gatehouse: election among${seen% }: $winner has the newest data"
      redis_query "$local_host" "$REDIS_PORT" REPLICAOF NO ONE >/dev/null && return 0
    elif [ $((waited % 10)) -eq 1 ]; then
      echo "gatehouse: this node has newer data than the running master$(printf '%s' "$masters" | awk '{ printf " %s", $1 }'); not copying it"
    fi
  done
  return 1
}

# keep_record: the background loop of the header (after the election, for a candidate).
keep_record() {
  set +e
  if [ "$master" = "$CANDIDATE_MASTER" ] && ! elect; then
    echo "gatehouse: no election within ${ELECTION_WAIT}s; stopping so that Kubernetes retries" >&2
    kill "$$"
    exit 1
  fi
  last=
  tls_seen=$(tls_files_version)
  while sleep 1; do
    # A renewed certificate (the Secret volume updated in place): redis-server reads the files
    # again on CONFIG SET of their paths, without a restart; a failed reload keeps the old ones
    # and is tried again.
    tls_now=$(tls_files_version)
    if [ "$tls_now" != "$tls_seen" ] &&
      redis_query "$local_host" "$REDIS_PORT" CONFIG SET tls-cert-file "$TLS_CERT_FILE" tls-key-file "$TLS_KEY_FILE" tls-ca-cert-file "$TLS_CA_FILE" >/dev/null; then
      echo "gatehouse: reloaded the renewed TLS certificate from Secret ${TLS_SECRET:-?}"
      tls_seen=$tls_now
    fi
    info=$(redis_query "$local_host" "$REDIS_PORT" INFO replication 2>/dev/null | tr -d '\r') || continue
    if [ "$replication_login" = default ]; then
      following=$(printf '%s\n' "$info" | sed -n 's/^master_host://p;s/^master_port://p' | tr '\n' ' ')
      # shellcheck disable=SC2086 # "host port", split on purpose
      if [ -n "$following" ] && [ "$(replication_ping $following)" = PONG ] &&
        printf '%s' "$REPLICATION_PASSWORD" | redis_query "$local_host" "$REDIS_PORT" -x CONFIG SET masterauth >/dev/null &&
        redis_query "$local_host" "$REDIS_PORT" CONFIG SET masteruser "$REPLICATION_USER" >/dev/null; then
        echo "gatehouse: the master knows $REPLICATION_USER now; replicating as it from the next link"
        replication_login=$REPLICATION_USER
      fi
    fi
    state=$(printf '%s\n' "$info" | awk -F: '
      { v[$1] = $2 }
      /^slave[0-9]+:/ { split($2, kv, ","); sub("ip=", "", kv[1]); sub("port=", "", kv[2]); linked = linked " " kv[1] ":" kv[2] }
      END {
        if (v["role"] == "slave" && v["master_link_status"] != "up") exit
        if (v["role"] == "slave") linked = " " v["master_host"] ":" v["master_port"]
        if (v["master_repl_offset"] + 0 > 0) print v["role"], v["master_replid"], v["master_repl_offset"] linked
      }')
    [ -n "$state" ] && [ "$state" != "$last" ] || continue
    line="$(date +%s) $state"
    printf '%s\n' "$line" >"$record.tmp" && mv "$record.tmp" "$record" &&
      redis_query "$local_host" "$REDIS_PORT" CONFIG SET proc-title-template "{title} gatehouse $line" >/dev/null &&
      last=$state
  done
}

if master=$(current_master_with_retry "$SENTINEL_ATTEMPTS"); then
  echo "gatehouse: the Sentinels report master ${master% *}:${master#* }"
elif [ -e "$marker" ]; then
  echo "gatehouse: no Sentinel knows a master, and this group has started before; starting as a candidate to elect the node with the newest data"
  master=$CANDIDATE_MASTER
else
  master="${BOOTSTRAP_MASTER%:*} ${BOOTSTRAP_MASTER##*:}"
  echo "gatehouse: first start of the group (no Sentinel knows a master, no data here); bootstrap master is ${master% *}:${master#* }"
fi

if [ "$master" = "$me" ] && [ ! -e "$marker" ] && others_hold_data; then
  echo "gatehouse: the Sentinels name this node master, but its data directory is empty and other nodes hold data; asking for a failover"
  if ! master=$(failover_away); then
    echo "gatehouse: no other master after ${FAILOVER_WAIT}s; exiting so that Kubernetes retries (never starting empty as master)" >&2
    exit 1
  fi
  echo "gatehouse: the Sentinels now report master ${master% *}:${master#* }"
fi
master_host=${master% *}
master_port=${master#* }

umask 077
: >"$marker"
config="$CONFIG_DIR/redis.conf"
# The replication user, as the rendered redis.conf names it.
REPLICATION_USER=$(sed -n 's/^masteruser //p' "$TEMPLATE_DIR/redis.conf")
replication_login=$REPLICATION_USER
if [ "$master" != "$me" ] && [ "$master" != "$CANDIDATE_MASTER" ]; then
  case "$(replication_ping "$master_host" "$master_port")" in
    NOAUTH*)
      echo "gatehouse: the master does not know $REPLICATION_USER (a pod of the release before ACL users); replicating as default until it does"
      replication_login=default
      ;;
  esac
fi
acl_file redis >"$CONFIG_DIR/users.acl.tmp"
mv "$CONFIG_DIR/users.acl.tmp" "$CONFIG_DIR/users.acl"
{
  cat "$TEMPLATE_DIR/redis.conf"
  listen_lines "$REDIS_PORT"
  echo "dir $DATA_DIR"
  echo "replica-announce-ip $ANNOUNCE_HOST"
  echo "replica-announce-port $REDIS_PORT"
  echo "aclfile $CONFIG_DIR/users.acl"
  if [ "$replication_login" = default ]; then
    # The master is a pod of the release before ACL users (upgrade roll): log in as `default`
    # until it knows the replication user (keep_record switches then).
    echo 'masteruser ""'
    printf 'masterauth %s\n' "$(config_quoted "$REDIS_PASSWORD")"
  else
    printf 'masterauth %s\n' "$(config_quoted "$REPLICATION_PASSWORD")"
  fi
  echo "proc-title-template \"{title} gatehouse $(cat "$record" 2>/dev/null || echo 0 none - 0)\""
  if [ "$master" = "$me" ]; then
    echo "gatehouse: starting as master" >&2
  else
    echo "gatehouse: starting as replica of $master_host:$master_port" >&2
    echo "replicaof $master_host $master_port"
  fi
} >"$config.tmp"
mv "$config.tmp" "$config"
keep_record &
exec "$REDIS_SERVER" "$config"
