"""JsonArrayReader (services/importers/reading.py): the elements of a JSON array read through a
small window — elements, numbers and UTF-8 characters cut by the window's edge, resume, and clear
errors for what is not one JSON array."""
from __future__ import annotations

import io
import json
import random

import ijson
import pytest

from services.importers import reading
from services.importers.reading import BadInput, JsonArrayReader


def values(data: bytes, start=None, prefix: int = 0) -> list:
    return [record.value for record in JsonArrayReader(io.BytesIO(data), prefix).records(start)]


@pytest.fixture(params=[1, 3, 7, 1 << 18], ids=lambda w: f"window{w}")
def window(request, monkeypatch):
    monkeypatch.setattr(reading, "_WINDOW", request.param)
    return request.param


def test_the_same_values_as_ijson_whatever_the_window(window):
    rng = random.Random(window)
    items = [{"id": str(i), "text": "zoë 日本語 🙂 " * rng.randrange(3), "n": rng.choice([0, -12, 3.5, 10**15, -2.5e-7]),
              "nested": [{"a": None, "b": True}] * rng.randrange(2)} for i in range(40)] + [12345, "s", [], {}]
    data = b"window.YTD.tweets.part0 = " + json.dumps(items, ensure_ascii=False, indent=1).encode()
    prefix = data.index(b"[")
    expected = list(ijson.items(io.BytesIO(data[prefix:]), "item", use_float=True))
    assert values(data, prefix=prefix) == expected == items


def test_a_number_cut_by_the_window_is_read_whole(window):
    assert values(b"[1, 22, 333333333, 4.25]") == [1, 22, 333333333, 4.25]


def test_resume_skips_the_items_done_and_the_end_is_the_count():
    reader = JsonArrayReader(io.BytesIO(b'[{"a": 1}, {"a": 2}, {"a": 3}]'))
    records = list(reader.records({"items": 2}))
    assert [(r.at, r.value, r.resume) for r in records] == [(3, {"a": 3}, {"items": 3})]
    assert reader.end() == {"items": 3}


@pytest.mark.parametrize("data", [b"[]", b"  [ ]  \n", b"\n[\n]"])
def test_an_empty_array_has_no_items(data, window):
    assert values(data) == []


@pytest.mark.parametrize("data, message", [
    (b'[{"a": 1}, {"a": tru}, {"a": 3}]' + b" " * 200, "not valid JSON after item 1"),
    (b'[{"a": 1}, {"a": 2}', "ends early, after item 2"),
    (b'[{"a": 1}, {"a": ', "not valid JSON after item 1"),
    (b'[{"a": 1} {"a": 2}]', "expected , or ] after item 1"),
    (b'[{"a": 1},]', "not valid JSON after item 1"),
    (b'[{"a": 1}] trailing', "unexpected text after the JSON array"),
    (b'{"a": 1}', "not a JSON array"),
    (b'[NaN]', "not valid JSON after item 0"),
    (b'[{"a": "\xff"}]', "not UTF-8 text"),
])
def test_what_is_not_one_json_array_is_a_clear_error(data, message, window):
    with pytest.raises(BadInput, match=message):
        values(data)


def test_an_invalid_item_does_not_make_the_reader_read_on_to_the_end(monkeypatch):
    monkeypatch.setattr(reading, "_WINDOW", 64)
    read = []

    class Counting(io.BytesIO):
        def read(self, size=-1):
            chunk = super().read(size)
            read.append(len(chunk))
            return chunk

    data = b'[{"a": 1}, {"a": oops}, ' + b'{"b": 2}, ' * 10_000 + b'{"c": 3}]'
    with pytest.raises(BadInput, match="after item 1"):
        list(JsonArrayReader(Counting(data)).records(None))
    assert sum(read) < 1_000
