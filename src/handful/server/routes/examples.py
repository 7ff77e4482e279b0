"""Examples: upload images (files or a zip of class folders) or texts; list, relabel, delete."""

from __future__ import annotations

import mimetypes
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status
from fastapi.responses import FileResponse, Response

from ...errors import DataError
from ..catalog import Catalog
from ..errors import NotFoundError
from ..files import OpenFileResponse, not_modified
from ..ingest import add_images, add_table, add_texts, add_zip
from ..schemas import (
    ClassRename,
    Example,
    ExampleIds,
    ExamplePage,
    ExampleUpdate,
    IngestResult,
    TextsIn,
    error_responses,
)
from ..thumbnails import thumbnail
from .deps import CatalogDep, LimitsDep

router = APIRouter(prefix="/projects/{project_id}", tags=["examples"],
                   responses=error_responses(400, 404, 409, 413, 422))


def example_json(example: dict) -> dict:
    out = {k: example[k] for k in ("id", "label", "name", "created")}
    if example["text"] is None:
        out["url"] = f"/api/projects/{example['project_id']}/examples/{example['id']}/file"
    else:
        out["text"] = example["text"]
    return out


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The bytes of an uploaded file, refusing more than ``limit`` (+1 read to detect it)."""
    return upload.file.read(limit + 1)


@router.post("/examples", response_model=IngestResult, status_code=status.HTTP_201_CREATED)
def upload_images(project_id: int, catalog: CatalogDep, limits: LimitsDep,
                  files: Annotated[list[UploadFile], File(description="image files")],
                  label: Annotated[str, Form(description="the class of every file")]) -> dict:
    """Add image files as examples of one class. Bad files are skipped and listed."""
    project = catalog.get_project(project_id)
    data = [(f.filename or "file", read_upload(f, limits.max_file_bytes)) for f in files]
    return add_images(catalog, project, data, label, limits).to_json()


@router.post("/examples/zip", response_model=IngestResult, status_code=status.HTTP_201_CREATED)
def upload_zip(project_id: int, catalog: CatalogDep, limits: LimitsDep,
               file: Annotated[UploadFile, File(description="a .zip with one folder per class")]
               ) -> dict:
    """Add the images of a zip of class folders (cats/1.jpg, dogs/2.jpg ...)."""
    project = catalog.get_project(project_id)
    return add_zip(catalog, project, file.file, limits).to_json()


@router.post("/examples/texts", response_model=IngestResult, status_code=status.HTTP_201_CREATED)
def upload_texts(project_id: int, body: TextsIn, catalog: CatalogDep, limits: LimitsDep) -> dict:
    """Add texts: ``items`` [{text, label}], or ``texts`` that all get ``label``."""
    project = catalog.get_project(project_id)
    pairs = [(item.text, item.label) for item in body.items]
    if body.texts:
        if not body.label:
            raise DataError("Texts given without a label: send 'label' with 'texts', or use "
                            "'items' with a label each.")
        pairs += [(text, body.label) for text in body.texts]
    if not pairs:
        raise DataError("No texts given: send 'items' [{text, label}] or 'texts' with 'label'.")
    return add_texts(catalog, project, pairs, limits).to_json()


@router.post("/examples/table", response_model=IngestResult, status_code=status.HTTP_201_CREATED)
def upload_table(project_id: int, catalog: CatalogDep, limits: LimitsDep,
                 file: Annotated[UploadFile, File(description="CSV/TSV of texts and labels (or .csv.gz)")],
                 text_column: Annotated[str | None, Form()] = None,
                 label_column: Annotated[str | None, Form()] = None) -> dict:
    """Add the rows of a CSV/TSV (text and label columns guessed or named); ``warnings`` says what
    ``handful train`` would warn about it (a header read as a row, latin-1, labels differing in case)."""
    project = catalog.get_project(project_id)
    data = read_upload(file, limits.max_file_bytes)
    return add_table(catalog, project, file.filename or "table.csv", data, limits, text_column,
                     label_column).to_json()


@router.get("/examples", response_model=ExamplePage)
def list_examples(project_id: int, catalog: CatalogDep, label: str | None = None,
                  offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # beyond: SQLite's 64 bits
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict:
    """A page of examples, newest first, optionally of one class."""
    catalog.get_project(project_id)
    items, total = catalog.list_examples(project_id, label, offset, limit)
    return {"items": [example_json(e) for e in items], "total": total, "offset": offset,
            "limit": limit}


@router.get("/examples/{example_id}", response_model=Example)
def get_example(project_id: int, example_id: int, catalog: CatalogDep) -> dict:
    """One example as it is now (its class may have changed since a model was trained on it)."""
    return example_json(catalog.get_example(project_id, example_id))


@router.get("/examples/{example_id}/file", response_class=FileResponse)
def example_file(project_id: int, example_id: int, catalog: CatalogDep, request: Request,
                 size: Annotated[int | None, Query(ge=16, le=1024)] = None) -> Response:
    """The example's image (``size``: a JPEG thumbnail of that many pixels at most); ``Range``
    requests get their bytes (206), a revalidation with its ``ETag`` gets 304."""
    example = catalog.get_example(project_id, example_id)
    if example["text"] is not None:
        raise DataError(f"Example {example_id} is a text, not a file; read it from the listing.")
    # revalidated on each use: example ids can come back after a delete, so a URL cached as
    # immutable showed the old image for a new example
    headers = {"Cache-Control": "private, no-cache", "ETag": f'"{example["digest"][:32]}-{size or 0}"'}
    if unchanged := not_modified(request.headers.get("if-none-match"), headers["ETag"], headers):
        return unchanged  # before making a preview: the client holds it already
    path = catalog.blobs.path(example["digest"], example["ext"])
    if size:
        path = thumbnail(path, catalog.home / "thumbs", example["digest"], size)
    try:  # opened here, sent from the open file: a delete committing meanwhile is a 404, not a 500
        file = open(path, "rb")  # noqa: SIM115 (closed by the response once sent)
    except FileNotFoundError as err:
        raise NotFoundError(f"Example {example_id} does not exist in project {project_id} (it was "
                            "deleted while its file was read); reload the examples.") from err
    return OpenFileResponse(file, path, headers=headers,
                            media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")


@router.patch("/examples/{example_id}", response_model=Example)
def relabel(project_id: int, example_id: int, body: ExampleUpdate, catalog: CatalogDep,
            existing: Annotated[bool, Query(description="refuse a class the project does not "
                                            "have (instead of creating it)")] = False) -> dict:
    """Move an example to another class (``existing``: only to one the project has now)."""
    return example_json(catalog.relabel_example(project_id, example_id, body.label,
                                                existing_only=existing))


@router.delete("/examples/{example_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_example(project_id: int, example_id: int, catalog: CatalogDep) -> None:
    catalog.get_example(project_id, example_id)
    _delete(catalog, project_id, [example_id])


@router.post("/examples/delete", status_code=status.HTTP_200_OK)
def delete_many(project_id: int, body: ExampleIds, catalog: CatalogDep) -> dict:
    """Delete several examples at once."""
    catalog.get_project(project_id)
    return {"deleted": _delete(catalog, project_id, body.ids)}


@router.patch("/classes/{label}")
def rename_class(project_id: int, label: str, body: ClassRename, catalog: CatalogDep) -> dict:
    """Rename a class (relabels all its examples)."""
    catalog.get_project(project_id)
    return {"renamed": catalog.rename_class(project_id, label, body.name), "name": body.name}


@router.delete("/classes/{label}")
def delete_class(project_id: int, label: str, catalog: CatalogDep) -> dict:
    """Delete a class and all its examples."""
    with catalog.blob_lock:
        orphans, n_deleted = catalog.delete_class(project_id, label)
        catalog.remove_blob_files(orphans)
    return {"deleted": n_deleted}


def _delete(catalog: Catalog, project_id: int, ids: list[int]) -> int:
    if not ids:
        return 0
    with catalog.blob_lock:
        orphans, n_deleted = catalog.delete_examples(project_id, ids)
        catalog.remove_blob_files(orphans)
    return n_deleted
