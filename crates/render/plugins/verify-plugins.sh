#!/bin/sh
# Downloads gateway plugins into a directory, verifying each SHA-256 before the gateway starts.
#
# Usage: verify-plugins.sh DEST_DIR URL SHA256 [URL SHA256 ...]
#   SHA256 is 64 hex digits, or `-` for a plugin given without a checksum (downloaded, reported as
#   unverified). URLs and checksums arrive as separate arguments: nothing is ever pasted into a
#   shell string. Exits non-zero, with a message naming the plugin, on a checksum mismatch, an
#   unreachable URL or a malformed argument, so that the pod does not start.
# Env: GATEHOUSE_PLUGIN_TIMEOUT (seconds per download, default 60).
set -eu

fail() {
    echo "verify-plugins: $*" >&2
    exit 1
}

[ "$#" -ge 1 ] || fail "usage: verify-plugins.sh DEST_DIR URL SHA256 [URL SHA256 ...]"
dest=$1
shift
[ $(($# % 2)) -eq 0 ] || fail "expected URL SHA256 pairs after the directory, got $# argument(s)"
[ -d "$dest" ] || fail "destination $dest is not a directory"
timeout=${GATEHOUSE_PLUGIN_TIMEOUT:-60}

download() {
    # $1 URL, $2 output file
    if command -v curl >/dev/null 2>&1; then
        curl --fail --silent --show-error --location --max-time "$timeout" --output "$2" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q -T "$timeout" -O "$2" "$1"
    else
        fail "neither curl nor wget is in the init container image"
    fi
}

count=0
while [ "$#" -gt 0 ]; do
    url=$1
    sha=$2
    shift 2
    count=$((count + 1))
    case "$url" in
        https://* | http://*) ;;
        *) fail "plugin $count: not an http(s) URL" ;;
    esac
    name=${url##*/}
    case "$name" in
        *.zip) ;;
        *) fail "plugin $count ($url): the URL does not name a .zip file" ;;
    esac
    case "$name" in
        .* | *[!A-Za-z0-9._+=@%~-]*) fail "plugin $count ($url): unsafe file name" ;;
    esac
    if [ "$sha" != "-" ]; then
        sha=$(printf '%s' "$sha" | tr 'A-F' 'a-f')
        case "$sha" in
            *[!0-9a-f]*) fail "plugin $name: the expected SHA-256 is not hex" ;;
        esac
        [ "${#sha}" -eq 64 ] || fail "plugin $name: the expected SHA-256 is not 64 hex digits"
    fi
    part="$dest/.$name.part"
    rm -f "$part"
    if ! download "$url" "$part"; then
        rm -f "$part"
        fail "plugin $name: cannot download $url (unreachable, or an HTTP error); the gateway will not start"
    fi
    if [ "$sha" = "-" ]; then
        echo "verify-plugins: $name downloaded WITHOUT checksum verification (no sha256 given)"
    else
        actual=$(sha256sum "$part" | cut -d ' ' -f 1)
        if [ "$actual" != "$sha" ]; then
            rm -f "$part"
            fail "plugin $name: SHA-256 mismatch for $url: expected $sha, got $actual; refusing to start the gateway"
        fi
        echo "verify-plugins: $name verified (sha256 $sha)"
    fi
    mv -f "$part" "$dest/$name"
done
echo "verify-plugins: $count plugin(s) ready in $dest"
