#!/usr/bin/env bash
# Builds the BigQuery emulator (github.com/goccy/bigquery-emulator, the
# version pinned by go.mod next to this script) once per machine, into
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/chorus-elt/bigquery-emulator/<key>/bigquery-emulator
#
# where <key> is the first 16 hex digits of the SHA-256 of go.sum, then
# GOOS-GOARCH (e.g. 3f2a…-linux-amd64): a version change changes go.sum and
# so builds anew. When the binary is there already, nothing is built.
# The tests compute the same path (warehouse/bqtest).
#
# The build compiles ~450 MB of generated Go: about 4-6 minutes on 2 cores,
# with a peak of ~6.4 GB of RAM (one compile of a generated package).
#
# Usage: build.sh              build if missing; print the binary's path
#        build.sh --print-path print the path only (build nothing)
# The path is the last line on stdout; progress and timing go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GO=${GO:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
pkg=github.com/goccy/bigquery-emulator/cmd/bigquery-emulator

sum=$( (command -v sha256sum >/dev/null && sha256sum "$here/go.sum" || shasum -a 256 "$here/go.sum") | cut -c1-16)
os=$("$GO" env GOOS)
arch=$("$GO" env GOARCH)
dir="${XDG_CACHE_HOME:-$HOME/.cache}/chorus-elt/bigquery-emulator/$sum-$os-$arch"
bin="$dir/bigquery-emulator"

if [ "${1:-}" = "--print-path" ]; then
	echo "$bin"
	exit 0
fi
if [ $# -gt 0 ]; then
	echo "usage: $0 [--print-path]" >&2
	exit 2
fi

mkdir -p "$dir"
# One build at a time per key (two test runs may ask at once).
if command -v flock >/dev/null; then
	exec 9>"$dir/.lock"
	flock 9
fi
if [ -x "$bin" ]; then
	echo "bigquery-emulator: already built" >&2
	echo "$bin"
	exit 0
fi

version=$(cd "$here" && "$GO" list -m -f '{{.Version}}' github.com/goccy/bigquery-emulator)
echo "bigquery-emulator: building $version into $dir (about 5 minutes on 2 cores, ~6.5 GB of RAM)…" >&2
tmp="$dir/.bigquery-emulator.$$"
trap 'rm -f "$tmp"' EXIT
start=$(date +%s)
(cd "$here" && "$GO" build -o "$tmp" "$pkg")
mv "$tmp" "$bin"
end=$(date +%s)
echo "bigquery-emulator: built in $((end - start))s ($(du -h "$bin" | cut -f1))" >&2
echo "$bin"
