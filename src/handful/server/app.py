"""The FastAPI app: ``create_app(catalog)``; models load and the job runner starts in ``lifespan``.

Example:
    >>> from fastapi.testclient import TestClient
    >>> with TestClient(create_app(Catalog(tmp_path))) as client:
    ...     client.post("/api/projects", json={"name": "pets", "modality": "image"})
"""

from __future__ import annotations

import hmac
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from .._version import __version__
from ..errors import DataNotFoundError, HandfulError
from .catalog import Catalog
from .docs import add_offline_docs, offline_docs_files
from .errors import AuthError, ConflictError, NotFoundError, TooLargeError, UnavailableError
from .guards import TOKEN_PARAM, GuardMiddleware, send_refusal
from .predictor import ModelPool
from .routes import examples, jobs, meta, predict, projects, versions
from .runner import JobRunner, recover
from .schemas import error_responses
from .uploads import Limits, format_size

log = logging.getLogger("handful.server")
STATIC = Path(__file__).parent / "static"
# files one multipart request may carry: Starlette's default, or one over a higher predict limit
# (Limits.max_batch_files) so that the route's own message, with the count, is the one that answers
MAX_FORM_FILES = 1000
_STATUS = ((NotFoundError, 404), (DataNotFoundError, 404), (ConflictError, 409),
           (TooLargeError, 413), (AuthError, 401), (UnavailableError, 503))


@dataclass(frozen=True)
class ServerSettings:
    """Everything configurable about a server; the defaults suit one user on a laptop."""

    token: str | None = None  # when set, every /api call must carry it
    limits: Limits = field(default_factory=Limits)
    max_models: int = 4  # model versions kept loaded for prediction
    max_batch: int = 32  # largest micro-batch of concurrent predict requests
    runtime: str = "torch"  # "onnx": image models predict with ONNX Runtime (exported on load)
    max_parallel_jobs: int = 1  # training is CPU-bound: one at a time by default
    preload: bool = True  # load every project's current model at start (in the background)
    worker_env: dict | None = None  # environment of worker processes (None: inherit)
    # Host names answered beyond the loopback ones ("*": any); `handful serve` adds the bound name
    allowed_hosts: tuple[str, ...] = ()
    allow_hub_backbones: bool = False  # may a job name a hub backbone (st:, timm:; downloads)?


def create_app(catalog: Catalog, settings: ServerSettings | None = None) -> FastAPI:
    """The handful HTTP API and web UI over ``catalog``; no global state."""
    settings = settings or ServerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.recovery = recover(catalog)
        pool = ModelPool(catalog, settings.max_models, settings.max_batch, settings.runtime)

        def on_finished(job: dict) -> None:
            if job["status"] == "succeeded":
                pool.preload([job["project_id"]])

        runner = JobRunner(catalog, on_finished, settings.max_parallel_jobs, settings.worker_env)
        app.state.pool, app.state.runner = pool, runner
        runner.start()
        if settings.preload:
            pool.preload([p["id"] for p in catalog.list_projects() if p["current_version"]])
        try:
            yield
        finally:
            runner.stop()
            pool.close()

    docs_files = offline_docs_files()  # FastAPI's default pages need a CDN
    max_files = max(MAX_FORM_FILES, settings.limits.max_batch_files + 1)
    app = FastAPI(title="handful", version=__version__, lifespan=lifespan,
                  form_limits={"max_files": max_files},
                  docs_url=None if docs_files else "/docs", redoc_url=None if docs_files else "/redoc",
                  description="Train image and text classifiers from a handful of examples: "
                              "upload, train, test, predict. Every error is JSON `{\"detail\": msg}` (ErrorBody), "
                              "a 422 too: one sentence saying what is wrong and how to fix it.")
    app.state.catalog, app.state.settings = catalog, settings
    _add_error_handlers(app, settings.limits, max_files)
    for router in (meta.router, projects.router, examples.router, jobs.router, versions.router,
                   predict.router):
        app.include_router(router, prefix="/api", responses=error_responses(401))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if docs_files:
        add_offline_docs(app, docs_files)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.limits.max_request_bytes,
                       max_json_bytes=settings.limits.max_json_bytes)
    if settings.token:
        app.add_middleware(TokenMiddleware, token=settings.token)
    app.add_middleware(GuardMiddleware, allowed_hosts=settings.allowed_hosts)  # outermost: first
    return app


def _add_error_handlers(app: FastAPI, limits: Limits, max_files: int) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException):
        if err.status_code == 400 and str(err.detail).startswith("Too many files."):
            return JSONResponse({"detail": _too_many_files(request.url.path, limits, max_files)},
                                status_code=400)
        if err.status_code == 400 and err.detail == "There was an error parsing the body":
            return JSONResponse({"detail": _unparsed_body(request)}, status_code=400)
        return await http_exception_handler(request, err)

    @app.exception_handler(HandfulError)
    async def handful_error(request: Request, err: HandfulError) -> JSONResponse:
        status = next((code for cls, code in _STATUS if isinstance(err, cls)), 400)
        return JSONResponse({"detail": str(err)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> JSONResponse:
        parts = [_validation_part(e) for e in err.errors()[:5]]
        return JSONResponse({"detail": "Invalid request: " + "; ".join(parts) + "."},
                            status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=err)
        return JSONResponse({"detail": f"Internal error ({type(err).__name__}); the server log has "
                                       "the details."}, status_code=500)


def _too_many_files(path: str, limits: Limits, max_files: int) -> str:
    """Starlette's "Too many files" (it stops parsing at ``max_files``) in handful's words."""
    if path.endswith(("/predict", "/suggest")):
        return (f"More than {max_files} files in one request; at most {limits.max_batch_files} to "
                "predict or rank. Split the request.")
    return (f"More than {max_files} files in one request, the most one request may carry. Split "
            "the request (to add many examples, send a zip of class folders to /examples/zip).")


def _unparsed_body(request: Request) -> str:
    """FastAPI's "There was an error parsing the body" (a JSON nested too deeply for the parser,
    a broken multipart form) in handful's words."""
    kind = request.headers.get("content-type", "").split(";")[0].strip() or "no Content-Type"
    if _is_json(kind.encode()) or kind == "no Content-Type":
        return (f"The body of this {request.method} could not be parsed as JSON (nested too deeply, "
                "or not UTF-8 JSON); send a JSON object of the shape the API docs at /docs show.")
    return (f"The {kind} body of this {request.method} could not be parsed; send multipart/form-data "
            "(curl -F) or a JSON object, as the API docs at /docs show.")


def _is_json(content_type: bytes) -> bool:
    """True for what FastAPI parses as JSON: application/json, application/*+json, or no type."""
    kind = content_type.split(b";")[0].strip().lower()
    return kind in (b"", b"application/json") or (kind.startswith(b"application/")
                                                    and kind.endswith(b"+json"))


def _validation_part(error: dict) -> str:
    """One of pydantic's validation errors in words: where, then what."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":  # loc is ('body', character offset)
        return (f"the body is not valid JSON ({error.get('ctx', {}).get('error', 'decode error')} "
                f"at character {loc[-1]})")
    if loc == ("body",):  # no body at all, a JSON list, or text/plain
        return ("the JSON body is missing" if error.get("type") == "missing" else
                "the body must be a JSON object (Content-Type: application/json)")
    where = ".".join(str(x) for x in loc if x != "body") or "request"
    return f"{where}: {error.get('msg', 'invalid')}"


class TokenMiddleware:
    """Every ``/api`` request must carry the token: ``Authorization: Bearer T``,
    ``X-Handful-Token: T`` or ``?token=T`` (for image URLs in the UI)."""

    def __init__(self, app: ASGIApp, token: str):
        self.app, self.token = app, token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            if not hmac.compare_digest(self._given(scope), self.token):
                await send_refusal(send, 401, "Missing or wrong API token. Send it as "
                                             "'Authorization: Bearer TOKEN'.")
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _given(scope: Scope) -> bytes:
        headers = dict(scope.get("headers", ()))
        auth = headers.get(b"authorization", b"")
        if auth.lower().startswith(b"bearer "):
            return auth[7:].strip()
        if b"x-handful-token" in headers:
            return headers[b"x-handful-token"].strip()
        values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(TOKEN_PARAM)
        return values[0].encode() if values else b""


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes``, or JSON bodies over ``max_json_bytes`` (parsed
    whole in memory, at ~25 times their size), by Content-Length and while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_bytes: int | None = None):
        self.app, self.max_bytes = app, max_bytes
        self.max_json_bytes = min(max_bytes, max_json_bytes or max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        is_json = _is_json(headers.get(b"content-type", b""))
        limit = self.max_json_bytes if is_json else self.max_bytes
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await send_refusal(send, 413, self._message(int(length), limit, is_json))
            return
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:  # FastAPI re-raises an HTTPException met while parsing the
                raise HTTPException(413, self._message(None, limit, is_json))  # body; others: 400
            return message

        await self.app(scope, limited, send)

    @staticmethod
    def _message(n: int | None, limit: int, is_json: bool) -> str:
        """``n``: the declared length (None when streamed: reading stopped at the limit)."""
        shown = format_size(limit)
        what = "JSON body" if is_json else "request body"
        size = f"over the {shown} limit" if n is None else f"{format_size(n)}; the limit is {shown}"
        fix = ("Send it in smaller parts (several requests; files go as multipart uploads or a zip)."
               if is_json else "Upload in smaller parts.")
        return f"The {what} is {size}. {fix}"
