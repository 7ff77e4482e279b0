"""Serving stored files (example images, their previews) with Range and conditional requests.

The route opens the file, so a file deleted after that (an example deleted while its image is
fetched) is still sent from the open descriptor, and one already gone is the route's 404, never a
500 from a response that finds no file. Starlette's ``FileResponse`` does the rest: ``Range``
(206, a browser scrubbing a large file), ``If-Range``, ``Content-Length``, ``HEAD``.

Example:
    >>> f = open(path, "rb")
    >>> return OpenFileResponse(f, path, headers={"ETag": '"abc"'})
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import BinaryIO

import anyio
from fastapi.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send


class OpenFileResponse(FileResponse):
    """A ``FileResponse`` of a file the caller opened (and this response closes once sent)."""

    def __init__(self, file: BinaryIO, path: Path, headers: dict[str, str] | None = None,
                 media_type: str | None = None):
        super().__init__(path, headers=headers, media_type=media_type,
                         stat_result=os.fstat(file.fileno()))
        self.file = file

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[anyio.AsyncFile[bytes]]:
        # FileResponse reads through this (each range seeks first): the descriptor opened by the
        # route, not the path again. Were it renamed in a later Starlette, the path is opened as
        # before: only the delete race comes back, which the route's open then narrows to a moment.
        yield anyio.wrap_file(self.file)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.file.close()


def not_modified(if_none_match: str | None, etag: str, headers: dict[str, str]) -> Response | None:
    """A 304 when the client's ``If-None-Match`` holds ``etag`` (or ``*``), else None: a browser
    revalidating a cached image gets no body back (RFC 9110: weak comparison)."""
    if not if_none_match:
        return None
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if "*" in tags or etag in tags:
        return Response(status_code=304, headers=headers)
    return None
