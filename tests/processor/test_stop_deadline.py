"""Regression: a processor whose Faust consumer thread crashed (an offset commit failed while the
local broker's storage restarted) hung in its stop — waiting for that consumer to commit — alive
and idle, so the supervisor never restarted it and `richness drain` timed out. A stop now has a
deadline, past which the worker exits to be restarted."""
from __future__ import annotations

import asyncio
import threading
import time

import faust

from services.processor import app as processor_app
from services.processor.watchdog import StopDeadline
from shared.config import Settings


def test_gives_up_when_the_stop_outlasts_the_deadline():
    gave_up = threading.Event()
    with StopDeadline(0.05, gave_up.set):
        time.sleep(0.3)
    assert gave_up.is_set()


def test_does_nothing_when_the_stop_ends_in_time():
    gave_up = threading.Event()
    with StopDeadline(0.2, gave_up.set):
        pass
    time.sleep(0.4)
    assert not gave_up.is_set()


def test_the_processor_app_stops_under_the_deadline(monkeypatch, tmp_path):
    exits: list[int] = []
    monkeypatch.setattr(processor_app, "STOP_DEADLINE_S", 0.05)
    monkeypatch.setattr(processor_app, "_exit_now", lambda code, *args, **kwargs: exits.append(code))

    async def hung_stop(self) -> None:  # Faust's own stop, waiting on a consumer that cannot commit
        await asyncio.sleep(0.3)

    monkeypatch.setattr(faust.App, "on_stop", hung_stop)
    app = processor_app.create_app(Settings(state_dir=tmp_path, state_store="memory"), "events")
    assert isinstance(app, processor_app.RichnessApp)
    asyncio.run(app.on_stop())
    assert exits == [processor_app.FAILED_EXIT_CODE]
