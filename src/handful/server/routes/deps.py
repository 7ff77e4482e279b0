"""Request-scoped access to what ``create_app`` and its lifespan set up (no globals)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ..catalog import Catalog
from ..predictor import ModelPool
from ..runner import JobRunner
from ..uploads import Limits


def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def get_pool(request: Request) -> ModelPool:
    return request.app.state.pool


def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


def get_limits(request: Request) -> Limits:
    return request.app.state.settings.limits


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
PoolDep = Annotated[ModelPool, Depends(get_pool)]
RunnerDep = Annotated[JobRunner, Depends(get_runner)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
