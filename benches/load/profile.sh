#!/usr/bin/env bash
# Where steerdns spends its time per query (issue 6).
#
#   benches/load/profile.sh callgrind   # user-space instructions per query (valgrind), static
#                                       # and steered, with the top functions
#   benches/load/profile.sh perf        # sampled profile (perf, cpu-clock) of a saturated
#                                       # worker, kernel included, top symbols
#
# One UDP worker, loopback only, every run bounded; the server is stopped on exit.
# Needs a steerdns build (CARGO_TARGET_DIR/$PROFILE/steerdns, PROFILE=dist by default: the
# shipped build; or STEERDNS=/path/to/steerdns) and the blaster; run.sh builds both.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
MODE="${1:-callgrind}"
N="${N:-20000}"            # queries counted per mix under callgrind
PERF_S="${PERF_S:-4}"      # seconds sampled per mix under perf
PORT="${PORT:-$((20000 + RANDOM % 30000))}"
# The shipped build (docker/Dockerfile) is the `dist` profile; PROFILE=release profiles the
# everyday build.
PROFILE="${PROFILE:-dist}"
STEERDNS="${STEERDNS:-$CARGO_TARGET_DIR/$PROFILE/steerdns}"
BLASTER="${BLASTER:-$CARGO_TARGET_DIR/release/blaster}"
[ -x "$STEERDNS" ] || (cd "$ROOT" && cargo build --profile "$PROFILE" --quiet --bin steerdns)
[ -x "$BLASTER" ] || (cd "$HERE/blaster" && cargo build --release --quiet)

WORK="$(mktemp -d /tmp/steerdns-profile.XXXXXX)"
SPID=""
cleanup() {
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null || true
        sleep 1
        kill -9 "$SPID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$HERE/gen-queries.sh" "$WORK/q" 2>/dev/null
cat > "$WORK/steerdns.toml" <<EOF
[server]
listen = ["127.0.0.1:$PORT"]
workers = 1
pid_file = "$WORK/steerdns.pid"
[health]
state_file = "$WORK/steerdns.health"
[geoip]
database = "$ROOT/geoip/geo-whois-asn-country.mmdb"
[rrl]
enabled = false
[zones]
directory = "$ROOT/zones"
[metrics]
listen = ""
EOF

wait_ready() {
    for _ in $(seq 1 150); do
        if "$BLASTER" -s "127.0.0.1:$PORT" -q "$WORK/q/static.q" -n 1 -d 0.2 -c 1 -w 1 -t 200 2>/dev/null \
            | grep -q 'RESULT .* received=[1-9]'; then
            return 0
        fi
        sleep 0.2
    done
    echo "steerdns did not start" >&2
    exit 1
}

case "$MODE" in
callgrind)
    command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
    # One server per mix; only the UDP worker thread is counted (callgrind writes one file
    # per thread; the worker's is the one that answered), so start-up, tokio and the other
    # threads stay out whatever the compiler inlined. Answers = every answer the server sent
    # (the readiness probes included).
    for mix in static steered nxdomain; do
        valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$mix" --separate-threads=yes \
            "$STEERDNS" serve -c "$WORK/steerdns.toml" > "$WORK/log" 2>&1 &
        SPID=$!
        probe=0
        for _ in $(seq 1 150); do
            got="$("$BLASTER" -s "127.0.0.1:$PORT" -q "$WORK/q/static.q" -n 1 -d 0.2 -c 1 -w 1 -t 200 2>/dev/null \
                | sed -n 's/^RESULT .* received=\([0-9]*\).*/\1/p')"
            probe=$((probe + ${got:-0}))
            [ "${got:-0}" -gt 0 ] && break
            sleep 0.2
        done
        [ "$probe" -gt 0 ] || { echo "steerdns did not start under valgrind" >&2; exit 1; }
        out="$("$BLASTER" -s "127.0.0.1:$PORT" -q "$WORK/q/$mix.q" -n "$N" -r 4000 -d 30 -c 1 -w 8 -t 2000)"
        got="$(echo "$out" | sed -n 's/^RESULT .* received=\([0-9]*\).*/\1/p')"
        kill "$SPID"
        wait "$SPID" 2>/dev/null || true
        SPID=""
        answers=$((got + probe))
        # The worker thread's file: the one whose code answered queries.
        cg=""
        for f in "$WORK/cg.$mix"-*; do
            # grep -c reads to the end: with -q (or awk's exit below), callgrind_annotate can
            # die of SIGPIPE, and pipefail then fails the test or the script.
            if [ "$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null | grep -c 'answer_guarded')" -gt 0 ]; then
                cg="$f"
            fi
        done
        [ -n "$cg" ] || { echo "no callgrind file of the UDP worker" >&2; exit 1; }
        total="$(callgrind_annotate "$cg" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }')"
        echo "## callgrind, $mix A: $answers answers ($probe of them static probes), $total instructions in the UDP worker thread = $((total / answers)) per query"
        callgrind_annotate --inclusive=no "$cg" 2>/dev/null | sed -n '/file:function/,$p' | sed -n '3,27p' \
            | sed -E 's/ \[[^]]*\]$//; s/^( *[0-9,]+ \( *[0-9.]+%\))  [^:]*:/\1  /' | cut -c1-170 || true
        echo
    done
    ;;
perf)
    command -v perf >/dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 1; }
    taskset -c 0 "$STEERDNS" serve -c "$WORK/steerdns.toml" > "$WORK/log" 2>&1 &
    SPID=$!
    wait_ready
    for mix in static steered; do
        taskset -c 1 "$BLASTER" -s "127.0.0.1:$PORT" -q "$WORK/q/$mix.q" -d $((PERF_S + 1)) -c 4 -w 64 > "$WORK/bl" &
        bp=$!
        sleep 0.5
        perf record -q -F 4999 -p "$SPID" -o "$WORK/perf.$mix" -- sleep "$PERF_S" 2>/dev/null
        wait "$bp" || true
        echo "## perf (cpu-clock samples of the steerdns process), $mix A: $(grep '^RESULT' "$WORK/bl" | cut -d' ' -f2-5)"
        echo "by object (kernel = [kernel.kallsyms]):"
        perf report -i "$WORK/perf.$mix" --no-children --sort dso --stdio 2>/dev/null \
            | grep -v '^#' | grep -v '^$' | head -6 | cut -c1-150 || true
        echo "user-space symbols:"
        perf report -i "$WORK/perf.$mix" --no-children --sort symbol --stdio 2>/dev/null \
            | grep -v '^#' | grep -v '^$' | grep -F '[.]' | head -25 | sed -E 's/ +- +- *$//' | cut -c1-150 || true
        echo "kernel symbols:"
        perf report -i "$WORK/perf.$mix" --no-children --sort symbol --stdio 2>/dev/null \
            | grep -v '^#' | grep -v '^$' | grep -F '[k]' | head -15 | sed -E 's/ +- +- *$//' | cut -c1-150 || true
        echo
    done
    ;;
*)
    echo "usage: $0 callgrind|perf" >&2
    exit 2
    ;;
esac
