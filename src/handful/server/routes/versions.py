"""Model versions: one per successful training, immutable; one is current; roll back; export."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ...errors import DataError
from .. import extras
from ..catalog import Catalog
from ..errors import NotFoundError
from ..predictor import model_digest, on_torch_thread
from ..schemas import Version, VersionDetail, error_responses
from .deps import CatalogDep, PoolDep

router = APIRouter(prefix="/projects/{project_id}/versions", tags=["versions"],
                   responses=error_responses(400, 404, 422))


def read_report(catalog: Catalog, version: dict) -> dict:
    path = catalog.home / version["path"] / "report.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


@router.get("", response_model=list[Version])
def list_versions(project_id: int, catalog: CatalogDep) -> list[dict]:
    """Every model version, newest first, with its metrics; ``current`` marks the one in use."""
    return catalog.list_versions(project_id)


@router.get("/{number}", response_model=VersionDetail)
def get_version(project_id: int, number: int, catalog: CatalogDep) -> dict:
    """A version with its report (cross-validated evaluation, learning curve, leaderboard) and
    its classes renamed since, by their names now: two versions compare class by class."""
    version = catalog.get_version(project_id, number)
    return {**version, "report": read_report(catalog, version),
            "renamed_since": renamed_since(catalog, project_id, version)}


def renamed_since(catalog: Catalog, project_id: int, version: dict) -> dict[str, str]:
    """{class of the version: its name now} for each class renamed after the version's job read
    the examples (a chain cat -> kitty -> feline gives 'feline')."""
    try:  # the job took its examples when it started
        trained = catalog.get_job(version["job_id"])["started"] or version["created"]
    except NotFoundError:  # a version registered without a job
        trained = version["created"]
    now = {name: name for name in version["classes"]}
    for old, new in catalog.class_renames(project_id, trained):
        for name, current in now.items():
            if current == old:
                now[name] = new
    return {name: current for name, current in now.items() if current != name}


@router.post("/{number}/activate", response_model=Version)
def activate(project_id: int, number: int, catalog: CatalogDep, pool: PoolDep) -> dict:
    """Make this version current (roll back or forward); predictions use it from now on."""
    version = catalog.set_current_version(project_id, number)
    pool.preload([project_id])
    return version


@router.get("/{number}/export", response_class=FileResponse)
def export(project_id: int, number: int, catalog: CatalogDep,
           format: Literal["bundle", "onnx"] = "bundle") -> FileResponse:
    """Download the model: ``bundle`` (zip of the model directory, for ``handful.load``) or
    ``onnx`` (one ONNX graph, when the export extra is installed)."""
    version = catalog.get_version(project_id, number)
    model_dir = catalog.home / version["path"]
    name = f"project{project_id}-v{number}"
    if format == "onnx":
        if not extras.has_onnx_export():
            raise DataError("ONNX export is not installed here. Install handful[onnx], or "
                            "download the bundle.")
        # keyed by the model's own files: project and job ids come back after a delete, and an
        # export named by them alone was served for another project's model
        out = catalog.home / "exports" / str(project_id) / f"v{number}-{model_digest(model_dir)}.onnx"
        if not out.is_file():
            on_torch_thread(extras.export_onnx, model_dir, out)
        return FileResponse(out, filename=f"{name}.onnx", media_type="application/octet-stream")
    tmp = Path(tempfile.mkdtemp(dir=catalog.tmp_dir))
    archive = shutil.make_archive(str(tmp / name), "zip", root_dir=model_dir)
    return FileResponse(archive, filename=f"{name}.zip", media_type="application/zip",
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))
