#!/usr/bin/env bash
# The run command: installs what is missing, starts DynamoDB Local (:8000) and moto (:5000),
# provisions the table, bus and sender, seeds the demo tenant, serves the API on :9000 with
# `cargo lambda watch`, starts the stream reader that delivers mail and events through the
# dispatcher and a webhook receiver (R38) on :9100, and prints how to call it. Ctrl-C stops
# everything it started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DDB_PORT="${DDB_PORT:-8000}" MOTO_PORT="${MOTO_PORT:-5000}" API_PORT="${API_PORT:-9000}"
RECEIVER_PORT="${RECEIVER_PORT:-9100}"
install_tools
LOGDIR="${LICENSING_RUN_LOGDIR:-$ROOT/target/run-logs}"
# LICENSING_CLOCK_FILE (README, "Rehearsing an outage"): the functions' clock runs at its offset.
if [ -n "${LICENSING_CLOCK_FILE:-}" ] && [ ! -s "$LICENSING_CLOCK_FILE" ]; then echo "+0" >"$LICENSING_CLOCK_FILE"; fi
mkdir -p "$LOGDIR"
trap 'log "stopping"; stop_all' EXIT
trap 'exit 0' INT TERM

# LICENSING_ENGINE=localstack: LocalStack on :4566 (LOCALSTACK_PORT) instead of DynamoDB Local.
if [ "$LICENSING_ENGINE" = localstack ]; then ENGINE_PORT="${LOCALSTACK_PORT:-4566}"; else ENGINE_PORT="$DDB_PORT"; fi
start_engines "$ENGINE_PORT" "$MOTO_PORT" "$LOGDIR"
export LICENSING_TABLE="${LICENSING_TABLE:-licensing}"
export LICENSING_JWT_SECRET="${LICENSING_JWT_SECRET:-local-dev-secret}"

log "provisioning and seeding the demo tenant"
cargo run --quiet --bin provision -- --table "$LICENSING_TABLE" \
  --bus "$LICENSING_EVENT_BUS" --queue licensing-events --from "$LICENSING_MAIL_FROM" --seed
build_web
log "building the functions and starting the local API (first build takes a few minutes)"
start_api "$API_PORT" "$LOGDIR"
start_stream_reader "http://127.0.0.1:$API_PORT" "$LOGDIR"
start_receiver "$RECEIVER_PORT" "$LOGDIR"

ADMIN=$(cargo run --quiet --bin token -- "$LICENSING_JWT_SECRET" ada acme)
OPERATOR=$(cargo run --quiet --bin token -- "$LICENSING_JWT_SECRET" operator-1 --operator)
API="http://127.0.0.1:$API_PORT"
if [ "$LICENSING_ENGINE" = localstack ]; then
  ENGINE_LINE="LocalStack     http://127.0.0.1:$ENGINE_PORT   (DynamoDB and its stream, EventBridge, SQS; table $LICENSING_TABLE)"
else
  ENGINE_LINE="DynamoDB Local http://127.0.0.1:$ENGINE_PORT   (table $LICENSING_TABLE)"
fi
CLOCK_LINE=""
if [ -n "${LICENSING_CLOCK_FILE:-}" ]; then
  CLOCK_LINE="  Clock          the functions' clock runs at the machine's $(cat "$LICENSING_CLOCK_FILE") (write an offset such as +54h to $LICENSING_CLOCK_FILE)
"
fi
cat <<MSG

The licensing service is running (logs in $LOGDIR/).
  Web page       $API/#token=$ADMIN
                 (signed in as the demo administrator Ada; the token leaves the address bar at once)
  API            $API
  $ENGINE_LINE
  moto           http://127.0.0.1:$MOTO_PORT   (mail: http://127.0.0.1:$MOTO_PORT/moto-api/data.json)
  Receiver       $LICENSING_TEST_WEBHOOK_RECEIVER   (webhooks, verified with the standardwebhooks library; what a box got: /_boxes/<box>)
$CLOCK_LINE
Tokens (valid 12 hours):
  ADMIN=$ADMIN
  OPERATOR=$OPERATOR

Try:
  curl -s -H "Authorization: Bearer \$ADMIN" $API/v1/account
  curl -s -H "Authorization: Bearer \$ADMIN" -H 'content-type: application/json' -d '{"licences": 1}' $API/v1/purchases/quotes
  curl -s -H "Authorization: Bearer \$ADMIN" -H 'Idempotency-Key: demo-1' -d '{"quote_id": "<quote_id from above>"}' $API/v1/purchases
  curl -s -H "Authorization: Bearer \$ADMIN" -H 'content-type: application/json' -d '{"name": "Entra ID"}' $API/v1/scim-tokens
                 (a provisioning token: an identity provider's SCIM base URL is $API/scim/v2)
  curl -s -H "Authorization: Bearer \$ADMIN" -H 'content-type: application/json' -d '{"url": "$LICENSING_TEST_WEBHOOK_RECEIVER/acme", "events": ["LicencesPurchased"]}' $API/v1/webhooks
  curl -s -X PUT -d '{"secrets": ["<secret from above>"]}' $LICENSING_TEST_WEBHOOK_RECEIVER/_boxes/acme
                 (an endpoint at the receiver, which then verifies what it gets: buy, then read $LICENSING_TEST_WEBHOOK_RECEIVER/_boxes/acme)

Press Ctrl-C to stop everything.
MSG
export ADMIN OPERATOR
wait
