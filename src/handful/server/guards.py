"""Browser-facing guards of the server: which Host names it answers (DNS rebinding), which
state-changing requests another site may make (CSRF), the headers that stop framing and MIME
sniffing, and the access-log filter that keeps the API token out of logs.

Example:
    >>> app.add_middleware(GuardMiddleware, allowed_hosts=("lab.example",))
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from urllib.parse import unquote_plus, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_HOST = "*"  # an allowed_hosts entry: every Host name (a wildcard bind, where the token protects)
# Starlette's TestClient names itself "testclient" as the peer and asks for host "testserver"; a
# network connection's peer is always an IP address, so this pair never comes from the network
_TEST_PEER, _TEST_HOST = "testclient", "testserver"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS = ((b"x-frame-options", b"DENY"),
                    (b"content-security-policy", b"frame-ancestors 'none'"),
                    (b"x-content-type-options", b"nosniff"))
TOKEN_PARAM = "token"  # the query parameter TokenMiddleware reads (parse_qs: keys percent-decoded)
# a query field: its separator, key and value; parse_qs splits on '&' only, and a value runs to the
# next '&' (quotes and '?' included), so the value redacted is the whole value the server reads
_QUERY_FIELD = re.compile(r"(^|[?&])([^=&?\s]*)=([^&\s]*)")


def split_host(value: str) -> tuple[str, int | None]:
    """A Host header (or an Origin's netloc) as (lower-case name, port or None):
    ``'[::1]:8000'`` -> ``('::1', 8000)``, ``'Example.COM.'`` -> ``('example.com', None)``."""
    value = value.strip().lower()
    if value.startswith("["):  # an IPv6 literal
        name, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    return name.rstrip("."), int(port) if port.isdigit() else None


def is_loopback_name(name: str) -> bool:
    """True for 'localhost' and loopback addresses (127.0.0.0/8, ::1)."""
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class GuardMiddleware:
    """Refuse unknown Host names (400) and cross-site state-changing requests (403); add
    ``X-Frame-Options``, ``Content-Security-Policy: frame-ancestors`` and ``nosniff`` to every
    response.

    ``allowed_hosts``: names beyond the loopback ones this server answers to (``'*'``: any).
    """

    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...] = ()):
        self.app = app
        self.any_host = ANY_HOST in allowed_hosts
        self.allowed = frozenset(split_host(h)[0] for h in allowed_hosts if h != ANY_HOST)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", ())}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        refusal = self._host_refusal(scope, headers) or self._cross_site_refusal(scope, headers)
        if refusal:
            await send_refusal(send_with_headers, *refusal)
            return
        await self.app(scope, receive, send_with_headers)

    def _host_refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = headers.get("host")
        if host is None or self.any_host:  # HTTP/1.0 without Host: no browser sends that
            return None
        name = split_host(host)[0]
        if name in self.allowed or is_loopback_name(name):
            return None
        if name == _TEST_HOST and (scope.get("client") or ("",))[0] == _TEST_PEER:
            return None
        known = ", ".join(sorted(self.allowed) + ["localhost", "127.0.0.1", "[::1]"])
        return 400, (f"This server does not answer to host '{host[:100]}' (it answers to {known}), "
                     "which guards it against DNS rebinding; to use that name, restart it with "
                     f"`handful serve --allowed-host {name[:100]}`.")

    @staticmethod
    def _cross_site_refusal(scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        if scope.get("method", "GET") not in UNSAFE_METHODS:
            return None
        origin = headers.get("origin")
        # the server's own scheme is the request's: uvicorn sets it from X-Forwarded-Proto only
        # for a proxy it trusts (FORWARDED_ALLOW_IPS, loopback by default), never read here from
        # any client, so an https page cannot pass for this http server on the same host and port
        scheme = scope.get("scheme", "http")
        if origin is not None and not is_same_origin(origin, headers.get("host", ""), scheme):
            proxy = ("; behind a TLS proxy, have it send X-Forwarded-Proto (from an address in "
                     "FORWARDED_ALLOW_IPS)" if origin.lower().startswith(("https:", "http:")) and
                     not origin.lower().startswith(f"{scheme}:") else "")
            return 403, (f"Refused a cross-site {scope['method']} from origin '{origin[:100]}' to "
                         f"this {scheme} server: requests that change data must come from this "
                         "server's own pages (the web UI) or from a client that sends no Origin "
                         f"header (curl, scripts){proxy}.")
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return 403, (f"Refused a cross-site {scope['method']} (Sec-Fetch-Site: cross-site): "
                         "requests that change data must come from this server's own pages "
                         "(the web UI) or from a client such as curl or a script.")
        return None


def is_same_origin(origin: str, host: str, scheme: str | None = None) -> bool:
    """True when ``origin`` (``'http://127.0.0.1:8000'``) names the server that ``host`` (the
    Host header) and ``scheme`` (the server's, ``'http'`` or ``'https'``) name; a missing port is
    the scheme's default. ``scheme=None`` (not known) takes the origin's, as before the scheme
    was compared: a TLS-terminating proxy whose Host has no port matches either way."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # 'null' (a sandboxed frame, a file:// page) is never this server
    scheme = (scheme or parts.scheme).lower()
    if parts.scheme != scheme:  # http and https are different origins even on one host and port
        return False
    default = 443 if scheme == "https" else 80
    origin_name, origin_port = split_host(parts.netloc)
    host_name, host_port = split_host(host)
    return (origin_name, origin_port or default) == (host_name, host_port or default)


async def send_refusal(send: Send, status: int, detail: str) -> None:
    """A JSON error response from ASGI middleware (before any route runs)."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def redact_token(text: str) -> str:
    """``text`` with the value of every query field the server reads as ``token`` replaced by
    ``***``: ``?token=``, and spellings ``parse_qs`` decodes to it (``?tok%65n=``, ``?%74oken=``),
    each time it occurs."""

    def hide(field: re.Match) -> str:
        sep, key = field.group(1), field.group(2)
        return f"{sep}{key}=***" if unquote_plus(key) == TOKEN_PARAM else field.group(0)

    return _QUERY_FIELD.sub(hide, text)


class RedactTokenFilter(logging.Filter):
    """Hides ``?token=`` values (the UI's image and download URLs carry the API token) in log
    records, such as uvicorn's access lines, whose arguments hold the request's query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_token(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact_token(record.msg)
        return True


def uvicorn_log_config() -> dict:
    """uvicorn's logging config with access lines on stderr (stdout carries ``--json``'s line)
    and the API token redacted from every line."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_token"] = {"()": RedactTokenFilter}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact_token"]
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    return config
