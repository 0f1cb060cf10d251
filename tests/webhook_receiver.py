"""A channel's webhook endpoint for the tests, on 127.0.0.1: it can fail, time out, answer slowly and restart.

Every request is kept (key, body, whether its signature verified, what was answered); `accepted()`
is what a receiver that drops a key it has seen would have taken in, in the order it took it.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from app.domain import channels as rules


class Receiver:
    def __init__(self, secrets: dict[str, str], port: int = 0):
        self.secrets = secrets  # channel code -> its secret
        self.mode = "ok"  # ok | fail | timeout
        self.delay = 0.0  # seconds before answering ("slow")
        self.hang = 1.0  # seconds a "timeout" answer sleeps before answering 200 (too late for the sender)
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.port = port
        self.server = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    channel = json.loads(body)["channel"]
                except (ValueError, KeyError):
                    channel = None
                signed = rules.verify(receiver.secrets.get(channel, ""), body,
                                      self.headers.get(rules.SIGNATURE_HEADER, ""))
                mode, delay = receiver.mode, receiver.delay
                if delay:
                    time.sleep(delay)
                status = {"ok": 200, "fail": 503, "timeout": 200}[mode]
                with receiver.lock:
                    receiver.requests.append({"key": self.headers.get(rules.KEY_HEADER), "body": json.loads(body),
                                              "signed": signed, "status": status, "mode": mode})
                if mode == "timeout":
                    time.sleep(receiver.hang)  # taken in, but answered after the sender gave up
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: nothing listens on the port (a refused connection) until start()."""
        self.server.shutdown()
        self.server.server_close()

    def restart(self) -> None:
        self.stop()
        self.start()

    def accepted(self) -> list[dict]:
        """The bodies a receiver keeping what it answered 2xx to, and dropping keys seen, took in, in order."""
        seen, kept = set(), []
        with self.lock:
            for r in self.requests:
                if r["status"] < 300 and r["key"] not in seen:
                    seen.add(r["key"])
                    kept.append(r["body"])
        return kept
