#!/bin/sh
# Starts one Sentinel (rendered by gatehouse).
#
# Sentinel rewrites its own config file (state, epochs, known replicas and Sentinels), so the file
# lives in a writable directory (CONFIG_DIR, a volume). When that file exists from an earlier run
# it is used as it is: the Sentinel keeps its ID and what it knew. Otherwise the template is
# completed with the current master, asked from the other Sentinels (or the bootstrap master on the
# very first start).
#
# Environment (besides common.sh):
#   SENTINEL_PORT      port of this Sentinel
#   ANNOUNCE_HOST      this Sentinel's stable address (its pod DNS name)
#   BOOTSTRAP_MASTER   host:port of the data node that is master on first start
#   TEMPLATE_DIR       directory holding sentinel.conf and the scripts (read-only)
#   CONFIG_DIR         writable directory for sentinel.conf (keeps Sentinel state)
#   SENTINEL_ATTEMPTS  times the other Sentinels are asked (default 3)
#   REDIS_SENTINEL     redis-sentinel binary (default: redis-sentinel)
set -eu
: "${REDIS_SENTINEL:=redis-sentinel}"
: "${SENTINEL_ATTEMPTS:=3}"
. "$TEMPLATE_DIR/common.sh"

mkdir -p "$CONFIG_DIR"
umask 077
config="$CONFIG_DIR/sentinel.conf"
if [ -s "$config" ]; then
  echo "gatehouse: reusing the Sentinel state in $config"
  exec "$REDIS_SENTINEL" "$config"
fi

if master=$(current_master_with_retry "$SENTINEL_ATTEMPTS" "$ANNOUNCE_HOST:$SENTINEL_PORT"); then
  master_host=${master% *}
  master_port=${master#* }
  echo "gatehouse: the other Sentinels report master $master_host:$master_port"
else
  master_host=${BOOTSTRAP_MASTER%:*}
  master_port=${BOOTSTRAP_MASTER##*:}
  echo "gatehouse: no Sentinel knows a master yet; monitoring bootstrap master $master_host:$master_port"
fi

{
  sed -e "s/%MASTER_HOST%/$master_host/" -e "s/%MASTER_PORT%/$master_port/" "$TEMPLATE_DIR/sentinel.conf"
  echo "port $SENTINEL_PORT"
  echo "dir $CONFIG_DIR"
  echo "sentinel announce-ip $ANNOUNCE_HOST"
  echo "sentinel announce-port $SENTINEL_PORT"
  echo "sentinel auth-pass $MASTER_NAME $(config_quoted_password)"
  if [ "$SENTINEL_AUTH" = yes ]; then
    echo "requirepass $(config_quoted_password)"
  fi
} >"$config.tmp"
mv "$config.tmp" "$config"
exec "$REDIS_SENTINEL" "$config"
