#!/bin/sh
# Starts one Redis data node (rendered by gatehouse).
#
# The node's role is decided here, at every start, by asking the Sentinels for the current master:
# a restarted old master comes back as a replica of the new one instead of a second master. Only
# when no Sentinel knows a master (the very first start) does the bootstrap node become master.
#
# Environment (besides common.sh):
#   REDIS_PORT         port of this node
#   ANNOUNCE_HOST      this node's stable address (its pod DNS name)
#   BOOTSTRAP_MASTER   host:port of the node that is master on first start
#   TEMPLATE_DIR       directory holding redis.conf and the scripts (read-only)
#   CONFIG_DIR         writable directory for the final redis.conf
#   DATA_DIR           data directory (the persistent volume)
#   SENTINEL_ATTEMPTS  times the Sentinels are asked before bootstrapping (default 10)
#   REDIS_SERVER       redis-server binary (default: redis-server)
set -eu
: "${REDIS_SERVER:=redis-server}"
: "${SENTINEL_ATTEMPTS:=10}"
. "$TEMPLATE_DIR/common.sh"

if master=$(current_master_with_retry "$SENTINEL_ATTEMPTS"); then
  master_host=${master% *}
  master_port=${master#* }
  echo "gatehouse: the Sentinels report master $master_host:$master_port"
else
  master_host=${BOOTSTRAP_MASTER%:*}
  master_port=${BOOTSTRAP_MASTER##*:}
  echo "gatehouse: no Sentinel knows a master yet; bootstrap master is $master_host:$master_port"
fi

mkdir -p "$CONFIG_DIR" "$DATA_DIR"
umask 077
config="$CONFIG_DIR/redis.conf"
{
  cat "$TEMPLATE_DIR/redis.conf"
  echo "port $REDIS_PORT"
  echo "dir $DATA_DIR"
  echo "replica-announce-ip $ANNOUNCE_HOST"
  echo "replica-announce-port $REDIS_PORT"
  printf 'requirepass %s\n' "$(config_quoted_password)"
  printf 'masterauth %s\n' "$(config_quoted_password)"
  if [ "$master_host" = "$ANNOUNCE_HOST" ] && [ "$master_port" = "$REDIS_PORT" ]; then
    echo "gatehouse: starting as master" >&2
  else
    echo "gatehouse: starting as replica of $master_host:$master_port" >&2
    echo "replicaof $master_host $master_port"
  fi
} >"$config.tmp"
mv "$config.tmp" "$config"
exec "$REDIS_SERVER" "$config"
