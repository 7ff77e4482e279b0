"""Projects: a named image or text classification task with its examples and models."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, status

from ..schemas import Project, ProjectCreate, ProjectUpdate, error_responses
from .deps import CatalogDep, PoolDep, RunnerDep

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("", response_model=list[Project])
def list_projects(catalog: CatalogDep) -> list[dict]:
    """Every project, newest first, with examples per class and its current version."""
    return catalog.list_projects()


@router.post("", response_model=Project, status_code=status.HTTP_201_CREATED,
             responses=error_responses(400, 413, 422))
def create_project(body: ProjectCreate, catalog: CatalogDep) -> dict:
    """Create an empty project for images or texts."""
    return catalog.create_project(body.name, body.modality)


@router.get("/{project_id}", response_model=Project, responses=error_responses(404, 422))
def get_project(project_id: int, catalog: CatalogDep) -> dict:
    return catalog.get_project(project_id)


@router.patch("/{project_id}", response_model=Project, responses=error_responses(400, 404, 413, 422))
def rename_project(project_id: int, body: ProjectUpdate, catalog: CatalogDep) -> dict:
    return catalog.rename_project(project_id, body.name)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=error_responses(404, 422))
def delete_project(project_id: int, catalog: CatalogDep, pool: PoolDep, runner: RunnerDep) -> None:
    """Delete the project, its examples (files no other project uses) and its models."""
    project = catalog.get_project(project_id)
    if project["active_job"]:
        runner.cancel(project["active_job"])
    pool.forget_project(project_id)
    with catalog.blob_lock:
        orphans, model_dirs = catalog.delete_project(project_id)
        catalog.remove_blob_files(orphans)
    for path in model_dirs:
        shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(catalog.models_dir / str(project_id), ignore_errors=True)
    shutil.rmtree(catalog.home / "exports" / str(project_id), ignore_errors=True)
    for export in (catalog.home / "onnx").glob(f"project-{project_id}-v*.onnx"):  # runtime=onnx copies
        export.unlink(missing_ok=True)
