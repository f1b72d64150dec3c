# shellcheck shell=bash
# Start and stop a throw-away Knot DNS (knotd) on a loopback port, serving
# tests/conformance/*.zone (one zone per file, named after its origin). Sourced by tests/conformance/regen.sh
# and .ci/run; not meant to be run on its own.
#
#   source tests/conformance/knot.sh
#   knot_install            # apt-get install knot when knotd is missing (returns 1 if it cannot)
#   knot_start              # sets KNOT_ADDR (127.0.0.1:PORT), KNOT_PID, KNOT_DIR, KNOT_VERSION
#   ...                     # query $KNOT_ADDR
#   knot_stop               # stops knotd and removes KNOT_DIR; safe to call twice
#
# Only loopback is used; every wait is bounded.

KNOT_CONFORMANCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Every zone file here, named <origin>.zone.
KNOT_ZONES=""
for f in "$KNOT_CONFORMANCE_DIR"/*.zone; do
    KNOT_ZONES="$KNOT_ZONES $(basename "$f" .zone)"
done
KNOT_ADDR=""
KNOT_PID=""
KNOT_DIR=""
KNOT_VERSION=""

# Installs Knot from Debian's packages when knotd is not on PATH. Returns 1
# (after a warning on stderr) when it cannot: no apt-get, not root, or apt failed.
knot_install() {
    if command -v knotd >/dev/null 2>&1 || [ -x /usr/sbin/knotd ]; then
        return 0
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "warning: knotd is missing and apt-get is not available" >&2
        return 1
    fi
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "warning: knotd is missing and installing it needs root" >&2
            return 1
        fi
    fi
    # policy-rc.d-less containers may try to start the packaged service; the
    # package still installs, and we never use that service.
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1; then
        echo "warning: apt-get update failed; cannot install knot" >&2
        return 1
    fi
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends knot \
        >/dev/null 2>&1; then
        echo "warning: apt-get install knot failed" >&2
        return 1
    fi
    command -v knotd >/dev/null 2>&1 || [ -x /usr/sbin/knotd ]
}

# Prints a free TCP+UDP port on 127.0.0.1 (bound on both, then released).
# Without python3, a random high port (knotd then fails loudly if it is taken).
knot_free_port() {
    if ! command -v python3 >/dev/null 2>&1; then
        echo $((20000 + RANDOM % 40000))
        return 0
    fi
    python3 - <<'PY'
import socket
for _ in range(50):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 0))
    port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port))
    except OSError:
        t.close()
        continue
    t.close()
    u.close()
    print(port)
    break
else:
    raise SystemExit("no free port found")
PY
}

# Starts knotd in the background with a minimal configuration in a temporary
# directory and waits (at most ~10 s) until the zone is loaded.
knot_start() {
    local knotd knotc port conf user group
    knotd="$(command -v knotd || echo /usr/sbin/knotd)"
    knotc="$(command -v knotc || echo /usr/sbin/knotc)"
    KNOT_VERSION="$("$knotd" --version | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -n 1)"
    KNOT_DIR="$(mktemp -d "${TMPDIR:-/tmp}/steerdns-knot.XXXXXX")"
    port="$(knot_free_port)"
    KNOT_ADDR="127.0.0.1:$port"
    user="$(id -un)"
    group="$(id -gn)"
    conf="$KNOT_DIR/knot.conf"
    # identity/nsid mirror steerdns.toml ([server] identity, nsid); an empty
    # version hides version.bind, as steerdns does with `version = false`.
    # No rrl module: Knot does not rate-limit unless the module is configured.
    cat >"$conf" <<EOF
server:
    rundir: "$KNOT_DIR"
    user: $user:$group
    pidfile: "$KNOT_DIR/knot.pid"
    listen: 127.0.0.1@$port
    identity: "steerdns-example"
    nsid: "steerdns-example"
    version: ""

database:
    storage: "$KNOT_DIR/db"

control:
    listen: "$KNOT_DIR/knot.sock"

log:
  - target: stderr
    any: warning

template:
  - id: default
    storage: "$KNOT_DIR"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: on

zone:
EOF
    local z
    for z in $KNOT_ZONES; do
        printf '  - domain: %s\n    file: "%s"\n' "$z" "$KNOT_CONFORMANCE_DIR/$z.zone" >>"$conf"
    done
    "$knotd" -c "$conf" >"$KNOT_DIR/knotd.log" 2>&1 &
    KNOT_PID=$!
    local i
    for i in $(seq 1 100); do
        if ! kill -0 "$KNOT_PID" 2>/dev/null; then
            echo "error: knotd exited at start:" >&2
            cat "$KNOT_DIR/knotd.log" >&2
            KNOT_PID=""
            return 1
        fi
        local loaded=0 count=0
        for z in $KNOT_ZONES; do
            count=$((count + 1))
            if "$knotc" -c "$conf" -t 1 zone-status "$z" 2>/dev/null | grep -q "serial: [0-9]"; then
                loaded=$((loaded + 1))
            fi
        done
        if [ "$loaded" = "$count" ]; then
            echo "knotd $KNOT_VERSION (pid $KNOT_PID) serves$KNOT_ZONES on $KNOT_ADDR" >&2
            return 0
        fi
        sleep 0.1
    done
    echo "error: knotd did not load$KNOT_ZONES within 10 s:" >&2
    cat "$KNOT_DIR/knotd.log" >&2
    knot_stop
    return 1
}

# Stops the knotd started by knot_start (by its pid) and removes its directory.
knot_stop() {
    if [ -n "$KNOT_PID" ]; then
        kill "$KNOT_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 50); do
            kill -0 "$KNOT_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$KNOT_PID" 2>/dev/null || true
        wait "$KNOT_PID" 2>/dev/null || true
        KNOT_PID=""
    fi
    if [ -n "$KNOT_DIR" ] && [ -d "$KNOT_DIR" ]; then
        rm -rf "$KNOT_DIR"
    fi
    KNOT_DIR=""
}
