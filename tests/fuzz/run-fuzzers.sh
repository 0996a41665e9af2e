#!/usr/bin/env bash
# run-fuzzers.sh SECONDS - runs every libFuzzer target built in
# tests/fuzz/ (of the current build directory, configured with
# --enable-fuzzing) for SECONDS each, two at a time, starting from the
# committed corpus; new inputs go to a scratch directory, not the tree.
# Exits non-zero if any target finds a crash, leak or broken invariant.
set -euo pipefail
secs=${1:-60}
src=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
targets=$(find tests/fuzz -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
[ -n "$targets" ] || { echo "run-fuzzers: no fuzz targets built here" >&2; exit 1; }
run_one() {
	t=$1; name=${t##*/fuzz_}
	mkdir -p "$scratch/$name"
	if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$scratch/$name-" "$scratch/$name" "$src/corpus/$name" \
		>"$scratch/$name.log" 2>&1; then
		echo "fuzz $name: ok ($(grep -E '^#[0-9]+.*DONE' "$scratch/$name.log" | tail -1))"
	else
		echo "fuzz $name: FAILED"; tail -40 "$scratch/$name.log"
		for a in "$scratch/$name"-*; do [ -f "$a" ] && { echo "reproducer $a:"; od -c "$a" | head -20; }; done
		return 1
	fi
}
export -f run_one; export secs src scratch
echo "$targets" | xargs -P2 -I{} bash -c 'run_one {}'
