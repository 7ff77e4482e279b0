"""``handful serve``: the web UI and HTTP API on one port, data in ``--home``."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import DataError
from ..optional import require_extra
from .main import app
from .options import JsonOpt
from .output import Output


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on connections whose socket
    # says so, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise DataError(f"Cannot listen on {host}:{port} ({err.strerror}). Choose another --port "
                        "(0 picks a free one) or --host.") from err
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def served_hosts(host: str, extra: list[str]) -> tuple[str, ...]:
    """The Host names a server bound to ``host`` answers to beyond the loopback ones: the bound
    name and ``extra`` (--allowed-host); any name on a wildcard bind, which needs a token, since
    clients reach it by names the server cannot know."""
    if host in ("0.0.0.0", "::", ""):
        return ("*",)
    return tuple(dict.fromkeys([host.strip("[]"), *(name.strip() for name in extra if name.strip())]))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind. Anything but loopback needs "
                                           "--token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).", min=0, max=65535)] = 8000,
    home: Annotated[Path, typer.Option(help="Where projects, examples and models live.")] = Path(
        "~/.handful"),
    token: Annotated[str | None, typer.Option(envvar="HANDFUL_TOKEN", help="API token (8 characters or "
                     "more) every /api request must carry (Authorization: Bearer TOKEN, or an "
                     "X-Handful-Token header).")] = None,
    max_upload_mb: Annotated[int, typer.Option(help="Largest request body (MiB).", min=1)] = 1024,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    max_batch: Annotated[int, typer.Option(help="Largest micro-batch of concurrent predict "
                                                "requests (1 to 64; 1 turns batching off).")] = 32,
    runtime: Annotated[str, typer.Option(help="Inference runtime for image models: torch, or onnx "
                                              "(ONNX Runtime; each version is exported on first use).")] = "torch",
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", help="Another host name the server answers to (repeatable), such as the "
        "machine's DNS name behind --host 192.168.1.5; '*' answers to any. Loopback names and the "
        "--host name always work; others are refused, against DNS rebinding.")] = None,
    allow_hub_backbones: Annotated[bool, typer.Option(
        help="Let API clients train with hub backbones (st:, timm:, open_clip:), which download "
             "models. Off: only the offline backbones listed at /api/info.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Serve the web UI and HTTP API (OpenAPI docs at /docs) until interrupted."""
    require_extra("server", ("fastapi", "uvicorn", "python_multipart"), "`handful serve`")
    import uvicorn

    from ..server import Catalog, Limits, ServerSettings, create_app
    from ..server.guards import uvicorn_log_config

    out = Output(as_json)
    if not is_loopback(host) and not token:
        raise DataError(f"Binding {host} would expose the server to other machines without "
                        "authentication. Pass --token SECRET (or set HANDFUL_TOKEN), or keep "
                        "--host 127.0.0.1.")
    if token is not None and len(token) < 8:
        raise DataError(f"The API token must have at least 8 characters. Got {len(token)}.")
    if not 1 <= max_batch <= 64:
        raise DataError(f"--max-batch must be between 1 and 64. Got {max_batch}.")
    if runtime not in ("torch", "onnx"):
        raise DataError(f"Unknown --runtime '{runtime}'. Use torch or onnx.")
    if runtime == "onnx":  # each image model is exported (onnx) and run (onnxruntime) on first use
        require_extra("onnx", ("onnx", "onnxruntime"), "--runtime onnx")
    catalog = Catalog(home)
    settings = ServerSettings(token=token, limits=Limits(max_request_bytes=max_upload_mb << 20),
                              max_batch=max_batch, runtime=runtime,
                              allowed_hosts=served_hosts(host, allowed_host or []),
                              allow_hub_backbones=allow_hub_backbones)
    sock = bind_socket(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}"
    out.print(f"handful serving {catalog.home} at {url}  (API docs: {url}/docs)")
    out.result({"url": url, "host": host, "port": bound, "home": str(catalog.home),
                "auth": bool(token)})
    config = uvicorn.Config(create_app(catalog, settings), log_level="info",
                            log_config=uvicorn_log_config(), access_log=access_log,
                            timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn raises the Ctrl-C (or SIGTERM) again once it has shut down
        # the normal way to stop a server: not an "error: interrupted", exit 130
        print(f"handful server at {url} stopped.", file=sys.stderr)
