#!/usr/bin/env bash
# The test command: installs what is missing, starts DynamoDB Local and moto on free ports,
# runs every test (unit, property, integration, end to end, browser), and stops what it started.
# LICENSING_ENGINE=localstack runs the integration and end-to-end suites against LocalStack
# instead (README, "Two engines"); what does not depend on the engine (lint, fuzzing, browser)
# runs in the default profile only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# A CI run builds once: incremental caches would add ~4 GB of target/ for nothing.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi

LOGDIR="$ROOT/target/test-logs"
[ "$LICENSING_ENGINE" = default ] || LOGDIR="$ROOT/target/test-logs-$LICENSING_ENGINE"
mkdir -p "$LOGDIR"
# Stopped from outside, the run ends (a trap alone would go on to the next step) and stops
# what it started on the way out.
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Clippy lints the workspace while it is built, not in a check of its own (docs/decisions/0015):
# every cargo command of this run, both profiles and the run command the rehearsal starts,
# compiles the workspace's crates with clippy-driver and its warnings denied, as
# `cargo clippy --workspace --all-targets -- -D warnings` would, so the dependencies are
# compiled once, not a second time for a check. The same driver everywhere, or cargo rebuilds.
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver || true)"
# Cargo takes an empty wrapper for none: the build would pass unlinted.
if [ ! -x "$RUSTC_WORKSPACE_WRAPPER" ]; then
  echo "clippy-driver not found (rustup component add clippy)" >&2
  exit 1
fi
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# The build needs nothing the installs bring: it starts first and runs beside them (they
# mostly wait on downloads), and is waited for before the first step that runs what it built.
start_bg "the build of the workspace and its tests, clippy's lints on, beside the installs" \
  "$LOGDIR/build.log" bash -c 'cargo test --workspace --quiet --no-run && cargo build --workspace --quiet --bins'
BUILD="${PIDS[-1]}"
await_build() {
  local ok=0
  wait "$BUILD" || ok=$?
  if [ "$ok" != 0 ]; then
    cat "$LOGDIR/build.log" >&2
    echo "the build failed (clippy's lints included; log $LOGDIR/build.log)" >&2
    exit 1
  fi
}

install_tools

ENGINE_PORT=$(free_port)
MOTO_PORT=$(free_port)
start_engines "$ENGINE_PORT" "$MOTO_PORT" "$LOGDIR"
export LICENSING_JWT_SECRET="test-secret-$(date +%s)"
export LICENSING_TEST_ENGINES=1
# The tests that need the engines or the local API are #[ignore]d (a bare `cargo test` lists
# them as ignored) and run here with --include-ignored; these few run alone after the others.
RUN_ALONE=(--skip the_sweeper_function --skip every_users_process_killed --skip each_functions_policy
  --skip r32_a_54_hour_mail_outage_through_the_run_command)
run_alone() {
  log "a function's processes killed at once, then the sweeper function end to end (it sweeps the whole table)"
  cargo test --workspace --quiet --test main every_users_process_killed -- --ignored
  cargo test --workspace --quiet --test main the_sweeper_function -- --ignored
}

# R32's done-when through the run command (tests/tests/outage.rs): ./scripts/up.sh with engines
# and ports of its own and its functions' clock in a file, which the test moves an hour at a time.
rehearse_outage() {
  local dir="$LOGDIR/outage" api_port moto_port up pid _ keep=()
  rm -rf "$dir" && mkdir -p "$dir"
  api_port=$(free_port)
  moto_port=$(free_port)
  start_bg "the run command for a 54-hour SES outage" "$dir/up.log" \
    env DDB_PORT="$(free_port)" MOTO_PORT="$moto_port" API_PORT="$api_port" RECEIVER_PORT="$(free_port)" LICENSING_TABLE=licensing \
    LICENSING_RUN_LOGDIR="$dir" LICENSING_CLOCK_FILE="$dir/clock" LICENSING_JWT_SECRET=outage-secret \
    LICENSING_MAIL_FROM=licensing@example.com "$ROOT/scripts/up.sh"
  up="${PIDS[-1]}"
  local ready=""
  for _ in $(seq 600); do
    if grep -q "Press Ctrl-C" "$dir/up.log"; then ready=1; break; fi
    running "$up" || { cat "$dir/up.log" >&2; echo "the run command exited" >&2; return 1; }
    sleep 0.5
  done
  if [ -z "$ready" ]; then
    cat "$dir/up.log" >&2
    echo "the run command was not ready within 300 s" >&2
    return 1
  fi
  LICENSING_API_URL="http://127.0.0.1:$api_port" LICENSING_JWT_SECRET=outage-secret \
    AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" LICENSING_CLOCK_FILE="$dir/clock" \
    LICENSING_MAIL_FROM=licensing@example.com cargo test --workspace --quiet --test main r32_a_54_hour_mail_outage_through_the_run_command \
    -- --ignored --nocapture
  # up.sh stops what it started on TERM (a background job ignores INT).
  kill -TERM -- "-$up" 2>/dev/null || true
  wait "$up" || true
  for pid in "${PIDS[@]}"; do [ "$pid" = "$up" ] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

if [ "$LICENSING_ENGINE" = localstack ]; then
  log "waiting for the build (log $LOGDIR/build.log)"
  await_build
  log "provisioning the end-to-end table on LocalStack and starting the local API"
  export LICENSING_TABLE="e2e-$(date +%s)"
  cargo run --quiet --bin provision -- --table "$LICENSING_TABLE" \
    --bus "$LICENSING_EVENT_BUS" --queue licensing-events --from "$LICENSING_MAIL_FROM"
  API_PORT=$(free_port)
  start_api "$API_PORT" "$LOGDIR"
  export LICENSING_API_URL="http://127.0.0.1:$API_PORT"
  start_stream_reader "$LICENSING_API_URL" "$LOGDIR"
  start_receiver "$(free_port)" "$LOGDIR"
  log "cargo test against LocalStack (integration and end to end; the size tests, the production month and the page's load run on DynamoDB Local only)"
  cargo test --workspace --quiet "$@" -- --include-ignored "${RUN_ALONE[@]}" \
    --skip size:: --skip month:: --skip front::the_pages_script
  log "SCIM conformance: scim2-tester against the local API's /scim/v2 (LocalStack)"
  scim_conformance "$LICENSING_API_URL" "$LICENSING_JWT_SECRET" "$LOGDIR"
  run_alone
  log "done (LocalStack profile); target/ holds $(du -sh target 2>/dev/null | cut -f1)"
  exit 0
fi
install_browser
prefetch_localstack "$LOGDIR/localstack-install.log"

log "cfn-lint infra/template.yaml"
"$VENV/bin/cfn-lint" infra/template.yaml
log "openapi-spec-validator openapi.yaml"
"$VENV/bin/openapi-spec-validator" openapi.yaml
log "sam validate --lint (offline)"
SAM_CLI_TELEMETRY=0 "$VENV/bin/sam" validate --lint --region eu-west-1 -t infra/template.yaml

log "cargo fmt --check"
cargo fmt --all -- --check

log "building the web page (type-checked)"
build_web

log "waiting for the build (log $LOGDIR/build.log)"
await_build

log "provisioning the end-to-end table and starting the local API"
export LICENSING_TABLE="e2e-$(date +%s)"
cargo run --quiet --bin provision -- --table "$LICENSING_TABLE" \
  --bus "$LICENSING_EVENT_BUS" --queue licensing-events --from "$LICENSING_MAIL_FROM"
API_PORT=$(free_port)
# The functions record the IAM actions of their AWS calls (checked against the template
# below); only the functions under watch, not the test binaries.
export LICENSING_RECORD_AWS_CALLS="$LOGDIR/aws-calls"
rm -rf "$LICENSING_RECORD_AWS_CALLS"
start_api "$API_PORT" "$LOGDIR"
unset LICENSING_RECORD_AWS_CALLS
export LICENSING_API_URL="http://127.0.0.1:$API_PORT"
start_stream_reader "$LICENSING_API_URL" "$LOGDIR"
start_receiver "$(free_port)" "$LOGDIR"

# The size tests (10 000 users, tables of their own) are the longest by far: started last in
# name order they held the pass up by two minutes, so they run from the start in a process
# of their own, beside the pass and the fuzzing, and are waited for after both.
cargo test --workspace --quiet --no-run
start_bg "the size tests (10 000 users) beside the rest" "$LOGDIR/size-tests.log" \
  cargo test --workspace --quiet --test main size:: -- --ignored
SIZE_TESTS="${PIDS[-1]}"
log "cargo test (every test, those that need the engines and the API included)"
cargo test --workspace --quiet "$@" -- --include-ignored "${RUN_ALONE[@]}" --skip size::

# The 54-hour rehearsal, mostly its own engines starting and a sweep an hour of a small table,
# runs beside the fuzzing (which waits on the local API): about 20 s the run does not add.
# Its own process list, so that what it started is stopped if it fails.
log "a 54-hour SES outage through the run command, its functions' clock moved (libfaketime), beside the fuzzing (log $LOGDIR/outage.log)"
( PIDS=(); trap stop_all EXIT; rehearse_outage ) >"$LOGDIR/outage.log" 2>&1 &
REHEARSAL=$!

log "SCIM conformance: scim2-tester against the local API's /scim/v2"
scim_conformance "$LICENSING_API_URL" "$LICENSING_JWT_SECRET" "$LOGDIR"

log "the contract fuzzed: schemathesis against openapi.yaml and the local API"
fuzz_contract "$LICENSING_API_URL" "$LICENSING_JWT_SECRET" "$LOGDIR"

log "waiting for the 54-hour outage rehearsal"
REHEARSAL_OK=0
wait "$REHEARSAL" || REHEARSAL_OK=$?
if [ "$REHEARSAL_OK" != 0 ]; then
  cat "$LOGDIR/outage.log" >&2
  echo "the 54-hour outage rehearsal failed" >&2
  exit 1
fi
grep -a "54-hour SES outage" "$LOGDIR/outage.log" >&2 || true

log "waiting for the size tests (log $LOGDIR/size-tests.log)"
SIZE_OK=0
wait "$SIZE_TESTS" || SIZE_OK=$?
# Waited for: stop_all must not signal a process-group id that may have been reused since.
KEEP=()
for pid in "${PIDS[@]}"; do [ "$pid" = "$SIZE_TESTS" ] || KEEP+=("$pid"); done
PIDS=("${KEEP[@]}")
if [ "$SIZE_OK" != 0 ]; then
  cat "$LOGDIR/size-tests.log" >&2
  echo "the size tests failed" >&2
  exit 1
fi
tail -n 3 "$LOGDIR/size-tests.log" >&2

# Before the sweep of the whole table, whose writes the local stream reader then reads for a
# minute: the page's webhook test waits for a delivery through it.
log "browser tests of the web page (Chromium, screenshots in target/browser-tests/)"
(cd web && npm test --silent)

run_alone

log "least privilege: each function's policy against the AWS calls it made"
LICENSING_RECORD_AWS_CALLS="$LOGDIR/aws-calls" \
  cargo test --workspace --quiet --test main each_functions_policy -- --ignored

await_localstack_prefetch
log "done; target/ holds $(du -sh target 2>/dev/null | cut -f1)"
