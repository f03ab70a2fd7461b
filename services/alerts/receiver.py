"""A small webhook receiver for alert notifications (``richness alerts receive``, the demo, the
tests, and docker-compose's ``alert-log``): it accepts Grafana's, Alertmanager's and the local
watcher's webhook bodies, keeps them, and shows each as people would read it.

Grafana's and the watcher's bodies carry the rendered ``title`` and ``message``; Alertmanager's
carry only the alerts, so the receiver renders the project's notification template for them. The
standard library's threaded HTTP server is enough for a handful of notifications; bodies are
limited in size and must be JSON objects.
"""
from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from shared.alerting.gotemplate import TemplateError, render
from shared.alerting.notifications import MESSAGE, TITLE

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Received:
    path: str
    payload: dict[str, Any]


def describe(payload: dict[str, Any], templates: str | None = None) -> tuple[str, str]:
    """Title and message of a notification body (rendered with ``templates`` when it has none)."""
    title, message = payload.get("title"), payload.get("message")
    if (title is None or message is None) and templates:
        try:
            title = render(templates, TITLE, payload) if title is None else title
            message = render(templates, MESSAGE, payload) if message is None else message
        except TemplateError as exc:
            message = f"(cannot render the notification template: {exc})"
    alerts = payload.get("alerts") or []
    if title is None:
        title = f"[{str(payload.get('status', '?')).upper()}:{len(alerts)}]"
    if message is None:
        message = "\n".join(a.get("annotations", {}).get("summary", "") for a in alerts)
    return str(title), str(message)


class WebhookReceiver:
    """An HTTP server on ``host:port`` (0: a free port) in a background thread, keeping every
    notification posted to it, in arrival order. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 on_receive: Callable[[Received], None] | None = None):
        self.received: list[Received] = []
        self._condition = threading.Condition()
        self._on_receive = on_receive
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    return self._answer(413, "body too large")
                try:
                    payload = json.loads(self.rfile.read(length) or b"null")
                except (ValueError, UnicodeDecodeError):
                    return self._answer(400, "not JSON")
                if not isinstance(payload, dict):
                    return self._answer(400, "expected a JSON object")
                receiver._keep(Received(self.path, payload))
                self._answer(200, "ok")

            def _answer(self, status: int, text: str) -> None:
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # quiet: the receiver reports what it keeps
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def _keep(self, item: Received) -> None:
        with self._condition:
            self.received.append(item)
            self._condition.notify_all()
        if self._on_receive:
            self._on_receive(item)

    def wait_for(self, count: int, timeout_s: float) -> list[Received]:
        """Until ``count`` notifications arrived or the time is up; what arrived."""
        deadline = time.monotonic() + timeout_s
        with self._condition:
            while len(self.received) < count and (left := deadline - time.monotonic()) > 0:
                self._condition.wait(left)
            return list(self.received)

    def start(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve (``richness alerts receive``) until SIGINT or SIGTERM, then stop cleanly.

        The server keeps its own thread and a signal only sets an event here: a KeyboardInterrupt
        raised inside socketserver (while it starts or joins a handler thread) could leave the
        process unable to exit."""
        stopping = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.start()
        try:
            while not stopping.wait(1.0):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def __enter__(self) -> "WebhookReceiver":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
