#!/usr/bin/env bash
# Runs every fuzz target of the module's packages, one after the other, for
# $FUZZTIME each (default 10s; any value `go test -fuzztime` takes, e.g.
# 30s or 5000x). The committed seed corpora (testdata/fuzz/<FuzzName>/) run
# first, as they do on every `go test`. Exits non-zero when a target fails;
# the input that failed is then written to testdata/fuzz/<FuzzName>/ by Go.
#
#   FUZZTIME=60s .ci/fuzz.sh
#   FUZZ_PACKAGES="./explain" .ci/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-10s}
FUZZ_PACKAGES=${FUZZ_PACKAGES:-"./explain ./caddymodule"}

failed=()
ran=0
for pkg in $FUZZ_PACKAGES; do
	# the targets, as the test binary lists them
	if ! listing=$(go test -list '^Fuzz' "$pkg"); then
		echo "$listing" >&2
		echo "fuzz: cannot list the fuzz targets of $pkg" >&2
		exit 1
	fi
	targets=$(grep '^Fuzz' <<<"$listing" || true)
	if [ -z "$targets" ]; then
		echo "fuzz: no fuzz targets in $pkg" >&2
		exit 1
	fi
	for target in $targets; do
		echo "fuzz: $pkg $target for $FUZZTIME"
		ran=$((ran + 1))
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			failed+=("$pkg $target")
		fi
	done
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $ran targets failed:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: all $ran targets passed"
