#!/usr/bin/env bash
# Writes the blaster query files for benches/load/run.sh into DIR (default: ./queries):
#   static.q    static A records (static, ns1, ns2, mx1)
#   steered.q   www A with ECS from 4096 different /24s spread over the IPv4 space (fixed seed)
#   nxdomain.q  1000 different names that do not exist
#   mix.q       40% static A, 40% steered A+ECS, 10% NXDOMAIN, 10% other (AAAA, MX, TXT, wildcard, CNAME)
# Format, one query a line: NAME TYPE [ECS-SUBNET]
set -euo pipefail
dir="${1:-$(dirname "$0")/queries}"
mkdir -p "$dir"
z=gslb.example.test.
printf '%s A\n' "static.$z" "ns1.$z" "ns2.$z" "mx1.$z" > "$dir/static.q"
awk -v z="$z" 'BEGIN { srand(6); n = 0;
  while (n < 4096) { a = int(1 + rand() * 223); if (a == 10 || a == 127 || a == 0) continue;
    printf "www.%s A %d.%d.%d.0/24\n", z, a, int(rand()*256), int(rand()*256); n++ } }' > "$dir/steered.q"
awk -v z="$z" 'BEGIN { for (i = 0; i < 1000; i++) printf "nx%d.%s A\n", i, z }' > "$dir/nxdomain.q"
awk -v z="$z" -v sf="$dir/steered.q" -v nf="$dir/nxdomain.q" 'BEGIN {
  srand(7); s = 0; while ((getline l < sf) > 0) st[s++] = l;
  x = 0; while ((getline l < nf) > 0) nx[x++] = l;
  split("static ns1 ns2 mx1", stat, " ");
  split("ns1 AAAA|@ MX|@ TXT|a.wild A|alias A|@ SOA|www AAAA|api A", oth, "|");
  for (i = 0; i < 10000; i++) { r = i % 10;
    if (r < 4) printf "%s.%s A\n", stat[1 + i % 4], z;
    else if (r < 8) print st[(i * 7) % s];
    else if (r == 8) print nx[i % x];
    else { split(oth[1 + int(i / 10) % 8], f, " "); nm = (f[1] == "@") ? z : f[1] "." z; print nm, f[2] } } }' > "$dir/mix.q"
wc -l "$dir"/*.q | tail -1 >&2
