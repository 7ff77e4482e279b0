"""Server facts for clients and the UI: version, optional features, limits, backbones."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..._version import __version__
from ...backbones import list_backbones
from .. import extras
from ..schemas import Info

router = APIRouter(tags=["meta"])


@router.get("/health")
def health() -> dict:
    """Liveness check."""
    return {"ok": True}


@router.get("/stats")
def stats(request: Request) -> dict:
    """Loaded models and their micro-batching so far (mean items per forward pass)."""
    return {"models": request.app.state.pool.stats()}


@router.get("/info", response_model=Info)
def info(request: Request) -> Info:
    """Version, optional features this installation has, upload limits, offline backbones."""
    settings = request.app.state.settings
    limits = settings.limits
    return Info(
        handful_version=__version__,
        features=extras.features(),
        limits={"max_request_mb": limits.max_request_bytes / 2**20,
                "max_file_mb": limits.max_file_bytes / 2**20,
                "max_image_pixels": limits.max_image_pixels,
                "max_batch_files": limits.max_batch_files},
        backbones={m: list_backbones(modality=m) for m in ("image", "text")},
        auth=bool(settings.token),
    )
