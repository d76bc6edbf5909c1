#!/bin/sh
# Runs before a data node stops (rendered by gatehouse). When this node is the master, it pauses
# writes and asks a Sentinel to fail over to a replica, then waits (at most PRESTOP_TIMEOUT seconds)
# until every Sentinel that answers reports another master, so clients move before the process
# goes away.
set -u
: "${PRESTOP_TIMEOUT:=20}"
. "$TEMPLATE_DIR/common.sh"
local_host=${LOCAL_HOST:-127.0.0.1}

[ "$(info_field replication role)" = master ] || exit 0
[ "$(info_field replication connected_slaves)" -gt 0 ] 2>/dev/null || {
  echo "gatehouse: master without replicas; nothing to hand over to"
  exit 0
}
redis_query "$local_host" "$REDIS_PORT" CLIENT PAUSE "$((PRESTOP_TIMEOUT * 1000))" WRITE >/dev/null || true
for sentinel in $SENTINELS; do
  if [ "$(sentinel_query "${sentinel%:*}" "${sentinel##*:}" SENTINEL FAILOVER "$MASTER_NAME" 2>&1)" = OK ]; then
    echo "gatehouse: failover requested from $sentinel"
    break
  fi
done
# still_named_master: whether a Sentinel that answers still names this node (clients ask any).
still_named_master() {
  for sentinel in $SENTINELS; do
    answer=$(sentinel_query "${sentinel%:*}" "${sentinel##*:}" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null) || continue
    [ "$(printf '%s\n' "$answer" | tr -d '\r' | tr '\n' ' ')" = "$ANNOUNCE_HOST $REDIS_PORT " ] && return 0
  done
  return 1
}
waited=0
while [ "$waited" -lt "$PRESTOP_TIMEOUT" ]; do
  if master=$(current_master); then
    if [ "$master" != "$ANNOUNCE_HOST $REDIS_PORT" ] && ! still_named_master; then
      echo "gatehouse: master handed over to ${master% *}"
      exit 0
    fi
  fi
  sleep 1
  waited=$((waited + 1))
done
echo "gatehouse: no new master after ${PRESTOP_TIMEOUT}s; stopping anyway"
