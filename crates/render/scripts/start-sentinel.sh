#!/bin/sh
# Starts one Sentinel (rendered by gatehouse).
#
# Sentinel rewrites its own config file (state, epochs, known replicas and Sentinels), so the file
# lives in a writable directory (CONFIG_DIR, a volume). The file is rebuilt from the rendered
# template on EVERY start, so changed settings (quorum, down-after, failover-timeout,
# parallel-syncs, auth) take effect when the pod restarts:
# - with a saved state from an earlier run, only what the Sentinel learned is carried over: the
#   master it last knew (host and port of its `sentinel monitor` line), its ID, the epochs, and the
#   replicas and Sentinels it discovered. Every setting comes from the template.
# - without one, the template is completed with the current master, asked from the other Sentinels
#   or else from the bootstrap data node: it is the master on the group's first start, a replica
#   of the master later, and a candidate while the data nodes elect the node with the newest data
#   after a full restart (start-redis.sh); the Sentinel waits for that (at most SENTINEL_WAIT
#   seconds, then exits so that Kubernetes retries). It never monitors a candidate: Sentinel takes
#   a master that reports itself a replica for down, and would fail over to nobody.
#
# Environment (besides common.sh):
#   SENTINEL_PORT      port of this Sentinel
#   ANNOUNCE_HOST      this Sentinel's stable address (its pod DNS name)
#   BOOTSTRAP_MASTER   host:port of the data node that is master on first start
#   TEMPLATE_DIR       directory holding sentinel.conf and the scripts (read-only)
#   CONFIG_DIR         writable directory for sentinel.conf (keeps Sentinel state)
#   SENTINEL_WAIT      seconds to wait for a Sentinel or the bootstrap node to name the master (default 120)
#   REDIS_SENTINEL     redis-sentinel binary (default: redis-sentinel)
set -eu
: "${REDIS_SENTINEL:=redis-sentinel}"
: "${SENTINEL_WAIT:=120}"
. "$TEMPLATE_DIR/common.sh"
tls_check

mkdir -p "$CONFIG_DIR"
umask 077
config="$CONFIG_DIR/sentinel.conf"
# The password lines, from the environment (the Secrets), written on every start and never carried
# over from the saved state: Sentinel writes `sentinel auth-pass` back UNQUOTED when it rewrites its
# config (a password with a space or quote would make the saved file unreadable). The users of this
# Sentinel's own port are in an ACL file built from the rendered user list (acl-users).
password_lines() {
  printf 'sentinel auth-pass %s %s\n' "$MASTER_NAME" "$(config_quoted "$SENTINEL_PASSWORD")"
  printf 'sentinel sentinel-pass %s\n' "$(config_quoted "$SENTINEL_PEER_PASSWORD")"
  echo "aclfile $CONFIG_DIR/users.acl"
}

# learned_state: the lines of the saved state that hold what this Sentinel learned (never a
# setting), printed after the template's `sentinel monitor` line that they refer to.
learned_state() {
  awk -v m="$MASTER_NAME" '
    $1 != "sentinel" { next }
    $2 == "myid" || $2 == "current-epoch" { print; next }
    ($2 == "config-epoch" || $2 == "leader-epoch" || $2 == "known-replica" || $2 == "known-sentinel") && $3 == m { print }
  ' "$config"
}

saved=
if [ -s "$config" ]; then
  saved=$(awk -v m="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == m { print $4, $5; exit }' "$config")
fi
case "$saved" in
  *' '[0-9]*)
    master_host=${saved% *}
    master_port=${saved#* }
    echo "gatehouse: the saved Sentinel state names master $master_host:$master_port; keeping what it learned, applying the rendered settings"
    learned_state >"$config.state"
    ;;
  *)
    : >"$config.state"
    bootstrap="${BOOTSTRAP_MASTER%:*} ${BOOTSTRAP_MASTER##*:}"
    waited=0
    until master=$(current_master "$ANNOUNCE_HOST:$SENTINEL_PORT"); do
      role=$(node_role "${bootstrap% *}" "${bootstrap#* }") || role=
      case "$role" in
        master) master=$bootstrap ;;
        replica*) master=${role#replica } ;;
        *) master= ;;
      esac
      [ -n "$master" ] && break
      if [ "$waited" -ge "$SENTINEL_WAIT" ]; then
        echo "gatehouse: neither a Sentinel nor the bootstrap node ${bootstrap% *}:${bootstrap#* } names a master after ${SENTINEL_WAIT}s; exiting so that Kubernetes retries" >&2
        exit 1
      fi
      [ $((waited % 10)) -eq 0 ] && echo "gatehouse: no Sentinel knows a master; waiting for the bootstrap node to be master or name one"
      sleep 1
      waited=$((waited + 1))
    done
    master_host=${master% *}
    master_port=${master#* }
    echo "gatehouse: monitoring master $master_host:$master_port"
    ;;
esac

acl_file sentinel >"$CONFIG_DIR/users.acl.tmp"
mv "$CONFIG_DIR/users.acl.tmp" "$CONFIG_DIR/users.acl"
{
  sed -e "s/%MASTER_HOST%/$master_host/" -e "s/%MASTER_PORT%/$master_port/" "$TEMPLATE_DIR/sentinel.conf"
  listen_lines "$SENTINEL_PORT"
  echo "dir $CONFIG_DIR"
  echo "sentinel announce-ip $ANNOUNCE_HOST"
  echo "sentinel announce-port $SENTINEL_PORT"
  password_lines
  cat "$config.state"
} >"$config.tmp"
rm -f "$config.state"
mv "$config.tmp" "$config"

# TLS certificate renewal: Sentinel 7.0 has no CONFIG SET and SENTINEL CONFIG SET does not take
# the TLS files, so a Sentinel reads a renewed certificate only when it starts. A watcher stops
# this Sentinel (it becomes the container's main process below, with this shell's PID) once the
# mounted files change, staggered by the pod's ordinal (SENTINEL_RESTART_STAGGER seconds each)
# so that the Sentinels restart one at a time and a quorum stays up; the kubelet starts it again
# with its saved state. A Sentinel restart loses no write.
if [ "$REDIS_TLS" = yes ]; then
  sentinel_pid=$$
  (
    seen=$(tls_files_version)
    while sleep 5; do
      kill -0 "$sentinel_pid" 2>/dev/null || exit 0
      [ "$(tls_files_version)" = "$seen" ] && continue
      ordinal=${POD_NAME##*-}
      case "$ordinal" in '' | *[!0-9]*) ordinal=0 ;; esac
      sleep $((ordinal * ${SENTINEL_RESTART_STAGGER:-20}))
      echo "gatehouse: the TLS files from Secret ${TLS_SECRET:-?} changed; restarting this Sentinel to read them"
      kill -TERM "$sentinel_pid"
      exit 0
    done
  ) &
fi
exec "$REDIS_SENTINEL" "$config"
