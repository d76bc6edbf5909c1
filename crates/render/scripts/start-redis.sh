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
#   before waits (at most SENTINEL_WAIT seconds) for a Sentinel to name the master, then exits so
#   that Kubernetes retries: after a full restart with the Sentinels late, the bootstrap node may
#   hold the oldest data, and the Sentinels' saved state names the node that held the newest.
# - A node whose data volume is empty never starts as master while another node holds data: if the
#   Sentinels still name it (it was restarted inside down-after), it asks them for a failover,
#   waits (at most FAILOVER_WAIT seconds) for the new master and starts as its replica. Starting
#   empty as master would make every replica flush its data to copy the empty one.
#
# Environment (besides common.sh):
#   REDIS_PORT         port of this node
#   ANNOUNCE_HOST      this node's stable address (its pod DNS name)
#   BOOTSTRAP_MASTER   host:port of the node that is master on first start
#   TEMPLATE_DIR       directory holding redis.conf and the scripts (read-only)
#   CONFIG_DIR         writable directory for the final redis.conf
#   DATA_DIR           data directory (the persistent volume)
#   SENTINEL_ATTEMPTS  times the Sentinels are asked before deciding (default 10)
#   SENTINEL_WAIT      seconds a node of a group that started before waits for a Sentinel (default 60)
#   FAILOVER_WAIT      seconds an empty node named master waits for its failover (default 60)
#   REDIS_SERVER       redis-server binary (default: redis-server)
set -eu
: "${REDIS_SERVER:=redis-server}"
: "${SENTINEL_ATTEMPTS:=10}"
: "${SENTINEL_WAIT:=60}"
: "${FAILOVER_WAIT:=60}"
. "$TEMPLATE_DIR/common.sh"

mkdir -p "$CONFIG_DIR" "$DATA_DIR"
marker="$DATA_DIR/.gatehouse-group-started"
me="$ANNOUNCE_HOST $REDIS_PORT"

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

if master=$(current_master_with_retry "$SENTINEL_ATTEMPTS"); then
  echo "gatehouse: the Sentinels report master ${master% *}:${master#* }"
elif [ -e "$marker" ]; then
  echo "gatehouse: no Sentinel knows a master, and this group has started before (its data may be newer than the bootstrap node's); waiting up to ${SENTINEL_WAIT}s for the Sentinels"
  if ! master=$(current_master_with_retry "$SENTINEL_WAIT"); then
    echo "gatehouse: still no Sentinel knows the master after ${SENTINEL_WAIT}s; exiting so that Kubernetes retries" >&2
    exit 1
  fi
  echo "gatehouse: the Sentinels report master ${master% *}:${master#* }"
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
{
  cat "$TEMPLATE_DIR/redis.conf"
  echo "port $REDIS_PORT"
  echo "dir $DATA_DIR"
  echo "replica-announce-ip $ANNOUNCE_HOST"
  echo "replica-announce-port $REDIS_PORT"
  printf 'requirepass %s\n' "$(config_quoted_password)"
  printf 'masterauth %s\n' "$(config_quoted_password)"
  if [ "$master" = "$me" ]; then
    echo "gatehouse: starting as master" >&2
  else
    echo "gatehouse: starting as replica of $master_host:$master_port" >&2
    echo "replicaof $master_host $master_port"
  fi
} >"$config.tmp"
mv "$config.tmp" "$config"
exec "$REDIS_SERVER" "$config"
