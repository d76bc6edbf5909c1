#!/bin/sh
# Readiness and liveness checks of the Redis pods (rendered by gatehouse). Usage:
#   probe.sh redis-ready | redis-alive | sentinel-ready | sentinel-alive
# A replica is ready only when its link to the master is up and no sync is running; a data node
# that is loading its data or has lost its master is still alive.
set -u
. "$TEMPLATE_DIR/common.sh"
local_host=${LOCAL_HOST:-127.0.0.1}

case "${1:-}" in
  redis-alive)
    reply=$(redis_query "$local_host" "$REDIS_PORT" PING 2>&1) || true
    case "$reply" in
      PONG | LOADING* | MASTERDOWN*) ;;
      *)
        echo "redis does not answer PING: $reply"
        exit 1
        ;;
    esac
    # A replica that lost its master and follows another node than the one the Sentinels report
    # is orphaned: Sentinel reconfigures only replicas it has seen, so one that joined shortly
    # before a failover keeps following the dead master forever. Restarting it lets
    # start-redis.sh ask the Sentinels again. (No Sentinel answer: keep running.)
    [ "$(info_field replication role)" = slave ] || exit 0
    [ "$(info_field replication master_link_status)" = up ] && exit 0
    following="$(info_field replication master_host) $(info_field replication master_port)"
    # A candidate waits for its election (start-redis.sh), which ends it when it takes too long.
    [ "$following" = "$CANDIDATE_MASTER" ] && exit 0
    if reported=$(current_master) && [ "$reported" != "$following" ]; then
      echo "replica follows ${following% *}:${following#* } but the Sentinels report ${reported% *}:${reported#* }"
      exit 1
    fi
    exit 0
    ;;
  redis-ready)
    reply=$(redis_query "$local_host" "$REDIS_PORT" PING 2>&1) || true
    [ "$reply" = PONG ] || { echo "redis not ready: $reply"; exit 1; }
    role=$(info_field replication role)
    if [ "$role" = slave ]; then
      link=$(info_field replication master_link_status)
      syncing=$(info_field replication master_sync_in_progress)
      [ "$link" = up ] || { echo "replica: master link is $link"; exit 1; }
      [ "$syncing" = 0 ] || { echo "replica: sync in progress"; exit 1; }
    fi
    exit 0
    ;;
  sentinel-alive)
    reply=$(sentinel_query "$local_host" "$SENTINEL_PORT" PING 2>&1) || true
    [ "$reply" = PONG ] || { echo "sentinel does not answer PING: $reply"; exit 1; }
    ;;
  sentinel-ready)
    answer=$(sentinel_query "$local_host" "$SENTINEL_PORT" SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>&1) || true
    [ "$(printf '%s\n' "$answer" | wc -l)" -eq 2 ] || { echo "sentinel knows no master: $answer"; exit 1; }
    ;;
  *)
    echo "usage: probe.sh redis-ready|redis-alive|sentinel-ready|sentinel-alive" >&2
    exit 2
    ;;
esac
