"""Server facts for clients and the UI: version, optional features, limits, backbones."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..._version import __version__
from ...backbones import list_backbones
from .. import extras
from ..schemas import Info

router = APIRouter(tags=["meta"])

# backbones that cannot train a classifier from a project's examples as they are: a Conv-4 is
# random until `handful protonet train` meta-trains it, word2vec needs unlabeled text first
NEEDS_PREPARATION = ("conv4_", "word2vec")


def trainable_backbones(modality: str) -> list[str]:
    """The offline backbones a project of ``modality`` can train with straight away."""
    return [name for name in list_backbones(modality=modality) if not name.startswith(NEEDS_PREPARATION)]


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
        backbones={m: trainable_backbones(m) for m in ("image", "text")},
        auth=bool(settings.token),
    )
