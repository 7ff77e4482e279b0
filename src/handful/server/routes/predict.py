"""Predict with the current (or a chosen) model version, and evaluate it on labeled uploads."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from ...data import Examples
from ...errors import DataError
from .. import extras
from ..ingest import read_uploaded_table
from ..predictor import LoadedModel, on_torch_thread
from ..schemas import PredictResult, SuggestResult, TextPredictIn, error_responses
from ..uploads import Limits, check_image_header, image_extension, read_class_zip, sanitize_filename
from .deps import CatalogDep, LimitsDep, PoolDep
from .examples import read_upload

router = APIRouter(prefix="/projects/{project_id}", tags=["predict"],
                   responses=error_responses(400, 404, 413, 422, 503))


def top_k(model: LoadedModel, proba: np.ndarray, names: list[str], k: int,
          min_confidence: float | None = None, scores: np.ndarray | None = None) -> list[dict]:
    """Each input's top-k classes; under ``min_confidence`` its label is None and it is ``unsure``;
    with familiarity ``scores`` (n,), ``familiar`` says whether it looks like the training examples."""
    k = min(k, len(model.classes))
    order = np.argsort(-proba, axis=1)[:, :k]
    rows = []
    for i, (name, row, idx) in enumerate(zip(names, proba, order, strict=True)):
        unsure = min_confidence is not None and float(row[idx[0]]) < min_confidence
        rows.append({"input": name, "label": None if unsure else model.classes[idx[0]], "unsure": unsure,
                     **({} if scores is None else _familiar(scores[i], model.familiarity.threshold)),
                     "top": [{"label": model.classes[j], "probability": float(row[j])} for j in idx]})
    return rows


def _familiar(score: float, threshold: float) -> dict:
    """An input's ``familiar`` (like the training examples?) and ``familiarity`` fields."""
    return {"familiar": bool(score >= threshold), "familiarity": round(float(score), 4)}


def _result(model: LoadedModel, names: list[str], proba, ok, failures, k: int,
            min_confidence: float | None = None, scores: np.ndarray | None = None) -> dict:
    skipped = [{"name": names[i], "reason": r} for i, r in sorted(failures.items())]
    if not ok:
        raise nothing_usable("predict", model, names, skipped)
    return {"version": model.number, "skipped": skipped,
            "predictions": top_k(model, proba, [names[i] for i in ok], k, min_confidence, scores)}


def nothing_usable(task: str, model: LoadedModel, names: list[str], skipped: list[dict]) -> DataError:
    """The 400 for a request none of whose inputs could be read (README: never an empty success)."""
    detail = "; ".join(f"{x['name']}: {x['reason']}" for x in skipped[:3])
    more = f"; {len(skipped) - 3} more" if len(skipped) > 3 else ""
    fix = ("Send texts that are not empty." if model.clf.modality_ == "text"
           else "Send image files in a format PIL reads (JPEG, PNG, ...).")
    return DataError(f"No usable input to {task} (all {len(names)} skipped: {detail}{more}). {fix}"
                     if len(names) > 1 else f"No usable input to {task} ({detail}). {fix}")


@router.post("/predict", response_model=PredictResult)
def predict_images(project_id: int, catalog: CatalogDep, pool: PoolDep, limits: LimitsDep,
                   response: Response,
                   files: Annotated[list[UploadFile], File(description="one or more images")],
                   top_k: Annotated[int, Query(ge=1, le=100)] = 3,
                   min_confidence: Annotated[float | None, Query(gt=0, lt=1, description=(
                       "answer only when the top probability is at least this; the rest are unsure"))] = None,
                   version: int | None = None) -> dict:
    """Top-k classes of each image (concurrent requests share batched forward passes); with
    ``min_confidence``, one under it has label null and ``unsure`` true; ``familiar`` false marks an
    image unlike the training examples (null when the model keeps none).

    The ``Server-Timing`` header says where the time went: ``stage`` (checking and storing
    the uploads), ``model`` (decoding, waiting for the batch, forward pass and head)."""
    started = time.perf_counter()
    model = pool.get(project_id, version)
    if model.clf.modality_ != "image":
        raise DataError("This is a text project: POST texts to /predict/texts instead.")
    if len(files) > limits.max_batch_files:
        raise DataError(f"{len(files)} files in one request; at most {limits.max_batch_files}. "
                        "Split the request.")
    names = [sanitize_filename(f.filename or "file") for f in files]
    tmp = Path(tempfile.mkdtemp(dir=catalog.tmp_dir))
    try:
        paths, early = _stage_files(files, tmp, limits)
        staged = time.perf_counter()
        ready = [i for i in range(len(files)) if i not in early]
        proba, scores, ok, failures = model.predict_scored([paths[i] for i in ready])
        predicted = time.perf_counter()
        failures = {ready[i]: r for i, r in failures.items()} | early
        response.headers["Server-Timing"] = (f"stage;dur={1000 * (staged - started):.2f}, "
                                             f"model;dur={1000 * (predicted - staged):.2f}")
        return _result(model, names, proba, [ready[i] for i in ok], failures, top_k, min_confidence, scores)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _stage_files(files: list[UploadFile], tmp: Path, limits: Limits) -> tuple[list[str], dict]:
    """Write uploads to temp files (hashed names); {index: reason} for ones refused early."""
    paths, early = [], {}
    for i, upload in enumerate(files):
        data = read_upload(upload, limits.max_file_bytes)
        reason = check_image_header(data, limits)
        path = tmp / f"{i}{image_extension(upload.filename or '') or '.img'}"
        paths.append(str(path))
        if reason:
            early[i] = reason
            continue
        with open(path, "wb") as f:
            f.write(data)
    return paths, early


@router.post("/suggest", response_model=SuggestResult)
def suggest(project_id: int, catalog: CatalogDep, pool: PoolDep, limits: LimitsDep,
            files: Annotated[list[UploadFile], File(description="unlabeled images")],
            n: Annotated[int, Query(ge=1, le=256)] = 20,
            mix_unfamiliar: Annotated[bool, Query(description=(
                "rank images unlike the training examples together with the rest (by default they "
                "only fill the places the familiar ones leave)"))] = False) -> dict:
    """Rank unlabeled images by how much labeling them would help the current model: the
    most uncertain first, spread out so near-duplicates are not suggested twice.

    An image unlike the training examples (a daisy sent to an ants/bees model) looks most
    uncertain because it belongs to no class, so, as ``handful suggest`` does, such images are
    marked ``familiar`` false and ranked after the familiar ones (``n_unfamiliar`` says how many
    there were) unless ``mix_unfamiliar`` is set; a model that keeps no training examples
    answers ``familiar`` null and ranks all together.

    With under 2 labeled examples per class the model's doubts are guesses, so, as ``handful
    suggest`` does, typical images of the groups no label covers yet come first instead
    (``ranked_by`` typical; TypiClust, BENCHMARKS.md "Which examples to label next")."""
    if not extras.has_suggest():
        raise DataError("Suggestions need handful.select.active, which is not installed here.")
    model = pool.get(project_id)
    if model.clf.modality_ != "image":  # the files' temp paths were embedded as texts
        raise DataError("Suggestions rank unlabeled images; this is a text project. Use "
                        "`handful suggest` with a table of texts instead.")
    if len(files) > limits.max_batch_files:
        raise DataError(f"{len(files)} files in one request; at most {limits.max_batch_files}.")
    names = [sanitize_filename(f.filename or "file") for f in files]
    # the embeddings come from torch under either runtime, so they can be compared with the examples
    known = getattr(model.clf, "familiarity_", None)  # None: saved before handful kept its examples
    labeled = extras.labeled_embeddings(catalog, project_id, model)
    tmp = Path(tempfile.mkdtemp(dir=catalog.tmp_dir))
    try:
        paths, early = _stage_files(files, tmp, limits)
        ready = [i for i in range(len(files)) if i not in early]
        if not ready:
            raise nothing_usable("rank", model, names, [{"name": names[i], "reason": r}
                                                        for i, r in sorted(early.items())])
        X, proba, ok, failures = model.embed_and_predict([paths[i] for i in ready])
        # a copy of a training example is left out, as `handful suggest` does: its label is known
        copies = extras.trained_copies(catalog, project_id, model, [paths[ready[i]] for i in ok]) if len(X) else {}
        failures = failures | {ok[j]: reason for j, reason in copies.items()}
        keep = [j for j in range(len(ok)) if j not in copies]
        X, proba, ok = X[keep], proba[keep], [ok[j] for j in keep]
        scores = None if known is None else known.scores(X)
        familiar = None if scores is None else scores >= known.threshold
        ranked_familiar = None if mix_unfamiliar else familiar
        # ranked while the files exist: resized or re-encoded copies of a pick are told by their pixels
        ok_paths = [paths[ready[i]] for i in ok]
        ranked, uncertainty = (extras.suggest(X, proba, n, ok_paths, ranked_familiar, labeled) if len(X)
                               else ([], np.zeros(0)))  # none readable: the 400 below
        gone = extras.left_out(X, ranked, n, ok_paths, ranked_familiar) if len(X) else {}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    failures = {ready[i]: r for i, r in failures.items()} | early
    skipped = [{"name": names[i], "reason": r} for i, r in sorted(failures.items())]
    if not len(X):  # as /predict and `handful suggest` say: nothing to rank is an error
        raise nothing_usable("rank", model, names, skipped)
    rows = []
    for rank, j in enumerate(ranked, 1):
        top = np.argsort(-proba[j])[:2]
        rows.append({"rank": rank, "index": ready[ok[j]], "input": names[ready[ok[j]]],
                     "predicted": model.classes[top[0]], "probability": float(proba[j, top[0]]),
                     "runner_up": model.classes[top[1]] if len(top) > 1 else None,
                     "uncertainty": float(uncertainty[j]),
                     **({} if scores is None else _familiar(scores[j], known.threshold))})
    # the unfamiliar images the full list held back: a dropped copy of a pick is not one of them
    unfamiliar = {} if familiar is None else {"n_unfamiliar": int(np.sum(~familiar)),
                                              "n_held_back": sum(pick is None for pick in gone.values()),
                                              "unfamiliar_ranked": "mixed" if mix_unfamiliar else "last"}
    left = [{"name": names[ready[ok[j]]], "reason": "unfamiliar, ranked after the familiar ones" if pick is None
             else f"a copy of {names[ready[ok[pick]]]}, which is listed"} for j, pick in sorted(gone.items())]
    return {"version": model.number, "suggestions": rows, **unfamiliar,
            "ranked_by": extras.ranked_by(labeled, len(model.classes)),
            "skipped": skipped, "left_out": left}


@router.post("/predict/texts", response_model=PredictResult)
def predict_texts(project_id: int, body: TextPredictIn, pool: PoolDep) -> dict:
    """Top-k classes of each text."""
    model = pool.get(project_id, body.version)
    if model.clf.modality_ != "text":
        raise DataError("This is an image project: POST image files to /predict instead.")
    texts = [t.strip() for t in body.texts]
    names = [" ".join(t.split())[:80] or f"text {i + 1}" for i, t in enumerate(texts)]
    ok_idx = [i for i, t in enumerate(texts) if t]
    failures = {i: "empty text" for i, t in enumerate(texts) if not t}
    proba, scores, ok, _ = model.predict_scored([texts[i] for i in ok_idx])
    return _result(model, names, proba, [ok_idx[i] for i in ok], failures, body.top_k, body.min_confidence,
                   scores)


@router.post("/evaluate")
def evaluate(project_id: int, catalog: CatalogDep, pool: PoolDep, limits: LimitsDep,
             file: Annotated[UploadFile, File(description="zip of class folders, or CSV/TSV")],
             version: Annotated[int | None, Form()] = None,
             text_column: Annotated[str | None, Form()] = None,
             label_column: Annotated[str | None, Form()] = None) -> dict:
    """Accuracy (95% CI), per-class precision/recall/F1 and confusion matrix on labeled data."""
    model = pool.get(project_id, version)
    tmp = Path(tempfile.mkdtemp(dir=catalog.tmp_dir))
    said: list[str] = []  # what `handful evaluate` would warn about the table, naming the upload
    try:
        if model.clf.modality_ == "image":
            examples = _zip_examples(file, tmp, limits)
        else:
            examples, said = read_uploaded_table(catalog, file.filename or "table.csv",
                                                 read_upload(file, limits.max_file_bytes), limits,
                                                 text_column, label_column)
        report = on_torch_thread(model.clf.evaluate, examples)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"version": model.number, **report, "warnings": said}


def _zip_examples(file: UploadFile, tmp: Path, limits: Limits) -> Examples:
    items, labels, ids, skipped = [], [], [], []
    for n, entry in enumerate(read_class_zip(file.file, limits)):
        reason = entry.reason or check_image_header(entry.data, limits)
        if reason:
            skipped.append((entry.name, reason))
            continue
        path = tmp / f"{n}{image_extension(entry.name)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(entry.data)
        items.append(str(path))
        labels.append(entry.label)
        ids.append(entry.name)
    if not items:
        raise DataError(f"The zip has no usable images in class folders ({len(skipped)} skipped). "
                        "Zip one folder per class, named like the project's classes.")
    # the source names the data in messages ("Evaluation data eval.zip has classes ..."), as a path would
    return Examples(tuple(items), tuple(labels), "image", tuple(skipped),
                    sanitize_filename(file.filename or "upload.zip"), tuple(ids))
