# Shared helpers of the gatehouse Redis scripts; sourced, never run alone.
# Every host, port and path comes from the environment, so the same scripts run in the pods and,
# with loopback addresses, in the real-process tests.
#
#   OPERATOR_USER     the ACL user of these scripts (probes, pre-stop, election, start-up)
#   OPERATOR_PASSWORD its password, from a Kubernetes Secret (never echoed, never on a command line)
#   *_PASSWORD        the other ACL users' passwords named in acl-users, from Kubernetes Secrets
#   *_PASSWORD_NEXT, *_PASSWORD_PREVIOUS  a second password the user also accepts during a rotation
#   MASTER_NAME       Sentinel master group name
#   SENTINELS         space-separated host:port of every Sentinel
#   REDIS_CLI         redis-cli binary (default: redis-cli)
#   QUERY_TIMEOUT     seconds allowed for one query (default: 3)
#   LOCAL_HOST        address of this pod's own process for probes and preStop (default: 127.0.0.1)
#   REDIS_TLS         "yes": every port is a TLS port (plain TCP off) and every link speaks TLS
#   TLS_CA_FILE       CA certificate (PEM) that signed every certificate of the group
#   TLS_CERT_FILE     this process's certificate (PEM), served and presented to peers
#   TLS_KEY_FILE      its private key (PEM)
#   TLS_AUTH_CLIENTS  tls-auth-clients: "yes" (mutual TLS) or "optional"
#   TLS_SECRET        name of the Kubernetes Secret the TLS files come from (for messages)
# The TLS paths are mounted Secret files and contain no whitespace.

: "${REDIS_CLI:=redis-cli}"
: "${QUERY_TIMEOUT:=3}"
: "${OPERATOR_USER:=gatehouse-operator}"
: "${REDIS_TLS:=no}"

# tls_args: the redis-cli options for the group's transport (nothing without TLS). The process's
# own key pair is presented as a client certificate, which mutual TLS requires.
tls_args() {
  [ "$REDIS_TLS" = yes ] || return 0
  printf '%s\n' --tls --cacert "$TLS_CA_FILE" --cert "$TLS_CERT_FILE" --key "$TLS_KEY_FILE"
}

# tls_check: refuses to start (exit 1, a message naming the Secret and the fix) when a TLS file is
# unreadable, or, where openssl is available, when the certificate has expired, is not yet valid
# or does not name this process's address (ANNOUNCE_HOST), which clients verify.
tls_check() {
  [ "$REDIS_TLS" = yes ] || return 0
  secret="Secret ${TLS_SECRET:-?}"
  for file in "$TLS_CA_FILE" "$TLS_CERT_FILE" "$TLS_KEY_FILE"; do
    if [ ! -r "$file" ]; then
      echo "gatehouse: TLS file $file (from $secret) is missing or unreadable; the Secret needs the keys tls.crt, tls.key and ca.crt" >&2
      return 1
    fi
  done
  if ! command -v openssl >/dev/null 2>&1; then
    echo "gatehouse: openssl is not in this image; the certificate's dates and names are not checked before start"
    return 0
  fi
  if ! openssl x509 -in "$TLS_CERT_FILE" -noout -checkend 0 >/dev/null 2>&1; then
    echo "gatehouse: the TLS certificate in $secret (tls.crt) has expired ($(openssl x509 -in "$TLS_CERT_FILE" -noout -enddate 2>/dev/null)); renew it or replace tls.crt and tls.key in the Secret, then restart this pod" >&2
    return 1
  fi
  case "$ANNOUNCE_HOST" in
    *[!0-9.]*) check=-checkhost ;;
    *) check=-checkip ;;
  esac
  if openssl x509 -in "$TLS_CERT_FILE" -noout "$check" "$ANNOUNCE_HOST" 2>&1 | grep -q 'does NOT match'; then
    echo "gatehouse: the TLS certificate in $secret (tls.crt) does not name $ANNOUNCE_HOST, which clients dial and verify; reissue it with every pod's DNS name under the headless Services and the Service names, then restart this pod" >&2
    return 1
  fi
  if ! openssl verify -CAfile "$TLS_CA_FILE" "$TLS_CERT_FILE" >/dev/null 2>&1; then
    echo "gatehouse: the TLS certificate in $secret (tls.crt) is not signed by its ca.crt; reissue it from the CA in ca.crt" >&2
    return 1
  fi
}

# tls_files_version: a checksum of the mounted TLS files, which changes when the kubelet writes a
# renewed Secret into the volume (empty without TLS).
tls_files_version() {
  [ "$REDIS_TLS" = yes ] || return 0
  cat "$TLS_CA_FILE" "$TLS_CERT_FILE" "$TLS_KEY_FILE" 2>/dev/null | cksum
}

# listen_lines PORT: the config lines for this process's listener and its outgoing links: a plain
# port, or (with TLS) a TLS port with plain TCP off, TLS replication (for a Sentinel: TLS towards
# data nodes and other Sentinels) and the certificate files, read again on CONFIG SET.
listen_lines() {
  if [ "$REDIS_TLS" != yes ]; then
    echo "port $1"
    return 0
  fi
  echo "port 0"
  echo "tls-port $1"
  echo "tls-replication yes"
  echo "tls-auth-clients ${TLS_AUTH_CLIENTS:-optional}"
  echo "tls-ca-cert-file $TLS_CA_FILE"
  echo "tls-cert-file $TLS_CERT_FILE"
  echo "tls-key-file $TLS_KEY_FILE"
}

# config_quoted VALUE: VALUE as a double-quoted Redis config string.
config_quoted() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# password_hash VALUE: `#<sha256 of VALUE>`, the only form a password takes in an ACL file.
password_hash() {
  printf '#%s' "$(printf '%s' "$1" | sha256sum | cut -c1-64)"
}

# acl_file SIDE: the ACL file of SIDE (redis or sentinel) from the rendered user list
# ($TEMPLATE_DIR/acl-users: "side user PASSWORD_VARIABLE rules..."), each password taken from its
# environment variable and written only as its SHA-256 (`#<hash>`); "-" means no password.
# While a rotation is under way the user also accepts PASSWORD_VARIABLE_NEXT and
# PASSWORD_VARIABLE_PREVIOUS (the Secret's `<key>.next` / `<key>.previous`, unset otherwise);
# clients, these scripts included, always send PASSWORD_VARIABLE.
acl_file() {
  while read -r side user variable rules; do
    [ "$side" = "$1" ] || continue
    if [ "$variable" = - ]; then
      secret=nopass
    else
      eval "value=\${$variable:?$variable is not set}"
      secret=$(password_hash "$value")
      for suffix in NEXT PREVIOUS; do
        eval "other=\${${variable}_$suffix:-}"
        if [ -n "$other" ] && [ "$other" != "$value" ]; then
          secret="$secret $(password_hash "$other")"
        fi
      done
    fi
    printf 'user %s on %s %s\n' "$user" "$secret" "$rules"
  done <"$TEMPLATE_DIR/acl-users"
}

# operator_query HOST PORT ARGS...: one command as the operator user. As `default` with
# REDIS_PASSWORD instead when this pod has no operator password (a pod started by the release
# before ACL users, whose probes and pre-stop hook run these scripts once the ConfigMap changed) or
# when HOST does not know the operator (a pod of that release, during the upgrade roll).
operator_query() {
  host=$1 port=$2
  shift 2
  if [ -n "${OPERATOR_PASSWORD:-}" ]; then
    # shellcheck disable=SC2046 # tls_args prints one option per line, no whitespace inside
    answer=$(REDISCLI_AUTH=$OPERATOR_PASSWORD timeout "$QUERY_TIMEOUT" "$REDIS_CLI" $(tls_args) --no-auth-warning --user "$OPERATOR_USER" --raw -h "$host" -p "$port" "$@") || return
    case "$answer" in
      NOAUTH*) ;;
      *)
        printf '%s\n' "$answer"
        return 0
        ;;
    esac
  fi
  # shellcheck disable=SC2046 # tls_args prints one option per line, no whitespace inside
  REDISCLI_AUTH=${REDIS_PASSWORD:-} timeout "$QUERY_TIMEOUT" "$REDIS_CLI" $(tls_args) --no-auth-warning --raw -h "$host" -p "$port" "$@"
}

# replication_ping HOST PORT: the answer of the data node at HOST:PORT to PING as REPLICATION_USER:
# PONG, NOAUTH... when it answers but refuses the login (a pod of the release before ACL users does
# not know the user), nothing when it does not answer.
replication_ping() {
  # shellcheck disable=SC2046 # tls_args prints one option per line, no whitespace inside
  REDISCLI_AUTH=$REPLICATION_PASSWORD timeout "$QUERY_TIMEOUT" "$REDIS_CLI" $(tls_args) --no-auth-warning --user "$REPLICATION_USER" --raw -h "$1" -p "$2" PING 2>/dev/null
}

# redis_query HOST PORT ARGS...: one command to a data node, as the operator user.
redis_query() {
  operator_query "$@"
}

# sentinel_query HOST PORT ARGS...: one command to a Sentinel, as the operator user.
sentinel_query() {
  operator_query "$@"
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
