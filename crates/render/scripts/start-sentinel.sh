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
# The password lines, from the environment (the Secret). Written on every start, also into a reused
# state file: Sentinel writes `sentinel auth-pass` back UNQUOTED when it rewrites its config, so a
# password with a space or quote would make the saved file unreadable on the next start; and a
# rotated Secret takes effect at the next restart.
password_lines() {
  printf 'sentinel auth-pass %s %s\n' "$MASTER_NAME" "$(config_quoted_password)"
  if [ "$SENTINEL_AUTH" = yes ]; then
    printf 'requirepass %s\n' "$(config_quoted_password)"
  fi
}

if [ -s "$config" ]; then
  echo "gatehouse: reusing the Sentinel state in $config"
  {
    grep -v -e '^sentinel auth-pass ' -e '^requirepass ' "$config" || true
    password_lines
  } >"$config.tmp"
  mv "$config.tmp" "$config"
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
  password_lines
} >"$config.tmp"
mv "$config.tmp" "$config"
exec "$REDIS_SENTINEL" "$config"
