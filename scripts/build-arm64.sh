#!/usr/bin/env bash
# The deploy build: every function for AWS Lambda (arm64, release profile), one at a time so
# each links only its own features, then each bootstrap's size against its target
# (status ≤ 5 MB, the others ≤ 8 MB; MB = 10^6 bytes). Not part of the test command: a cold build takes minutes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
install_tools

status=0
for f in status purchase downscale users tenants sweeper dispatcher webhooks; do
  log "cargo lambda build --release --arm64 -p $f"
  "$VENV/bin/cargo-lambda" lambda build --release --arm64 -p "$f" --quiet
done
printf '\n%-10s %12s %8s\n' function bytes target
for f in status purchase downscale users tenants sweeper dispatcher webhooks; do
  size=$(stat -c %s "target/lambda/$f/bootstrap")
  limit=$([ "$f" = status ] && echo 5000000 || echo 8000000)
  verdict=ok
  if [ "$size" -gt "$limit" ]; then verdict=OVER; status=1; fi
  printf '%-10s %12s %8s %s\n' "$f" "$size" "$((limit / 1000000)) MB" "$verdict"
done
exit "$status"
