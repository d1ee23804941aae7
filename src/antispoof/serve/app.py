"""The liveness service: a FastAPI app around one bundle (``antispoof serve``).

- ``POST /v1/liveness``: frames (multipart field ``frames``, repeated), a short video
  (multipart field ``video``) or a JSON body of base64 frames -> the Predictor's result;
- ``GET /v1/model``: the model card (a card holds no machine path); ``GET /healthz``,
  ``GET /readyz``; ``GET /``: the webcam page; ``GET /docs``: the OpenAPI page, its Swagger UI
  served from the package (``static/swagger-ui*``: swagger-ui-dist 5.36.0 from npm, Apache-2.0,
  licence and notice beside it), so it renders on a network without internet.

Shutdown (``antispoof serve``, :mod:`antispoof.serve.server`): on SIGTERM the service drains:
``/readyz`` answers 503 at once, new requests are refused with 503 (after ``drain_delay``),
the requests in flight are answered, then the process exits 0.

Protection: a bearer token unless started with ``insecure=True``; the request size, the
frame count and every image's dimensions are bounded (dimensions read from the header,
before decoding); at most ``workers`` requests run at once, ``queue`` more wait, and any
beyond get 503 with ``Retry-After``; decoding and inference run in worker threads, one
Predictor each, off the event loop; a request taking longer than ``timeout_s`` gets
504. Privacy: no frame is written to disk or logs; the log is one JSON line a request
(id, status, timings, decision, score), unless ``keep_failures`` names a folder for the
frames of failed requests.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import queue as queue_module
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from antispoof.serve.limits import Limits, RequestRefused, decode_base64_frames, decode_frames, decode_video
from antispoof.serve.schema import ERROR_RESPONSES, LIVENESS_REQUEST, LivenessResponse, ModelResponse

__all__ = ["create_app", "load_token", "STATIC_FILES"]

# the files under /static/: the webcam page's script and the Swagger UI of /docs (no CDN: the service often runs offline)
STATIC_FILES = {
    "app.js": "text/javascript",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "swagger-ui-favicon.png": "image/png",
}

log = logging.getLogger("antispoof.serve")


def load_token(token_file: str | Path | None = None, env: str = "ANTISPOOF_TOKEN") -> str | None:
    """The API token from ``token_file`` (its first line), else the environment variable ``env``; None when neither."""
    import os

    if token_file is not None:
        path = Path(token_file)
        if not path.is_file():
            raise FileNotFoundError(f"token file {path} not found; write the API token into it (one line)")
        token = path.read_text(encoding="utf-8").strip().splitlines()[0].strip() if path.read_text().strip() else ""
        if len(token) < 16:
            raise ValueError(f"the token in {path} is {len(token)} characters; use at least 16 random characters")
        return token
    return os.environ.get(env) or None


class _Service:
    """The state behind the routes: predictors, the worker pool, the capacity counter, the limits."""

    def __init__(self, bundle: str | Path, *, token: str | None, workers: int, queue: int, limits: Limits,
                 keep_failures: Path | None, predictor_options: dict[str, Any]) -> None:
        from antispoof.inference.bundle import Bundle
        from antispoof.inference.predictor import Predictor

        self.token, self.limits, self.keep_failures = token, limits, keep_failures
        self.predictors: queue_module.Queue[Any] = queue_module.Queue()
        has_maps = bool(Bundle.load(bundle).card.maps)  # dense cue maps are returned as overlays on the face crop
        options = {"keep_maps": has_maps, "keep_crops": has_maps, **predictor_options}
        for _ in range(workers):
            self.predictors.put(Predictor(bundle, **options))
        first = self.predictors.queue[0]
        self.card, self.sampling = first.card, first.sampling
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="liveness")
        self.capacity = workers + queue
        self.in_flight = 0
        self.draining = False  # set on SIGTERM: /readyz fails from then on
        self.accepting = True  # cleared once draining has given load balancers time to notice: new requests get 503

    def drain(self) -> None:
        """Stop being ready (``/readyz`` 503); new requests are refused once ``accepting`` is cleared too."""
        self.draining = True

    def authorise(self, request: Request) -> None:
        if self.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if not given.strip():
            raise RequestRefused(401, "missing_token: send the header 'Authorization: Bearer <token>'",
                                 {"WWW-Authenticate": "Bearer"})
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            raise RequestRefused(403, "wrong_token: the bearer token is not this service's", {"WWW-Authenticate": "Bearer"})

    def run(self, kind: str, payload: Any, request_id: str) -> dict[str, Any]:
        """In a worker thread: decode the request's frames and predict with a free Predictor."""
        started = time.perf_counter()
        if kind == "video":
            frames = decode_video(payload, self.limits, self.sampling)
        elif kind == "json":
            try:
                body = json.loads(payload)
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise RequestRefused(400, f"malformed_json: {err}") from None
            frames = decode_base64_frames(body, self.limits)
        else:
            frames = decode_frames(payload, self.limits)
        decoded = time.perf_counter()
        predictor = self.predictors.get()
        try:
            result = predictor.predict_frames(frames, source=request_id)
        finally:
            self.predictors.put(predictor)
        if self.keep_failures is not None and result.decision == "failed_to_acquire":
            self._keep(request_id, frames)
        out = result.to_dict()
        out.pop("source", None)
        out["kind"] = "video" if kind == "video" else "frames"  # what was uploaded (the Predictor saw decoded frames)
        out["maps"] = _overlays(result)
        out["request_id"] = request_id
        out["timings_ms"] = {"decode_request": round((decoded - started) * 1000, 3), **out["timings_ms"]}
        return out

    def _keep(self, request_id: str, frames: list[np.ndarray]) -> None:
        import cv2

        folder = self.keep_failures / request_id  # type: ignore[operator]
        folder.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            cv2.imwrite(str(folder / f"{i:03d}.jpg"), frame[:, :, ::-1])


def _overlays(result: Any) -> dict[str, str]:
    """The last scored frame's dense cue maps as PNG data URLs, drawn over its face crop (empty without maps)."""
    import base64

    import cv2

    from antispoof.inference.overlay import heatmap_overlay

    frame = next((f for f in reversed(result.frames) if f.maps and f.crop is not None), None)
    if frame is None:
        return {}
    out = {}
    for name, cue_map in frame.maps.items():
        png = cv2.imencode(".png", heatmap_overlay(frame.crop, cue_map)[:, :, ::-1])[1].tobytes()
        out[name] = "data:image/png;base64," + base64.b64encode(png).decode()
    return out


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestRefused(413, f"request_too_large: {int(declared)} bytes declared; the limit is {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestRefused(413, f"request_too_large: more than {limit} bytes; the limit is {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _multipart(request: Request, body: bytes, limits: Limits) -> tuple[str, Any]:
    """``("frames", [bytes...])`` or ``("video", bytes)`` from a multipart body held in memory."""
    from starlette.formparsers import MultiPartException, MultiPartParser

    class InMemory(MultiPartParser):
        spool_max_size = limits.max_request_bytes + 1  # uploads stay in memory: nothing is written to disk

    async def stream() -> Any:
        yield body

    # the frame limit is ours to answer (413 with the count); the parser's own file cap only stops absurd bodies
    parser = InMemory(request.headers, stream(), max_files=max(4 * limits.max_frames, 64), max_fields=16,
                      max_part_size=limits.max_request_bytes)
    try:
        form = await parser.parse()
    except MultiPartException as err:
        if "Too many files" in err.message:
            raise RequestRefused(413, f"too_many_frames: far more than {limits.max_frames} frames sent") from None
        raise RequestRefused(400, f"malformed_multipart: {err.message}") from None
    try:
        if "video" in form:
            video = form["video"]
            return "video", await video.read() if hasattr(video, "read") else str(video).encode()
        parts = form.getlist("frames")
        if len(parts) > limits.max_frames:
            raise RequestRefused(413, f"too_many_frames: {len(parts)} frames sent; at most {limits.max_frames} per request")
        return "frames", [await p.read() if hasattr(p, "read") else str(p).encode() for p in parts]
    finally:
        await form.close()


def create_app(
    bundle: str | Path,
    *,
    token: str | None = None,
    insecure: bool = False,
    workers: int = 1,
    queue: int = 8,
    limits: Limits | None = None,
    keep_failures: str | Path | None = None,
    predictor_options: dict[str, Any] | None = None,
) -> FastAPI:
    """The service for ``bundle``; ``token`` required unless ``insecure`` (see the module docstring)."""
    if token is None and not insecure:
        raise ValueError("no API token: give --token-file FILE or set ANTISPOOF_TOKEN; "
                         "for local use only, start with --insecure-no-auth")
    if workers < 1 or queue < 0:
        raise ValueError(f"workers must be >= 1 and queue >= 0, got {workers} and {queue}")
    limits = limits or Limits()
    keep = Path(keep_failures) if keep_failures is not None else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        log.warning("keeping the frames of failed requests in %s (--keep-failures): they are personal data", keep)
    service = _Service(bundle, token=None if insecure else token, workers=workers, queue=queue, limits=limits,
                       keep_failures=keep, predictor_options=predictor_options or {})
    card = service.card
    app = FastAPI(
        docs_url=None,  # served below with the packaged Swagger UI instead of the CDN's
        redoc_url=None,  # ReDoc has no packaged copy here: /docs is the one page
        title="antispoof liveness service",
        version=card.package_version,
        description=f"Face presentation-attack detection with one model bundle ({card.method}, {card.backbone}). "
                    "Scores are liveness in [0, 1], higher = bona fide; the decision compares the aggregated score "
                    f"with the bundle's threshold ({card.threshold.rule}).",
    )
    app.state.service = service

    def refused(err: RequestRefused, request_id: str) -> JSONResponse:
        return JSONResponse({"error": err.message, "request_id": request_id}, status_code=err.status, headers=err.headers)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((files("antispoof.serve") / "static" / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            return JSONResponse({"error": f"not_found: /static/{name}"}, status_code=404)
        return Response((files("antispoof.serve") / "static" / name).read_bytes(), media_type=STATIC_FILES[name],
                        headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} - API",
                                   swagger_js_url="/static/swagger-ui-bundle.js", swagger_css_url="/static/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger-ui-favicon.png",
                                   swagger_ui_parameters={"validatorUrl": None})  # no badge fetched from the validator's host

    @app.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The model is loaded and requests are accepted (503 when full or shutting down)")
    def readyz() -> JSONResponse:
        ready = service.in_flight < service.capacity and not service.draining
        return JSONResponse({"ready": ready, "in_flight": service.in_flight, "capacity": service.capacity,
                             "draining": service.draining},
                            status_code=200 if ready else 503, headers={} if ready else {"Retry-After": "1"})

    @app.get("/v1/model", response_model=ModelResponse, responses=ERROR_RESPONSES, summary="The model card")
    def model(request: Request) -> Any:
        try:
            service.authorise(request)
        except RequestRefused as err:
            return refused(err, "-")
        data = card.model_dump(mode="json")
        return {"card": data, "inputs": list(card.input.names), "auth": service.token is not None,
                "limits": {k: getattr(limits, k) for k in ("max_request_bytes", "max_frames", "max_side", "max_pixels")}}

    @app.post("/v1/liveness", response_model=LivenessResponse, responses=ERROR_RESPONSES, openapi_extra=LIVENESS_REQUEST,
              summary="Liveness of one presentation: frames, a short video, or base64 frames")
    async def liveness(request: Request) -> Any:
        request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status, result = 200, None
        try:
            service.authorise(request)
            ctype = request.headers.get("content-type", "").lower()
            if not (ctype.startswith("multipart/form-data") or ctype.startswith("application/json")):
                raise RequestRefused(415, f"unsupported_media_type: {ctype or 'none'}; send multipart/form-data "
                                          "(fields 'frames' or 'video') or application/json ({\"frames\": [base64...]})")
            if card.input.names != ("rgb",):
                raise RequestRefused(422, f"this model reads {', '.join(card.input.names)}; the service takes RGB frames only")
            if not service.accepting:
                raise RequestRefused(503, "shutting_down: this service is draining before it stops; send the request to "
                                          "another instance or retry shortly", {"Retry-After": "1", "Connection": "close"})
            # a slot is taken before the body is read, so refused requests never hold their uploads in memory
            if service.in_flight >= service.capacity:
                raise RequestRefused(503, f"busy: {service.capacity} requests are running or waiting; retry shortly",
                                     {"Retry-After": "1"})
            service.in_flight += 1
            handed_over = False
            try:
                try:  # a slow upload must not hold its slot for ever
                    body = await asyncio.wait_for(_read_body(request, limits.max_request_bytes), timeout=limits.timeout_s)
                except asyncio.TimeoutError:
                    raise RequestRefused(408, f"upload_timeout: the body did not arrive within {limits.timeout_s:g} s") from None
                if not body:
                    raise RequestRefused(400, "empty_request: the body has 0 bytes")
                if ctype.startswith("application/json"):
                    kind, payload = "json", body  # parsed in the worker thread, off the event loop
                else:
                    kind, payload = await _multipart(request, body, limits)
                del body
                future = asyncio.get_running_loop().run_in_executor(service.executor, service.run, kind, payload, request_id)
                del payload

                def release(_: Any) -> None:  # the slot frees when the work ends, even after a timeout
                    service.in_flight -= 1

                future.add_done_callback(release)
                handed_over = True
            finally:
                if not handed_over:
                    service.in_flight -= 1
            try:
                result = await asyncio.wait_for(asyncio.shield(future), timeout=limits.timeout_s)
            except asyncio.TimeoutError:
                raise RequestRefused(504, f"timeout: no result within {limits.timeout_s:g} s") from None
            return result
        except RequestRefused as err:
            status = err.status
            return refused(err, request_id)
        except Exception as err:  # noqa: BLE001 - a bug must answer 500 with the request id, not kill the worker
            status = 500
            log.exception("request %s failed", request_id)
            return JSONResponse({"error": f"internal_error: {type(err).__name__}", "request_id": request_id}, status_code=500)
        finally:
            record = {"request_id": request_id, "status": status, "ms": round((time.perf_counter() - started) * 1000, 1)}
            if result is not None:
                record.update(decision=result["decision"], score=result["score"], n_frames=result["n_frames"],
                              timings_ms=result["timings_ms"])
            log.info(json.dumps(record))

    return app
