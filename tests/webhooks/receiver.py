"""A webhook receiver as a customer would write one (R38): every delivery verified with the
published `standardwebhooks` library, never with this project's code, and deduplicated by its
`webhook-id`.

    .venv-webhooks/bin/python tests/webhooks/receiver.py [--port N]

Deliveries are POSTed to /<box> (a box per endpoint: a tenant's, a test's). A box answers
204 to a delivery it verified, 401 to one it could not, and whatever status it was told to
(an outage, 410 Gone). Its control routes, for tests and people:

    PUT /_boxes/<box>   {"secrets": ["whsec_…", …], "status": 204}   its secrets and its answer
    GET /_boxes/<box>   what it received: each delivery's id, type, whether it verified, and
                        whether its id had been taken before
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

BOXES = {}
LOCK = threading.Lock()


def box(name):
    return BOXES.setdefault(name, {"secrets": [], "status": 204, "received": [], "taken": set()})


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write("receiver: " + (format % args) + "\n")

    def answer(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read(self):
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def do_PUT(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "_boxes":
            return self.answer(404)
        settings = json.loads(self.read() or b"{}")
        with LOCK:
            b = box(parts[1])
            b["secrets"] = settings.get("secrets", b["secrets"])
            b["status"] = settings.get("status", b["status"])
        self.answer(204)

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "_boxes":
            return self.answer(404)
        with LOCK:
            b = box(parts[1])
            self.answer(200, {"received": list(b["received"]), "status": b["status"]})

    def do_POST(self):
        name = self.path.strip("/").split("/")[0]
        body = self.read().decode()
        headers = {k: v for k, v in self.headers.items()}
        with LOCK:
            b = box(name)
            secrets, status = list(b["secrets"]), b["status"]
        verified, error, payload = False, None, None
        for secret in secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
                break
            except Exception as e:  # the library's verification error, or a malformed header
                error = f"{type(e).__name__}: {e}"
        if not secrets:
            error = "no secret configured"
        webhook_id = headers.get("webhook-id") or headers.get("Webhook-Id")
        with LOCK:
            b = box(name)
            accepted = verified and 200 <= status < 300
            duplicate = accepted and webhook_id in b["taken"]
            b["received"].append({
                "id": webhook_id,
                "type": (payload or {}).get("type"),
                "verified": verified,
                "error": error,
                "answered": status if verified else 401,
                "duplicate": duplicate,
                "signatures": len((headers.get("webhook-signature") or "").split(" ")),
            })
            if accepted:
                b["taken"].add(webhook_id)
        self.answer(status if verified else 401, {"ok": verified})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
