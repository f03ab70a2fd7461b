"""Local probes go through one client per process (``httpx.get`` built one, with a TLS context,
on every call: 55 ms of CPU, taken from the very services the bench measured), and a component
restarted on the same port is probed afresh."""
from __future__ import annotations

import http.server
import threading

from services.stack import probe
from services.stack.processes import free_port


class _Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # would keep connections alive if the client asked
    body = b"first"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args) -> None:
        pass


def _serve(port: int, body: bytes) -> http.server.ThreadingHTTPServer:
    handler = type("Answer", (_Answer,), {"body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_every_probe_uses_the_same_client() -> None:
    assert probe.client() is probe.client()


def test_a_component_restarted_on_its_port_is_probed_afresh() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    first = _serve(port, b"first")
    try:
        assert probe.get(url, 3).text == "first"
    finally:
        first.shutdown()
        first.server_close()
    second = _serve(port, b"second")
    try:
        assert probe.get(url, 3).text == "second"
        assert probe.get(url, 3).text == "second"
    finally:
        second.shutdown()
        second.server_close()
