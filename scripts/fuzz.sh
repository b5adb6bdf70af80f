#!/bin/sh
# fuzz.sh TARGET PACKAGE FUZZTIME: fuzzes TARGET in PACKAGE for FUZZTIME.
#
# go1.26's fuzzing coordinator can report a bare "context deadline
# exceeded" as the -fuzztime window closes, with no failing input found
# (go.dev/issue/75804, fixed in go1.27). Such a run is a pass if it wrote
# no new input under testdata/fuzz and the corpus still passes when
# replayed; any other failure fails.
set -u
GO=${GO:-go}
target=$1 pkg=$2 fuzztime=$3
corpus="$pkg/testdata/fuzz/$target"
before=$(ls "$corpus" 2>/dev/null | sort)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if "$GO" test -run='^$' -fuzz="^$target\$" -fuzztime="$fuzztime" "$pkg" >"$out" 2>&1; then
	cat "$out"
	exit 0
fi
cat "$out"
after=$(ls "$corpus" 2>/dev/null | sort)
if [ "$before" = "$after" ] && tail -n 5 "$out" | grep -q '^    context deadline exceeded$'; then
	echo "fuzz.sh: $target: the go1.26 fuzztime race (go.dev/issue/75804), no input written; replaying the corpus"
	exec "$GO" test -run="^$target\$" "$pkg"
fi
exit 1
