#!/usr/bin/env bash
# Runs one test file n times in a row, each run with its own CCNODES_TEST_SEED (first, first+1, …),
# and stops at the first failure, printing its seed and the command that reproduces it.
#
#   scripts/repeat-test.sh <n> <test file> [first seed, default 1]
#
# Exit 0 when all n runs pass, 1 at the first failing run, 2 on bad usage.
set -euo pipefail
if [ $# -lt 2 ] || ! [[ "$1" =~ ^[1-9][0-9]*$ ]] || [ ! -f "$2" ]; then
  echo "usage: $0 <n> <test file> [first seed]" >&2
  exit 2
fi
n=$1
file=$2
first=${3:-1}
if ! [[ "$first" =~ ^[0-9]+$ ]]; then
  echo "$0: first seed must be a decimal integer" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
for ((i = 0; i < n; i++)); do
  seed=$((first + i))
  if ! CCNODES_TEST_SEED=$seed node --import tsx --test "$file" >"$log" 2>&1; then
    tail -n 60 "$log"
    echo "FAILED: run $((i + 1)) of $n, seed $seed"
    echo "rerun: CCNODES_TEST_SEED=$seed node --import tsx --test $file"
    exit 1
  fi
  if (((i + 1) % 50 == 0)); then echo "$((i + 1))/$n passed ($(($(date +%s) - start))s)"; fi
done
echo "all $n runs passed: $file, seeds $first..$((first + n - 1)), $(($(date +%s) - start))s"
