#!/usr/bin/env bash
# Replace geoip/geo-whois-asn-country.mmdb with the one in the latest (or a given) version of
# the npm package @ip-location-db/geo-whois-asn-country-mmdb, then print its build date.
#
#   geoip/refresh.sh                 # latest version
#   geoip/refresh.sh 2.3.2026061719  # a given version
#
# The new file is checked (MaxMind DB metadata marker, database type, ip_version) and written
# beside the old one, then renamed over it: a server reading the old file never sees a
# half-written one (steerdns reads the database whole at start and on reload anyway).
# Needs: npm (and node, which npm brings), tar.
#
# After a refresh: update the version and build date in geoip/README.md (a test checks the
# date), run `cargo test --test geo_shipped`, and reload the server (`steerdns reload`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
package="@ip-location-db/geo-whois-asn-country-mmdb"
file="geo-whois-asn-country.mmdb"
spec="${package}${1:+@$1}"

work="$(mktemp -d)"
tmp=""
trap 'rm -rf "$work"; [ -z "$tmp" ] || rm -f "$tmp"' EXIT

echo "fetching ${spec} ..." >&2
tarball="$(cd "$work" && npm pack --silent "$spec" | tail -n 1)"
tar -xzf "$work/$tarball" -C "$work" "package/$file" package/package.json

# Read the package version and the database metadata (format: MaxMind DB spec 2.0, the map
# after the last "\xAB\xCD\xEFMaxMind.com").
summary="$(node - "$work/package/$file" "$work/package/package.json" <<'JS'
const fs = require("fs");
const [db, pkg] = process.argv.slice(2);
const buf = fs.readFileSync(db);
const marker = Buffer.concat([Buffer.from([0xab, 0xcd, 0xef]), Buffer.from("MaxMind.com")]);
const at = buf.lastIndexOf(marker);
if (at < 0) { console.error(`${db}: no MaxMind DB metadata marker`); process.exit(1); }
const base = at + marker.length;
let p = base;
function value() {
  const ctrl = buf[p++];
  let type = ctrl >> 5;
  if (type === 1) {                       // pointer, relative to the metadata start
    const ss = (ctrl >> 3) & 3, v = ctrl & 7;
    let off = [() => (v << 8) | buf[p], () => ((v << 16) | buf.readUInt16BE(p)) + 2048,
               () => ((v << 24) | buf.readUIntBE(p, 3)) + 526336, () => buf.readUInt32BE(p)][ss]();
    p += ss + 1;
    const back = p; p = base + off; const r = value(); p = back; return r;
  }
  if (type === 0) type = 7 + buf[p++];    // extended type
  let size = ctrl & 0x1f;
  if (size === 29) size = 29 + buf[p++];
  else if (size === 30) { size = 285 + buf.readUInt16BE(p); p += 2; }
  else if (size === 31) { size = 65821 + buf.readUIntBE(p, 3); p += 3; }
  const uint = () => { let v = 0; for (let i = 0; i < size; i++) v = v * 256 + buf[p++]; return v; };
  switch (type) {
    case 2: { const s = buf.toString("utf8", p, p + size); p += size; return s; }
    case 3: { const d = buf.readDoubleBE(p); p += 8; return d; }
    case 4: { p += size; return null; }
    case 5: case 6: case 9: case 10: return uint();
    case 7: { const o = {}; for (let i = 0; i < size; i++) { const k = value(); o[k] = value(); } return o; }
    case 8: { let v = 0; for (let i = 0; i < size; i++) v = (v << 8) | buf[p++]; return v | 0; }
    case 11: { const a = []; for (let i = 0; i < size; i++) a.push(value()); return a; }
    case 14: return size !== 0;
    case 15: { const f = buf.readFloatBE(p); p += 4; return f; }
    default: throw new Error(`unexpected MaxMind DB type ${type}`);
  }
}
const m = value();
if (typeof m.build_epoch !== "number" || ![4, 6].includes(m.ip_version) || !m.node_count) {
  console.error(`${db}: metadata incomplete: ${JSON.stringify(m)}`); process.exit(1);
}
const version = JSON.parse(fs.readFileSync(pkg, "utf8")).version;
const built = new Date(m.build_epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
console.log(`version ${version}, database_type ${JSON.stringify(m.database_type)}, ` +
            `IPv${m.ip_version}, built ${built}, ${buf.length} bytes`);
JS
)"

# Write beside, then rename over the old file (atomic on the same filesystem).
tmp="$(mktemp "$here/.${file}.XXXXXX")"
cp "$work/package/$file" "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" "$here/$file"
tmp=""

echo "geoip/$file: $summary"
echo "now update the version and build date in geoip/README.md" >&2
