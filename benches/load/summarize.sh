#!/usr/bin/env bash
# Prints the tables of benches/load/run.sh from its raw rows (one or more TSV files, e.g. the
# results of several run.sh invocations pooled):
#   summarize.sh sat|def|lat FILE.tsv [FILE.tsv...]
# Row format (tab-separated): tag server mix run qps received avg_us p50_us p99_us
# cpu_us_per_query cpu_seconds lost nxdomain other_rcode [kernel_us_per_query] (the last
# column is absent in files from before 2026-12-01 run 7; the table then shows "-"). DUR (seconds per run, default 5) and
# RATE (latency runs) only label columns.
set -euo pipefail
tag="${1:?usage: summarize.sh sat|def|lat FILE.tsv...}"
shift
DUR="${DUR:-5}"
LAT_DUR="${LAT_DUR:-3}"
RATE="${RATE:-20000}"
median_table() {
    local t="$1"
    shift
    # $1 = tag
    awk -F'\t' -v tag="$t" '
        $1 == tag { k = $3 SUBSEP $2; n[k]++; q[k, n[k]] = $5; cpu[k, n[k]] = $10; sys[k, n[k]] = $15; if ($15 == "") nosys[k] = 1
            lat[k] += $7; p99[k, n[k]] = $9; lost[k] += $12; busy[k] += $11
            if (!(($3) in seenm)) { seenm[$3] = 1; mixes[++nm] = $3 }
            if (!(($2) in seens)) { seens[$2] = 1; servers[++ns] = $2 } }
        function med(arr, k, cnt,   i, j, t, v) {
            for (i = 1; i <= cnt; i++) v[i] = arr[k, i] + 0
            for (i = 1; i <= cnt; i++) for (j = i + 1; j <= cnt; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            lo = v[1]; hi = v[cnt]
            return (cnt % 2) ? v[(cnt + 1) / 2] : (v[cnt / 2] + v[cnt / 2 + 1]) / 2 }
        END {
            printf "| mix | server | QPS median | QPS min-max | CPU us/query (median, min-max) | of which kernel | server CPU busy | lat avg us | p99 us (median) | lost | vs NSD |\n"
            printf "|---|---|---|---|---|---|---|---|---|---|---|\n"
            for (m = 1; m <= nm; m++) {
                nsdk = mixes[m] SUBSEP "nsd"; nsdq = (nsdk in n) ? med(q, nsdk, n[nsdk]) : 0
                for (s = 1; s <= ns; s++) { k = mixes[m] SUBSEP servers[s]; if (!(k in n)) continue
                    qm = med(q, k, n[k]); qlo = lo; qhi = hi
                    cm = med(cpu, k, n[k]); clo = lo; chi = hi
                    pm = med(p99, k, n[k])
                    km = (k in nosys) ? "-" : sprintf("%.2f", med(sys, k, n[k]))
                    ratio = nsdq > 0 ? sprintf("%.2fx", qm / nsdq) : "-"
                    printf "| %s | %s | %.0fk | %.0fk-%.0fk | %.2f (%.2f-%.2f) | %s | %.0f%% | %.1f | %.1f | %d | %s |\n",
                        mixes[m], servers[s], qm / 1000, qlo / 1000, qhi / 1000, cm, clo, chi, km,
                        100 * busy[k] / n[k] / dur, lat[k] / n[k], pm, lost[k], ratio } } }' dur="$DUR" "$@"
}

latency_table() {
    local t="$1"
    shift
    awk -F'\t' -v tag="$t" '
        $1 == tag { k = $3 "\t" $2; n[k]++; p50[k] = p50[k] " " $8; p99[k] = p99[k] " " $9; avg[k] += $7; cpu[k] += $10
            if (!(k in seen)) { seen[k] = 1; keys[++nk] = k } }
        END { printf "| mix | server | offered q/s | avg us | p50 us (runs) | p99 us (runs) | CPU us/query |\n|---|---|---|---|---|---|---|\n"
            for (i = 1; i <= nk; i++) { k = keys[i]; split(k, f, "\t")
                printf "| %s | %s | %s | %.1f |%s |%s | %.2f |\n", f[1], f[2], rate, avg[k] / n[k], p50[k], p99[k], cpu[k] / n[k] } }' rate="$RATE" "$@"
}


case "$tag" in
lat) latency_table "$tag" "$@" ;;
*) median_table "$tag" "$@" ;;
esac
