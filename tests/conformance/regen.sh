#!/usr/bin/env bash
# Regenerates tests/conformance/knot-answers.json: Knot DNS's answers to the
# conformance suite (tests/support/conformance.rs) for
# tests/conformance/gslb.example.test.zone.
#
#   tests/conformance/regen.sh
#
# Installs Knot from Debian's packages if knotd is missing (needs root or
# password-less sudo), starts it on a free 127.0.0.1 port in a temporary
# directory, captures the answers with `cargo run --example conformance_capture`,
# and stops knotd on exit. Commit the new fixture together with the change that
# made it necessary (zone file or query list).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=tests/conformance/knot.sh
source "$here/knot.sh"

if ! knot_install; then
    echo "error: Knot DNS is needed to regenerate the fixture" >&2
    exit 1
fi

trap knot_stop EXIT
knot_start

out="$here/knot-answers.json"
tmp="$(mktemp "$here/.knot-answers.XXXXXX")"
trap 'rm -f "$tmp"; knot_stop' EXIT
(cd "$repo" && cargo run --quiet --example conformance_capture -- \
    --fixture "Knot DNS $KNOT_VERSION" "$KNOT_ADDR") >"$tmp"
chmod 0644 "$tmp"
mv "$tmp" "$out"
echo "wrote $out (Knot DNS $KNOT_VERSION, $(grep -c '"id":' "$out") queries)" >&2
