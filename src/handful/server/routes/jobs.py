"""Training jobs: start one (it runs in a worker process), watch its progress, cancel it."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from ...backbones import backbone_modality
from ...errors import DataError
from ...heads import HEADS
from .. import extras
from ..schemas import Job, TrainOptions, error_responses
from .deps import CatalogDep, RunnerDep

router = APIRouter(tags=["jobs"], responses=error_responses(400, 404, 409, 413, 422))
AUGMENT_PRESETS = ("none", "light", "default", "strong")
TUNABLE = ("auto", "efficientnet_lite0", "efficientnet_lite2")


def check_options(options: TrainOptions, modality: str, allow_hub: bool = False) -> None:
    """Refuse options this project or installation cannot honour, before queueing.

    ``allow_hub``: may the backbone be a hub name (``st:``, ``timm:``), which downloads a model
    or reads a local path; off unless `handful serve --allow-hub-backbones`.
    """
    hub = [part for part in options.backbone.split("+") if ":" in part]
    if hub and not allow_hub:
        raise DataError(f"Backbone '{hub[0][:100]}' is a hub name, which this server does not train with "
                        "(it would download a model); choose one of the offline backbones at /api/info, "
                        "or restart the server with `handful serve --allow-hub-backbones`.")
    if options.backbone != "auto" and backbone_modality(options.backbone) != modality:
        raise DataError(f"Backbone '{options.backbone}' embeds "
                        f"{backbone_modality(options.backbone)}s but this project holds "
                        f"{modality}s. Choose a backbone for {modality}s, or auto.")
    if options.head == "zeroshot_prior":  # it would train without its class-name scores
        raise DataError("The zeroshot_prior head needs class-name scores, which the server does not "
                        "build. Choose another head here, or train with `handful train --zero-shot-prior`.")
    if options.head != "auto" and options.head not in HEADS:
        raise DataError(f"Unknown head '{options.head}'. Choose auto, "
                        f"{', '.join(h for h in HEADS if h != 'zeroshot_prior')}.")
    if options.augment not in AUGMENT_PRESETS:
        raise DataError(f"Unknown augmentation '{options.augment}'. Choose one of "
                        f"{', '.join(AUGMENT_PRESETS)}.")
    if options.augment != "none" and not (modality == "image" and extras.has_feature_augment()):
        raise DataError("Augmentation is available for image projects with handful.augment "
                        "installed only. Set augment to 'none'.")
    if options.finetune and not extras.has_finetune():
        raise DataError("Fine-tuning is not available in this installation. Train without it.")
    if options.finetune and (modality != "image" or options.backbone not in TUNABLE):
        raise DataError(f"Fine-tuning works for image projects with backbone "
                        f"{' or '.join(TUNABLE)}. Got a project of {modality}s with '{options.backbone}'.")


@router.post("/projects/{project_id}/jobs", response_model=Job,
             status_code=status.HTTP_202_ACCEPTED)
def start_training(project_id: int, catalog: CatalogDep, runner: RunnerDep, request: Request,
                   options: TrainOptions | None = None) -> dict:
    """Queue a training job; poll GET /api/jobs/{id} for its progress."""
    options = options or TrainOptions()
    project = catalog.get_project(project_id)
    check_options(options, project["modality"], request.app.state.settings.allow_hub_backbones)
    counts = project["classes"]
    if len(counts) < 2:
        raise DataError(f"Project '{project['name']}' has {len(counts)} class(es); training "
                        "needs examples of at least 2 classes. Add examples first.")
    job = catalog.create_job(project_id, options.model_dump())
    runner.wake()
    return job


@router.get("/projects/{project_id}/jobs", response_model=list[Job])
def list_jobs(project_id: int, catalog: CatalogDep) -> list[dict]:
    """The project's training jobs, newest first."""
    catalog.get_project(project_id)
    return catalog.list_jobs(project_id)


@router.get("/jobs/{job_id}", response_model=Job)
def get_job(job_id: int, catalog: CatalogDep) -> dict:
    """Status, stage, progress (0..1) and message of a training job."""
    return catalog.get_job(job_id)


@router.post("/jobs/{job_id}/cancel", response_model=Job)
def cancel_job(job_id: int, catalog: CatalogDep, runner: RunnerDep) -> dict:
    """Cancel a queued or running job (its model is never registered)."""
    catalog.get_job(job_id)
    runner.cancel(job_id)
    return catalog.get_job(job_id)
