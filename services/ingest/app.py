"""The HTTP surface of the ingest service (contract §2)."""
from __future__ import annotations

import logging
import math
import time
from typing import Any

import msgspec
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from services.ingest.auth import ApiKeys, Check, Verdict
from services.ingest.body import BadBody, BodyTooLarge, is_ndjson, read_limited, split_elements
from services.ingest.event_log import EventLog, EventLogUnavailable
from services.ingest.metrics import IngestMetrics
from services.ingest.validation import validate
from shared.config import Settings
from shared.events import IncomingEvent, now_ms
from shared.ingest_api import ErrorBody, IngestResult

log = logging.getLogger(__name__)


_encode = msgspec.json.Encoder().encode
_SCHEMA_REF = "#/components/schemas/{name}"
(_event_schema, _result_schema, _error_schema), _components = msgspec.json.schema_components(
    [IncomingEvent, IngestResult, ErrorBody], ref_template=_SCHEMA_REF)


def _json(status: int, body: msgspec.Struct, headers: dict[str, str] | None = None) -> Response:
    return Response(_encode(body), status_code=status, media_type="application/json", headers=headers)


def _documented(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _refused(check: Check) -> Response:
    """401 for a missing, unknown or revoked key; 429 for a key over its rate limit."""
    if check.verdict is Verdict.LIMITED:
        retry_after = max(1, math.ceil(check.retry_after_s))  # Retry-After takes whole seconds
        return _json(429, ErrorBody(f"API key {check.key!r} is over its rate limit; retry after {retry_after} s"),
                     {"Retry-After": str(retry_after)})
    challenge = 'Bearer realm="richness"'
    if check.verdict is not Verdict.MISSING:
        challenge += ', error="invalid_token"'
    reason = ("this API key has been revoked" if check.verdict is Verdict.REVOKED
              else "missing or invalid API key (Authorization: Bearer <key>)")
    return _json(401, ErrorBody(reason), {"WWW-Authenticate": challenge})


def create_app(settings: Settings, event_log: EventLog) -> FastAPI:
    """The ingest API over an event log that its owner starts and stops (see ``server``)."""
    api_keys = ApiKeys(settings.api_keys, settings.api_keys_file)
    metrics = IngestMetrics()
    app = FastAPI(title="Richness ingest API", version="1", docs_url=None, redoc_url=None)
    app.state.metrics = metrics

    async def ingest(request: Request, check: Check) -> Response:
        if check.verdict is not Verdict.OK:
            return _refused(check)
        try:
            body = await read_limited(request, settings.max_body_bytes)
            elements = split_elements(body, ndjson=is_ndjson(request.headers.get("content-type")),
                                      max_events=settings.max_batch_events)
        except BodyTooLarge as exc:
            # The rest of the body stays unread, so the connection cannot be reused.
            return _json(413, ErrorBody(str(exc)), {"Connection": "close"})
        except BadBody as exc:
            return _json(400, ErrorBody(str(exc)))

        checked = validate(elements, now_ms(), settings.currency)
        result = IngestResult(accepted=len(checked.events), rejected=len(checked.rejections),
                              errors=checked.rejections)
        if not checked.events:
            metrics.count_rejections(checked.reasons(), check.key)
            return _json(400, result)

        started = time.perf_counter()
        try:
            await event_log.append(checked.events)
        except EventLogUnavailable as exc:
            log.warning("503 for a request of %d events: %s", len(checked.events), exc)
            return _json(503, ErrorBody(f"the event log could not confirm the write ({exc}); "
                                        "nothing in this request was accepted: retry it"), {"Retry-After": "1"})
        finally:
            metrics.produce_seconds.observe(time.perf_counter() - started)
        # Counted only with an answer that reports them: a 503'd request will be sent again.
        metrics.count_accepted(len(checked.events), check.key)
        metrics.count_rejections(checked.reasons(), check.key)
        return _json(202, result)

    @app.post(
        "/v1/events",
        summary="Send events",
        description=(
            "Body: one event object, a JSON array of up to "
            f"{settings.max_batch_events} events, or NDJSON (`Content-Type: application/x-ndjson`, "
            f"blank lines skipped). At most {settings.max_body_bytes} bytes. Each event is validated "
            "on its own; `errors[].index` is the event's 0-based position in the request. "
            "Accepted means acknowledged by the event log with acks=all."),
        status_code=202,
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": {"oneOf": [
                _event_schema, {"type": "array", "items": _event_schema, "maxItems": settings.max_batch_events}]}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "one event object per line"}},
        }}},
        responses={
            202: _documented("At least one event accepted; invalid ones listed in `errors`", _result_schema),
            400: _documented("Nothing acceptable: per-event `errors`, or `error` for an unusable body",
                             {"oneOf": [_result_schema, _error_schema]}),
            401: _documented("Missing, wrong or revoked API key", _error_schema),
            413: _documented("Body too large", _error_schema),
            429: _documented("The API key is over its rate limit; retry after `Retry-After` seconds", _error_schema),
            503: _documented("The event log could not confirm the write; nothing accepted, retry", _error_schema),
        },
    )
    async def post_events(request: Request) -> Response:
        check = api_keys.check(request.headers.get("authorization"))
        metrics.in_flight.inc()
        try:
            response = await ingest(request, check)
        except ClientDisconnect:
            response = _json(400, ErrorBody("client disconnected before sending the whole body"))
        finally:
            metrics.in_flight.dec()
        metrics.count_request(response.status_code, check.key)
        return response

    @app.get("/healthz", summary="The process is alive")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.get("/readyz", summary="The event log is reachable")
    async def readyz() -> Response:
        if await event_log.ready():
            return Response(b'{"status":"ready"}', media_type="application/json")
        return Response(b'{"status":"event log unavailable"}', status_code=503, media_type="application/json")

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(_components)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
