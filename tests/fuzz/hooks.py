"""Schemathesis hooks for the contract fuzzing in scripts/test.sh.

One exclusion, the local router's own text/plain 500 to a request body that is not UTF-8:
`cargo lambda watch` (1.9.2) cannot put such a body in the event it builds and answers before
any function runs; API Gateway hands the function the body base64-encoded, and the function
answers 400 problem+json (the handler tests `a_body_that_is_not_utf8_*` check that). Each
exclusion is logged to LICENSING_FUZZ_EXCLUDED. Every other failure fails the run: every other
answer is the function's own (the local front, docs/decisions/0007).

It sends a batch of users with at most three entries (`before_call`, below). A schema-valid
user to create gets a fresh user id and idempotency key (the generator repeats short values,
so most were taken: 409, 422), and every other one the run's roles and modules; every other
schema-valid settings change is sent to the run's own tenant (`LICENSING_FUZZ_TENANT`). So
their success paths are fuzzed too, while the other cases still meet the 404 and 422 a random
name gets. And it keeps the fuzzer from locking out its own caller: it never deactivates the
user whose token it sends (`LICENSING_FUZZ_CALLER`). Deactivating oneself when another
administrator exists is allowed (200), but every later request would be a 403 and test
nothing; the last-administrator guard has its own tests. Likewise it never terminates the
run's tenant (`LICENSING_FUZZ_TENANT`, whose id the fuzzer learns from the settings' answer):
every later settings change would be a 422; terminating has its own tests.
"""

import itertools
import os

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


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if not _is_routers_non_utf8_answer(response):
        return True
    why = "body not UTF-8"
    log = os.environ.get("LICENSING_FUZZ_EXCLUDED")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{case.operation.label}: {failure.title} ({why})\n")
    return False


@schemathesis.hook
def filter_case(context, case):
    caller = os.environ.get("LICENSING_FUZZ_CALLER")
    target = (case.path_parameters or {}).get("id")
    deactivates_caller = (
        case.operation.label == "POST /v1/users/{id}/deactivate" and target == caller
    )
    terminates_run = (
        case.operation.label == "POST /v1/tenants/{id}/terminate"
        and target == os.environ.get("LICENSING_FUZZ_TENANT")
    )
    return not (deactivates_caller or terminates_run)


# A batch of users is sent with at most this many entries: the contract's limit (500) is
# tested by the integration and end-to-end tests, and through the local API each user's
# event is delivered to moto inside the request (~16 ms each), so hundreds of full-size
# batches would take minutes and grow the run's tenant by tens of thousands of users.
BATCH_ENTRIES = 3


# What exists in the run's tenant (scripts/lib.sh, fuzz_contract): its built-in roles and its
# one module pool.
ROLES = ("administrator", "user")
MODULES = ("crm",)
_turns = itertools.count(1)
# The generator repeats short values ("0", "00"): most user ids it draws exist already (409)
# and most keys were sent before with another body (422 idempotency_key_reused).
_fresh = itertools.count()


def _positive(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


def _every_other() -> bool:
    return next(_turns) % 2 == 0


def _existing_names(case) -> None:
    """A random role, module or tenant id, or a repeated user id or key, is refused before
    the logic behind it runs (422, 404, 409): see the module's doc. Fresh values are
    deterministic, as the run's seed is."""
    label = case.operation.label
    body = case.body
    if label == "POST /v1/users" and isinstance(body, dict):
        n = next(_fresh)
        if isinstance(body.get("user_id"), str):
            body["user_id"] = f"{body['user_id'][:40]}-fz{n}"
        if isinstance(case.headers, dict) and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = f"fuzz-key-{n}"
        if _every_other():
            if isinstance(body.get("role"), str) and body["role"] not in ROLES:
                body["role"] = ROLES[n % len(ROLES)]
            if isinstance(body.get("modules"), list):
                body["modules"] = [m for m in body["modules"] if m in MODULES]
    elif label == "PUT /v1/tenants/{id}/settings" and _every_other():
        tenant = os.environ.get("LICENSING_FUZZ_TENANT")
        if tenant and isinstance(case.path_parameters, dict):
            case.path_parameters["id"] = tenant


@schemathesis.hook
def before_call(context, case, kwargs):
    if _positive(case):
        _existing_names(case)
    body = case.body
    if (
        case.operation.label == "POST /v1/users/batch"
        and isinstance(body, dict)
        and isinstance(body.get("users"), list)
        and 1 <= len(body["users"]) <= 500
    ):
        body["users"] = body["users"][:BATCH_ENTRIES]
