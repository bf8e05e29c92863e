"""RFC 7643/7644 conformance of the local API's /scim/v2 with scim2-tester (R34).

Usage: conformance.py BASE_URL TOKEN. Runs every check scim2-tester has for the resource types
the server declares, prints each result, and exits 1 if any check errs, except the ones named
in EXCLUDED with their reason. A check that was skipped is printed and counted, never passed
silently: the run fails if any is skipped that is not excluded.
"""

import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

# Check title -> why it does not apply here. Kept empty unless a check cannot pass for a reason
# the service chose; each entry is printed on every run.
EXCLUDED: dict[str, str] = {}


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    client = SyncSCIMClient(
        Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    )
    # Discovery first: without it, check_server would stop after discovery and report only
    # what it ran (the resource checks would never run).
    client.discover()
    results = check_server(client)
    counts: dict[str, int] = {}
    failed = []
    for r in results:
        counts[r.status.name] = counts.get(r.status.name, 0) + 1
        excluded = EXCLUDED.get(r.title)
        print(f"{r.status.name:8} {r.resource_type or '-':5} {r.title} {r.reason or ''}"
              + (f" [excluded: {excluded}]" if excluded else ""))
        if r.status not in (Status.SUCCESS,) and not excluded:
            failed.append(r)
    resource_checks = [r for r in results if r.resource_type == "User"]
    print(f"scim2-tester: {len(results)} checks, {counts}; {len(resource_checks)} on User")
    if len(resource_checks) < 20:
        print("too few User checks ran: discovery did not reach the resource checks")
        return 1
    for r in failed:
        print(f"FAILED {r.title}: {r.reason}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
