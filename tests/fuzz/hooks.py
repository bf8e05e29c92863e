"""Schemathesis hooks for the contract fuzzing in scripts/test.sh.

Two exclusions, both the local router's own text/plain 500, never a function's answer (the
functions answer problem+json):
- a request body that is not UTF-8: `cargo lambda watch` (1.9.2) answers it before any
  function runs; API Gateway hands the function the body base64-encoded, and the function
  answers 400 problem+json (the handler tests `a_body_that_is_not_utf8_*` check that);
- a GET whose successful answer the router replaced with its 500 (README, "Known limits"):
  the same request is sent again, once, and excluded only if that answer is not a 5xx.
Each exclusion is logged to LICENSING_FUZZ_EXCLUDED. Every other failure fails the run.

It sends a batch of users with at most three entries (`before_call`, below), and it keeps
the fuzzer from locking out its own caller: it never deactivates the user whose
token it sends (`LICENSING_FUZZ_CALLER`). Deactivating oneself when another administrator
exists is allowed (200), but every later request would be a 403 and test nothing; the
last-administrator guard has its own tests.
"""

import os

import requests
import schemathesis


def _is_routers_non_utf8_answer(response) -> bool:
    body = response.request.body
    if isinstance(body, str) or body is None:
        return False
    try:
        bytes(body).decode("utf-8")
        return False
    except UnicodeDecodeError:
        pass
    content_type = ",".join(response.headers.get("content-type", []))
    return response.status_code == 500 and content_type.startswith("text/plain")


ROUTER_500 = '{"type":"https://httpstatuses.com/500","status":500,"title":"Internal Server Error"}'


def _is_routers_flaky_get(response) -> bool:
    """The router's 500 on a GET, confirmed by the same request answering without one."""
    content_type = ",".join(response.headers.get("content-type", []))
    if not (
        response.request.method == "GET"
        and response.status_code == 500
        and content_type.startswith("text/plain")
        and response.content.decode("utf-8", "replace").strip() == ROUTER_500
    ):
        return False
    again = requests.Session().send(response.request, timeout=30)
    return again.status_code < 500


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if _is_routers_non_utf8_answer(response):
        why = "body not UTF-8"
    elif _is_routers_flaky_get(response):
        why = "router 500 on a GET, answered when sent again"
    else:
        return True
    log = os.environ.get("LICENSING_FUZZ_EXCLUDED")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{case.operation.label}: {failure.title} ({why})\n")
    return False


@schemathesis.hook
def filter_case(context, case):
    caller = os.environ.get("LICENSING_FUZZ_CALLER")
    deactivates_caller = (
        case.operation.label == "POST /v1/users/{id}/deactivate"
        and (case.path_parameters or {}).get("id") == caller
    )
    return not deactivates_caller


# A batch of users is sent with at most this many entries: the contract's limit (500) is
# tested by the integration and end-to-end tests, and through the local API each user's
# event is delivered to moto inside the request (~16 ms each), so hundreds of full-size
# batches would take minutes and grow the run's tenant by tens of thousands of users.
BATCH_ENTRIES = 3


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if (
        case.operation.label == "POST /v1/users/batch"
        and isinstance(body, dict)
        and isinstance(body.get("users"), list)
        and 1 <= len(body["users"]) <= 500
    ):
        body["users"] = body["users"][:BATCH_ENTRIES]

