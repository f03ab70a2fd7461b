"""Regression: a port handed to a server must not be one the kernel gives to outgoing connections.

A processor in a pipeline test failed with "Address already in use": its metrics port came from
binding port 0 — the ephemeral range — and a client connection took it as its source port before
the server bound it."""
import socket

from services.stack.processes import _ephemeral_range, free_port


def test_free_ports_are_below_the_ephemeral_range_and_bindable():
    low, _ = _ephemeral_range()
    ports = {free_port() for _ in range(20)}
    assert all(port < low for port in ports), sorted(ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
