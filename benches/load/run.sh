#!/usr/bin/env bash
# Load benchmark of steerdns against NSD, Knot DNS and gdnsd (issue 6).
#
#   benches/load/run.sh                 # everything (about 6 minutes)
#   RUNS=3 DUR=5 MIXES="static steered" SERVERS="nsd steerdns" benches/load/run.sh
#   SERVERS="steerdns steerdns+page" ...  # the cost of the status page refreshing every second
#   BASE_STEERDNS=/path/to/old/steerdns BASE_ZONES=/old/checkout/zones \
#     SERVERS="gdnsd steerdns steerdns-base" ...   # an older build side by side, same run
#
# What it does:
#   - installs dnsperf, nsd, knot, gdnsd with apt-get when missing (needs root);
#   - builds steerdns with the `dist` profile, the shipped build (fat LTO; PROFILE=release
#     for the quicker thin-LTO build, within 2% in instructions per answer: BENCHMARKS.md,
#     "First build") and the blaster (benches/load/blaster, our load generator);
#   - serves the same zone from each server on 127.0.0.1 high ports, every server pinned to
#     core $SERVER_CPU and the load generator to core $CLIENT_CPU (taskset), one UDP worker
#     per server, response rate limiting off everywhere (NSD's Debian build limits by default);
#   - for each query mix (static A, steered A with ECS from 4096 subnets, NXDOMAIN, a mix)
#     runs the blaster at saturation for $DUR seconds against each server in turn, A B C D
#     A B C D ..., $RUNS times; then at a fixed 20k q/s for latency; then one round with each
#     server's default worker count; then dnsperf (static A) for reference;
#   - prints tables: QPS median and min-max, latency avg/p50/p99, server CPU microseconds per
#     answered query (utime+stime of the server's whole process tree from /proc, before and
#     after, divided by the answers), server CPU use, QPS as a ratio to NSD's;
#   - measures steerdns's resident memory (VmRSS) with the example zone + shipped GeoIP
#     database, and with a generated zone of 10k steered names (gen-zone-10k.sh).
#
# steered names: steerdns steers www with its map and GeoIP (shipped database); gdnsd steers
# www with its geoip plugin from a nets-only map (4096 /12 networks -> 3 datacenters, ECS on:
# the shipped database is not in GeoIP2 format, which gdnsd needs for country keys); NSD and
# Knot answer www as a static name.
#
# Loopback only; every run bounded; every server started here is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUNS="${RUNS:-3}"
DUR="${DUR:-5}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
MIXES="${MIXES:-static steered nxdomain mix}"
SERVERS="${SERVERS:-nsd knot gdnsd steerdns}"
SOCKETS="${SOCKETS:-4}"
WINDOW="${WINDOW:-64}"
RATE="${RATE:-20000}"
LAT_DUR="${LAT_DUR:-3}"
DEFAULT_WORKERS="${DEFAULT_WORKERS:-1}"
DNSPERF="${DNSPERF:-1}"
MEMORY="${MEMORY:-1}"
# PERF=1: sample every server (perf, cpu-clock, kernel included) during its first saturation
# run of each mix and print its top kernel and user-space symbols at the end.
PERF="${PERF:-0}"
BASE_PORT="${BASE_PORT:-$((20000 + RANDOM % 30000))}"
# The machine is shared: run the servers and the blaster at a higher priority (negative nice,
# root only) so that other people's builds on the same cores preempt them less. With
# autogroup scheduling (sched_autogroup_enabled=1) a process's nice only counts inside its
# session, so the session's autogroup nice is raised too while the servers run, and put
# back on exit. NICE=0 turns both off.
NICE="${NICE:--10}"
[ "$(id -u)" = 0 ] || NICE=0
PIN_S=(nice -n "$NICE" taskset -c "${SERVER_CPU:-0}")
PIN_C=(nice -n "$NICE" taskset -c "${CLIENT_CPU:-1}")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# The shipped build (docker/Dockerfile) is the `dist` profile; PROFILE=release measures the
# everyday build instead.
PROFILE="${PROFILE:-dist}"

if awk -v d="$DUR" 'BEGIN { exit !(d > 10 || d <= 0) }'; then
    echo "DUR must be in (0, 10] seconds" >&2
    exit 2
fi

WORK="$(mktemp -d /tmp/steerdns-bench.XXXXXX)"
PIDS=()
AG_OLD=""
cleanup() {
    local p
    if [ -n "$AG_OLD" ]; then echo "$AG_OLD" > /proc/self/autogroup 2>/dev/null || true; fi
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    sleep 0.5
    for p in "${PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" >&2; }

# ---------------------------------------------------------------- install and build
install_peers() {
    local need=()
    command -v dnsperf >/dev/null || need+=(dnsperf)
    [ -x /usr/sbin/nsd ] || need+=(nsd)
    [ -x /usr/sbin/knotd ] || need+=(knot)
    [ -x /usr/sbin/gdnsd ] || need+=(gdnsd)
    [ ${#need[@]} -eq 0 ] && return 0
    log "installing ${need[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "warning: cannot install ${need[*]} (not root); those servers are skipped" >&2
        return 0
    fi
    DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -qq >/dev/null || true
    # policy-rc.d-less containers may start the packaged services; they listen on port 53
    # and are not used here.
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
        "${need[@]}" >/dev/null || echo "warning: apt-get install ${need[*]} failed" >&2
}

build() {
    log "building steerdns (profile $PROFILE) and the blaster"
    (cd "$ROOT" && cargo build --profile "$PROFILE" --quiet --bin steerdns)
    (cd "$HERE/blaster" && cargo build --release --quiet)
    STEERDNS="$CARGO_TARGET_DIR/$PROFILE/steerdns"
    BLASTER="$CARGO_TARGET_DIR/release/blaster"
}

# ---------------------------------------------------------------- process accounting
# Space-separated PIDs of $1 and all its descendants.
tree() {
    local p c out="$1"
    for c in $(pgrep -P "$1" 2>/dev/null || true); do
        out="$out $(tree "$c")"
    done
    echo "$out"
}

# "utime+stime stime" (clock ticks) of $1 and its descendants, every thread included: the
# whole CPU time and the part of it spent in the kernel.
cpu_ticks() {
    local p sum=0 sys=0 f
    for p in $(tree "$1"); do
        f="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
        f="${f##*) }"   # past the command name, which may hold spaces
        # fields after ")": state(3) ... utime(14) stime(15) -> positions 12 and 13 here
        set -- $(echo "$f" | awk '{ print $12 + $13, $13 }')
        sum=$((sum + $1))
        sys=$((sys + $2))
    done
    echo "$sum $sys"
}

# Resident memory (kB) of $1 and its descendants.
rss_kb() {
    local p sum=0 v
    for p in $(tree "$1"); do
        v="$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)"
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

TCK="$(getconf CLK_TCK)"

# ---------------------------------------------------------------- servers
declare -A PORT PID VERSION

# start_server NAME WORKERS(1|default) PORT
start_server() {
    local name="$1" workers="$2" port="$3" dir="$WORK/$1-$2"
    mkdir -p "$dir"
    case "$name" in
    nsd)
        [ -x /usr/sbin/nsd ] || return 1
        cp "$HERE/zones/gslb.example.test.zone" "$dir/"
        local count=""
        [ "$workers" = 1 ] && count="    server-count: 1"
        cat > "$dir/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    do-ip6: no
$count
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    verbosity: 0
    hide-version: yes
    # Debian's NSD is built with RRL on (200/s per /24): off for the benchmark.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: gslb.example.test
    zonefile: gslb.example.test.zone
EOF
        "${PIN_S[@]}" /usr/sbin/nsd -d -c "$dir/nsd.conf" > "$dir/log" 2>&1 &
        VERSION[nsd]="NSD $(/usr/sbin/nsd -v 2>&1 | awk '/version/ { print $3; exit }')"
        ;;
    knot)
        [ -x /usr/sbin/knotd ] || return 1
        mkdir -p "$dir/zones" "$dir/db"
        cp "$HERE/zones/gslb.example.test.zone" "$dir/zones/"
        local w=""
        [ "$workers" = 1 ] && w="    udp-workers: 1
    tcp-workers: 1
    background-workers: 1"
        cat > "$dir/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$port
    rundir: "$dir"
$w
database:
    storage: "$dir/db"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "$dir/zones"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: gslb.example.test
    file: gslb.example.test.zone
EOF
        "${PIN_S[@]}" /usr/sbin/knotd -c "$dir/knot.conf" > "$dir/log" 2>&1 &
        VERSION[knot]="Knot $(/usr/sbin/knotd -V 2>&1 | awk '{ print $NF; exit }')"
        ;;
    gdnsd)
        [ -x /usr/sbin/gdnsd ] || return 1
        mkdir -p "$dir/zones" "$dir/run" "$dir/state"
        # The static zone with www as a DYNA record of the geoip plugin.
        sed -e '/^www .* IN A /d' -e '/^www .* IN AAAA /d' "$HERE/zones/gslb.example.test.zone" \
            > "$dir/zones/gslb.example.test"
        echo 'www          30 DYNA  geoip!www' >> "$dir/zones/gslb.example.test"
        local threads=""
        [ "$workers" = 1 ] && threads="    udp_threads => 1
    tcp_threads => 1"
        {
            cat <<EOF
options => {
    listen => [ 127.0.0.1:$port ]
$threads
    run_dir => "$dir/run"
    state_dir => "$dir/state"
    edns_client_subnet => true
}
plugins => {
  geoip => {
    maps => {
      global => {
        datacenters => [ us-east, eu-west, ap-northeast ]
        nets => {
EOF
            "$HERE/gen-gdnsd-nets.sh"
            cat <<EOF
        }
      }
    }
    resources => {
      www => {
        map => global
        dcmap => {
          us-east => [ 127.0.0.10, 127.0.0.11 ]
          eu-west => [ 127.0.0.20 ]
          ap-northeast => [ 127.0.0.30 ]
        }
      }
    }
  }
}
EOF
        } > "$dir/config"
        "${PIN_S[@]}" /usr/sbin/gdnsd -c "$dir" start > "$dir/log" 2>&1 &
        VERSION[gdnsd]="gdnsd $(/usr/sbin/gdnsd -V 2>&1 | awk '/gdnsd version/ { print $3; exit }')"
        ;;
    steerdns | steerdns+page | steerdns-base)
        mkdir -p "$dir"
        local wk=1 admin="" bin="$STEERDNS" zones="$ROOT/zones"
        if [ "$name" = steerdns-base ]; then
            # An older build (BASE_STEERDNS) serving its own checkout's example zone
            # (BASE_ZONES): newer zone keys would not load in it.
            bin="${BASE_STEERDNS:?steerdns-base needs BASE_STEERDNS}"
            zones="${BASE_ZONES:?steerdns-base needs BASE_ZONES}"
        fi
        [ "$workers" = default ] && wk=0
        # steerdns+page: the same, with the admin listener on and the status page and
        # /v1/status fetched once a second for as long as it runs (the poller runs on the
        # blaster's core; what serving them costs shows in the server's CPU per query).
        [ "$name" = steerdns+page ] && admin="127.0.0.1:$((port + 1000))"
        steerdns_config "$dir" "$port" "$wk" "$zones" "$admin"
        "${PIN_S[@]}" "$bin" serve -c "$dir/steerdns.toml" > "$dir/log" 2>&1 &
        if [ "$name" = steerdns-base ]; then
            VERSION[$name]="$name $("$bin" --version 2>/dev/null | head -1) ($bin)"
        else
            VERSION[$name]="$name $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
        fi
        if [ -n "$admin" ]; then
            local server=$!
            "${PIN_C[@]}" bash -c 'while kill -0 '"$server"' 2>/dev/null; do
                curl -s -o /dev/null --max-time 1 "http://'"$admin"'/"
                curl -s -o /dev/null --max-time 1 "http://'"$admin"'/v1/status"
                sleep 1
            done' > /dev/null 2>&1 &
            PIDS+=("$!")
            # $! must name the server below.
            PID[$name]=$server
            PIDS+=("$server")
            PORT[$name]="$port"
            wait_ready "$name" || { echo "warning: $name did not start; see below" >&2; tail -5 "$dir/log" >&2; return 1; }
            return 0
        fi
        ;;
    esac
    PID[$name]=$!
    PIDS+=("$!")
    PORT[$name]="$port"
    wait_ready "$name" || { echo "warning: $name did not start; see below" >&2; tail -5 "$dir/log" >&2; return 1; }
}

# steerdns_config DIR PORT WORKERS ZONES_DIR [ADMIN_ADDR]
steerdns_config() {
    cat > "$1/steerdns.toml" <<EOF
[server]
listen = ["127.0.0.1:$2"]
workers = $3
pid_file = "$1/steerdns.pid"
[health]
state_file = "$1/steerdns.health"
[geoip]
database = "$ROOT/geoip/geo-whois-asn-country.mmdb"
[rrl]
enabled = false
[zones]
directory = "$4"
[metrics]
listen = "${5:-}"
[log]
queries = false
EOF
}

# Waits (at most 10 s) until the server answers the static query.
wait_ready() {
    local i
    for i in $(seq 1 50); do
        if "$BLASTER" -s "127.0.0.1:${PORT[$1]}" -q "$QDIR/static.q" -d 0.1 -c 1 -w 1 -t 100 2>/dev/null \
            | grep -q 'RESULT .* received=[1-9]'; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

stop_server() {
    local p="${PID[$1]:-}"
    [ -n "$p" ] || return 0
    kill "$p" 2>/dev/null || true
    for _ in $(seq 1 25); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.2
    done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    unset "PID[$1]"
}

# ---------------------------------------------------------------- one measured run
# run_one TAG SERVER MIX RUN [blaster args...]: appends a row to $RESULTS.
RESULTS="$WORK/results.tsv"
export DUR LAT_DUR RATE
run_one() {
    local tag="$1" s="$2" mix="$3" run="$4"
    shift 4
    local pid="${PID[$s]}" before after out b_sys a_sys
    local perf_pid=""
    read -r before b_sys <<< "$(cpu_ticks "$pid")"
    if [ "$PERF" = 1 ] && [ "$tag" = sat ] && [ "$run" = 1 ]; then
        perf record -q -F 999 -p "$pid" -o "$WORK/perf-$s-$mix.data" -- sleep "$DUR" 2>/dev/null &
        perf_pid=$!
    fi
    out="$("${PIN_C[@]}" "$BLASTER" -s "127.0.0.1:${PORT[$s]}" -q "$QDIR/$mix.q" "$@")"
    read -r after a_sys <<< "$(cpu_ticks "$pid")"
    if [ -n "$perf_pid" ]; then wait "$perf_pid" || true; fi
    echo "$out" > "$WORK/last-$s-$mix-$tag-$run.txt"
    echo "$out" | awk -v tag="$tag" -v s="$s" -v mix="$mix" -v run="$run" \
        -v ticks=$((after - before)) -v sys=$((a_sys - b_sys)) -v tck="$TCK" -v dur="$DUR" '
        /^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
            us = (r["received"] > 0) ? ticks * 1e6 / tck / r["received"] : 0
            sys_us = (r["received"] > 0) ? sys * 1e6 / tck / r["received"] : 0
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%.2f\n", tag, s, mix, run,
                r["qps"], r["received"], r["avg_us"], r["p50_us"], r["p99_us"], us,
                ticks / tck, r["lost"], r["nxdomain"], r["other_rcode"], sys_us }' >> "$RESULTS"
}

# ---------------------------------------------------------------- report
median_table() { "$HERE/summarize.sh" "$1" "$RESULTS"; }
latency_table() { "$HERE/summarize.sh" "$1" "$RESULTS"; }

# ---------------------------------------------------------------- main
install_peers
build
QDIR="$WORK/queries"
"$HERE/gen-queries.sh" "$QDIR" 2>/dev/null

echo "# steerdns load benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared; servers and blaster run at nice $NICE)"
echo "pinning: servers on core $SERVER_CPU, blaster on core $CLIENT_CPU; blaster $SOCKETS sockets x window $WINDOW; $RUNS runs x ${DUR}s per server and mix, servers alternated run by run"

if [ "$NICE" != 0 ] && [ -w /proc/self/autogroup ]; then
    AG_OLD="$(awk '{ print $NF }' /proc/self/autogroup)"
    echo "$NICE" > /proc/self/autogroup 2>/dev/null || AG_OLD=""
fi
ACTIVE=()
p=$BASE_PORT
for s in $SERVERS; do
    if start_server "$s" 1 "$p"; then
        ACTIVE+=("$s")
    fi
    p=$((p + 1))
done
echo "servers (1 worker each): $(for s in "${ACTIVE[@]}"; do printf '%s [127.0.0.1:%s] ' "${VERSION[$s]}" "${PORT[$s]}"; done)"
echo

if [ "$MEMORY" = 1 ]; then
    for s in "${ACTIVE[@]}"; do
        echo "RSS at start, $s (example zone$( [ "$s" = steerdns ] && echo ' + shipped GeoIP database')): $(rss_kb "${PID[$s]}") kB"
    done
fi

for mix in $MIXES; do
    for run in $(seq 1 "$RUNS"); do
        for s in "${ACTIVE[@]}"; do
            log "saturate: $mix run $run $s"
            run_one sat "$s" "$mix" "$run" -d "$DUR" -c "$SOCKETS" -w "$WINDOW"
        done
    done
done
echo
echo "## Saturation (blaster, 1 worker per server)"
median_table sat
echo

for mix in static steered; do
    case " $MIXES " in *" $mix "*) ;; *) continue ;; esac
    for run in $(seq 1 "$RUNS"); do
        for s in "${ACTIVE[@]}"; do
            log "latency at $RATE q/s: $mix run $run $s"
            run_one lat "$s" "$mix" "$run" -d "$LAT_DUR" -c 4 -w 64 -r "$RATE"
        done
    done
done
echo "## Latency at a fixed $RATE q/s (blaster, ${LAT_DUR}s runs)"
latency_table lat
echo

if [ "$MEMORY" = 1 ]; then
    for s in "${ACTIVE[@]}"; do
        echo "RSS after the runs, $s: $(rss_kb "${PID[$s]}") kB"
    done
    echo
fi

if [ "$PERF" = 1 ]; then
    echo "## perf: top symbols per server (cpu-clock samples during saturation run 1; [k] kernel)"
    for f in "$WORK"/perf-*.data; do
        [ -e "$f" ] || continue
        echo "### $(basename "$f" .data)"
        echo '```'
        perf report -i "$f" --no-children --sort dso,symbol --stdio 2>/dev/null \
            | grep -v '^#' | grep -v '^$' | head -30 | sed -E 's/ +- +- *$//' | cut -c1-150 || true
        echo '```'
    done
    echo
fi

if [ "$DNSPERF" = 1 ] && command -v dnsperf >/dev/null; then
    echo "## dnsperf (static A, ${DUR}s, 1 worker per server; dnsperf saturates at ~100-150k q/s here)"
    awk '{ print $1, $2 }' "$QDIR/static.q" > "$WORK/dnsperf.q"
    echo "| server | dnsperf QPS | avg latency | CPU us/query |"
    echo "|---|---|---|---|"
    for s in "${ACTIVE[@]}"; do
        read -r before _ <<< "$(cpu_ticks "${PID[$s]}")"
        out="$("${PIN_C[@]}" timeout $((DUR + 10)) dnsperf -s 127.0.0.1 -p "${PORT[$s]}" \
            -d "$WORK/dnsperf.q" -l "$DUR" -c 8 -q 500 -e -D 2>&1 || true)"
        read -r after _ <<< "$(cpu_ticks "${PID[$s]}")"
        echo "$out" | awk -v s="$s" -v t=$((after - before)) -v tck="$TCK" '
            /Queries completed:/ { done = $3 } /Queries per second:/ { q = $4 } /Average Latency/ { lat = $4 }
            END { printf "| %s | %.0f | %.0f us | %.2f |\n", s, q, lat * 1e6, (done > 0 ? t * 1e6 / tck / done : 0) }'
    done
    echo
fi

if [ "$DEFAULT_WORKERS" = 1 ]; then
    for s in "${ACTIVE[@]}"; do stop_server "$s"; done
    DEF=()
    p=$((BASE_PORT + 10))
    for s in "${ACTIVE[@]}"; do
        if start_server "$s" default "$p"; then DEF+=("$s"); fi
        p=$((p + 1))
    done
    for mix in static steered; do
        for s in "${DEF[@]}"; do
            log "default workers: $mix $s"
            run_one def "$s" "$mix" 1 -d "$DUR" -c "$SOCKETS" -w "$WINDOW"
        done
    done
    echo "## Default worker counts (one run each; servers still pinned to core $SERVER_CPU)"
    echo "(NSD: server-count 1; Knot: udp-workers = cores; gdnsd: udp_threads 2; steerdns: workers = 0 = cores)"
    median_table def
    echo
    for s in "${DEF[@]}"; do stop_server "$s"; done
fi

if [ "$MEMORY" = 1 ]; then
    mz="$WORK/zones-10k"
    mkdir -p "$mz" "$WORK/mem"
    cp "$ROOT/zones/"*.toml "$mz/"
    "$HERE/gen-zone-10k.sh" "$mz/many.example.test.toml" 10000
    steerdns_config "$WORK/mem" $((BASE_PORT + 20)) 1 "$mz"
    "${PIN_S[@]}" "$STEERDNS" serve -c "$WORK/mem/steerdns.toml" > "$WORK/mem/log" 2>&1 &
    PID[mem]=$!
    PIDS+=("$!")
    PORT[mem]=$((BASE_PORT + 20))
    if wait_ready mem; then
        awk 'BEGIN { srand(3); for (i = 0; i < 10000; i++) printf "s%d.many.example.test. A %d.%d.%d.0/24\n", i, 1 + int(rand() * 200), int(rand() * 256), int(rand() * 256) }' > "$QDIR/many.q"
        echo "RSS steerdns, example zone + 10k steered names + shipped GeoIP database, at start: $(rss_kb "${PID[mem]}") kB"
        run_one many mem many 1 -d 2 -c "$SOCKETS" -w "$WINDOW"
        echo "RSS steerdns, the same after 2 s of steered queries over the 10k names: $(rss_kb "${PID[mem]}") kB"
        awk -F'\t' '$1 == "many" { printf "  (those queries: %.0f q/s, %.2f us CPU/query, %s lost)\n", $5, $10, $12 }' "$RESULTS"
        echo "  peak during load (VmHWM): $(awk '/^VmHWM:/ { print $2 }' "/proc/${PID[mem]}/status") kB"
        # Reload (SIGHUP) of the same files: how long, and the memory after.
        t0="$(date +%s%N)"
        kill -HUP "${PID[mem]}"
        for _ in $(seq 1 300); do
            grep -q 'reload applied' "$WORK/mem/log" && break
            sleep 0.1
        done
        t1="$(date +%s%N)"
        if grep -q 'reload applied' "$WORK/mem/log"; then
            echo "reload (SIGHUP) with the 10k names: $(( (t1 - t0) / 1000000 )) ms; RSS after: $(rss_kb "${PID[mem]}") kB"
        else
            echo "reload (SIGHUP) with the 10k names: not applied within 30 s"
        fi
    else
        echo "steerdns with the 10k zone did not start:"; tail -5 "$WORK/mem/log"
    fi
    stop_server mem
fi

cp "$RESULTS" "${RESULTS_OUT:-/tmp/steerdns-bench-results.tsv}"
echo "raw rows (tag server mix run qps received avg p50 p99 cpu_us/q cpu_s lost nxdomain other kernel_us/q): ${RESULTS_OUT:-/tmp/steerdns-bench-results.tsv}"
