"""Schemathesis hooks for the contract fuzzing in scripts/test.sh.

One exclusion, and only one: the local router's own answer to a request body that is not
UTF-8. `cargo lambda watch` (1.9.2) answers such a body with a text/plain 500 before any
function runs; API Gateway hands the function the body base64-encoded, and the function
answers 400 problem+json (the handler tests `a_body_that_is_not_utf8_*` check that). Every
other failure, on any request, fails the run.

It also keeps the fuzzer from locking out its own caller: it never deactivates the user whose
token it sends (`LICENSING_FUZZ_CALLER`). Deactivating oneself when another administrator
exists is allowed (200), but every later request would be a 403 and test nothing; the
last-administrator guard has its own tests.
"""

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
    log = os.environ.get("LICENSING_FUZZ_EXCLUDED")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{case.operation.label}: {failure.title}\n")
    return False


@schemathesis.hook
def filter_case(context, case):
    caller = os.environ.get("LICENSING_FUZZ_CALLER")
    deactivates_caller = (
        case.operation.label == "POST /v1/users/{id}/deactivate"
        and (case.path_parameters or {}).get("id") == caller
    )
    return not deactivates_caller
