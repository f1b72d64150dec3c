#!/usr/bin/env bash
# Health checks side by side: steerdns and HAProxy checking the same N loopback HTTP targets
# every second (issue 17).
#
#   benches/health/run.sh                        # 2000 targets, 3 runs x (http http-reuse tcp)
#   RUNS=2 DUR=20 MODES="http tcp" benches/health/run.sh
#   STEERDNS=/path/to/older/steerdns benches/health/run.sh   # compare another build
#
# What it does:
#   - builds steerdns and the target server (examples/health_targets.rs) with the release
#     profile (PROFILE=dist for the packaging build);
#   - starts N HTTP targets, one per loopback address 127.0.X.Y on one port, served by one
#     thread (200 "ok"; HTTP/1.1 kept alive unless asked to close, HTTP/1.0 closed);
#   - per window: HAProxy (Debian `haproxy`, one backend with N `server ... check` lines,
#     `option httpchk GET /healthz`, `inter 1s`, one thread) pinned to core $HAPROXY_CPU and
#     steerdns (one zone, one service, one region with the N targets as endpoints, a check
#     with `interval = "1s"` of the window's kind: http, http with reuse_connection, tcp)
#     pinned to core $STEERDNS_CPU, both started together; after $WARM s both processes'
#     utime and stime are read from /proc/PID/stat, again $DUR s later; the probes done in
#     between are counted at the targets (requests by User-Agent) and from steerdns's
#     steerdns_health_checks_total;
#   - prints one TSV row per checker and window, then median and min-max per checker and
#     mode: % of one core (user+system), user and system apart, microseconds per probe.
#
# CPU time, not wall time, is what is compared, so other work on the machine changes the
# figures less; still, note the load average (printed per window). HAProxy runs in every
# window, so each steerdns mode has its own HAProxy figure from the same seconds.
#
# Needs haproxy (apt-get install -y haproxy; not needed by CI), curl, taskset.
# Loopback only; every window bounded; everything started here is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
N="${N:-2000}"
RUNS="${RUNS:-3}"
DUR="${DUR:-20}"
WARM="${WARM:-4}"
MODES="${MODES:-http http-reuse tcp}"
STEERDNS_CPU="${STEERDNS_CPU:-0}"
HAPROXY_CPU="${HAPROXY_CPU:-1}"
PROFILE="${PROFILE:-release}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"

if awk -v d="$DUR" 'BEGIN { exit !(d > 120 || d <= 0) }'; then
    echo "DUR must be in (0, 120] seconds" >&2
    exit 2
fi
command -v haproxy >/dev/null || { echo "haproxy is missing (apt-get install -y haproxy)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing" >&2; exit 1; }

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

BIN="$CARGO_TARGET_DIR/$PROFILE"
TARGETS="$BIN/examples/health_targets"
if [ -n "${STEERDNS:-}" ]; then
    # A given steerdns binary (e.g. an older build to compare with): build the targets only.
    log "building the targets (profile $PROFILE); steerdns is $STEERDNS"
    (cd "$ROOT" && cargo build --quiet --profile "$PROFILE" --example health_targets)
else
    log "building steerdns and the targets (profile $PROFILE)"
    (cd "$ROOT" && cargo build --quiet --profile "$PROFILE" --bin steerdns --example health_targets)
    STEERDNS="$BIN/steerdns"
fi

WORK="$(mktemp -d /tmp/steerdns-health-bench.XXXXXX)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The targets live for the whole benchmark (bounded by their own clock too).
LIFETIME=$(awk -v r="$RUNS" -v d="$DUR" -v w="$WARM" -v m="$(echo $MODES | wc -w)" \
    'BEGIN { print int(r * m * (d + w + 10) + 60) }')
"$TARGETS" "$N" "$LIFETIME" > "$WORK/targets.out" &
PIDS+=($!)
for _ in $(seq 1 100); do
    [ -s "$WORK/targets.out" ] && break
    sleep 0.1
done
PORT="$(head -n 1 "$WORK/targets.out")"
[ -n "$PORT" ] || { echo "targets did not start" >&2; exit 1; }
log "$N targets on 127.0.1.1.. port $PORT"

# Target i -> 127.0.X.Y, as examples/health_targets.rs numbers them.
addresses() { awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "127.0.%d.%d\n", 1 + int(i / 250), 1 + i % 250 }'; }

# HAProxy: one backend, N servers, HTTP checks every second. A frontend on a unix socket only
# because HAProxy refuses to start without a listener; nothing connects to it.
{
    cat <<EOF
global
    nbthread 1
    maxconn 4000
defaults
    mode http
    timeout connect 900ms
    timeout check 900ms
    timeout client 10s
    timeout server 10s
frontend fe
    bind $WORK/haproxy-fe.sock
    default_backend targets
backend targets
    option httpchk GET /healthz
    default-server check inter 1s rise 2 fall 3
EOF
    i=0
    addresses | while read -r a; do
        echo "    server t$i $a:$PORT"
        i=$((i + 1))
    done
} > "$WORK/haproxy.cfg"
haproxy -c -q -f "$WORK/haproxy.cfg"

# steerdns: one zone, one service, one region with the N targets, one check per mode.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
write_steerdns() { # mode dir
    local mode="$1" dir="$2" kind=http reuse=false
    case "$mode" in
    http) ;;
    http-reuse) reuse=true ;;
    tcp) kind=tcp ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
    mkdir -p "$dir/zones"
    DNS_PORT="$(free_port)"
    METRICS_PORT="$(free_port)"
    cat > "$dir/steerdns.toml" <<EOF
[server]
listen = ["127.0.0.1:$DNS_PORT"]
workers = 1
pid_file = "$dir/steerdns.pid"
[health]
state_file = "$dir/steerdns.health"
[geoip]
database = "$ROOT/geoip/geo-whois-asn-country.mmdb"
[rrl]
enabled = false
[zones]
directory = "$dir/zones"
[metrics]
listen = "127.0.0.1:$METRICS_PORT"
EOF
    {
        cat <<EOF
origin = "health.example.test."
[soa]
mname = "ns1.health.example.test."
rname = "hostmaster.example.test."
serial = 1
[[record]]
name = "@"
type = "NS"
data = ["ns1.health.example.test."]
[[record]]
name = "ns1"
type = "A"
data = ["127.0.0.1"]
[check.web]
kind = "$kind"
port = $PORT
interval = "1s"
timeout = "900ms"
rise = 2
fall = 3
EOF
        if [ "$kind" = http ]; then
            printf 'path = "/healthz"\nexpect_status = [200]\nreuse_connection = %s\n' "$reuse"
        fi
        cat <<EOF
[region.here]
[map.all]
default = "here"
[service.www]
map = "all"
check = "web"
[service.www.region.here]
EOF
        printf 'endpoints = ['
        addresses | awk '{ printf "%s\"%s\"", (NR > 1 ? ", " : ""), $0 }'
        printf ']\n'
    } > "$dir/zones/health.example.test.toml"
    "$STEERDNS" check -c "$dir/steerdns.toml" > "$dir/check.out" 2>&1 || {
        cat "$dir/check.out" >&2
        exit 1
    }
}

# utime and stime (clock ticks) of PID: fields 14 and 15 of /proc/PID/stat.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'; }
# Last counts line of the targets: accepts steerdns other.
target_counts() { tail -n 1 "$WORK/targets.out" | sed 's/[a-z]*=//g'; }
steerdns_checks() { # metrics port
    curl -s --max-time 2 "http://127.0.0.1:$1/metrics" |
        awk '/^steerdns_health_checks_total/ { s += $NF } END { printf "%d\n", s }'
}
HZ="$(getconf CLK_TCK)"

echo -e "run\tmode\tchecker\tprobes_per_s\tuser_s\tsys_s\tcpu_pct\tus_per_probe\tloadavg" > "$WORK/rows.tsv"
for run in $(seq 1 "$RUNS"); do
    for mode in $MODES; do
        dir="$WORK/$run-$mode"
        write_steerdns "$mode" "$dir"
        taskset -c "$HAPROXY_CPU" haproxy -db -f "$WORK/haproxy.cfg" > "$dir/haproxy.log" 2>&1 &
        HPID=$!
        PIDS+=("$HPID")
        taskset -c "$STEERDNS_CPU" "$STEERDNS" serve -c "$dir/steerdns.toml" > "$dir/steerdns.log" 2>&1 &
        SPID=$!
        PIDS+=("$SPID")
        sleep "$WARM"
        kill -0 "$HPID" && kill -0 "$SPID" || { tail "$dir"/*.log >&2; exit 1; }
        read -r hu0 hs0 < <(cpu_ticks "$HPID")
        read -r su0 ss0 < <(cpu_ticks "$SPID")
        read -r a0 st0 o0 < <(target_counts)
        m0="$(steerdns_checks "$METRICS_PORT")"
        t0="$(date +%s.%N)"
        sleep "$DUR"
        read -r hu1 hs1 < <(cpu_ticks "$HPID")
        read -r su1 ss1 < <(cpu_ticks "$SPID")
        t1="$(date +%s.%N)"
        m1="$(steerdns_checks "$METRICS_PORT")"
        sleep 0.2 # the targets' next counts line (every 100 ms) covers the window
        read -r a1 st1 o1 < <(target_counts)
        load="$(cut -d' ' -f1 /proc/loadavg)"
        kill "$SPID" "$HPID" 2>/dev/null || true
        wait "$SPID" "$HPID" 2>/dev/null || true
        awk -v run="$run" -v mode="$mode" -v hz="$HZ" -v t0="$t0" -v t1="$t1" -v load="$load" \
            -v hu="$((hu1 - hu0))" -v hs="$((hs1 - hs0))" -v su="$((su1 - su0))" -v ss="$((ss1 - ss0))" \
            -v hp="$((o1 - o0))" -v sp="$((m1 - m0))" 'BEGIN {
                w = t1 - t0
                row("haproxy-http", hp, hu, hs)
                row("steerdns-" mode, sp, su, ss)
            }
            function row(who, probes, u, s) {
                cpu = (u + s) / hz
                printf "%s\t%s\t%s\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%s\n", run, mode, who, probes / w,
                    u / hz, s / hz, 100 * cpu / w, (probes > 0 ? 1e6 * cpu / probes : 0), load
            }' >> "$WORK/rows.tsv"
        tail -n 2 "$WORK/rows.tsv" | while read -r line; do log "$line"; done
    done
done

cat "$WORK/rows.tsv"
echo
echo "# median (min-max) over $RUNS runs; $N targets, interval 1s, ${DUR}s windows"
echo -e "checker\tmode\tprobes/s\t% of a core\tuser %\tsystem %\tus/probe"
awk -F'\t' -v dur="$DUR" 'NR > 1 {
        k = $3 "\t" $2; keys[k] = 1; n[k]++
        p[k, n[k]] = $4; c[k, n[k]] = $7; u[k, n[k]] = 100 * $5 / dur; s[k, n[k]] = 100 * $6 / dur; q[k, n[k]] = $8
    }
    function stat(a, k, m,   i, j, t, v) {
        for (i = 1; i <= m; i++) v[i] = a[k, i]
        for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return sprintf("%.1f (%.1f-%.1f)", (m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2), v[1], v[m])
    }
    END { for (k in keys) printf "%s\t%s\t%s\t%s\t%s\t%s\n", k, stat(p, k, n[k]), stat(c, k, n[k]), stat(u, k, n[k]), stat(s, k, n[k]), stat(q, k, n[k]) }' \
    "$WORK/rows.tsv" | sort
