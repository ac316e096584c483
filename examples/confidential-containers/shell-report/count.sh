#!/bin/sh
# An ordinary shell program: counts the lines of an input file, reports with an API token taken from
# the environment, and keeps a run counter in a state directory. It knows nothing about enclaves.
# Under `ccnodes container run`: API_TOKEN is released after attestation, the input is decrypted
# into the private directory, and STATE_DIR is the sealed state (encrypted at rest to this app).
set -eu
: "${API_TOKEN:?API_TOKEN is not set}"
: "${INPUT:?INPUT is not set}"
: "${STATE_DIR:?STATE_DIR is not set}"
lines=$(wc -l < "$INPUT" | tr -d ' ')
runs=0
if [ -f "$STATE_DIR/runs" ]; then runs=$(cat "$STATE_DIR/runs"); fi
runs=$((runs + 1))
echo "$runs" > "$STATE_DIR/runs"
token_hash=$(printf '%s' "$API_TOKEN" | sha256sum | cut -d' ' -f1)
echo "count: $lines lines, run $runs" >&2
if [ -n "${RESULT_FILE:-}" ]; then
  printf 'lines=%s runs=%s token_sha256=%s\n' "$lines" "$runs" "$token_hash" > "$RESULT_FILE"
fi
exit "${EXIT_STATUS:-0}"
