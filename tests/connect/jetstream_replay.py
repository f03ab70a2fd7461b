"""A local stand-in for a Jetstream server: replays recorded lines over a real WebSocket from the
``cursor`` a client asks for (``time_us`` ≥ cursor), following a script per connection, and
records what each connection asked for."""
from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


@dataclass
class Connection:
    cursor: int | None
    collections: list[str]
    dids: list[str]


class JetstreamReplay:
    def __init__(self, lines: list[str], stops: list[int], abort_first: bool = True, pause_s: float = 0.002) -> None:
        """Connection n sends the lines from its cursor up to index ``stops[n]`` (the last
        connection to the end), then: the first drops the TCP connection without a close frame
        (a forced disconnect) when ``abort_first``, the others stay open and idle."""
        self.lines = lines
        self.times = [json.loads(line)["time_us"] for line in lines]
        self.stops, self.abort_first, self.pause_s = stops, abort_first, pause_s
        self.connections: list[Connection] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="jetstream-replay")
        self.port = 0

    def __enter__(self) -> JetstreamReplay:
        self._thread.start()
        assert self._ready.wait(10), "replay server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopping.wait()

    async def _handle(self, socket: ServerConnection) -> None:
        query = parse_qs(urlsplit(socket.request.path).query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        number = len(self.connections)
        self.connections.append(Connection(cursor, query.get("wantedCollections", []), query.get("wantedDids", [])))
        start = next((i for i, t in enumerate(self.times) if cursor is None or t >= cursor), len(self.lines))
        stop = self.stops[number] if number < len(self.stops) else len(self.lines)
        try:
            for line in self.lines[start:stop]:
                await socket.send(line)
                await asyncio.sleep(self.pause_s)
        except ConnectionClosed:
            return  # the client went away (it is killed in the tests)
        if number == 0 and self.abort_first:
            socket.transport.abort()
            return
        await socket.wait_closed()
