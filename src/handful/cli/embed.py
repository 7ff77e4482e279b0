"""``handful embed``: embeddings of a folder (or a text table) streamed into a ``.npy`` file.

Writes ``OUT.npy`` (n, dim) float32 in listing order (NaN rows for unusable files),
``OUT.index.csv`` (row, input, error) and ``OUT.meta.json`` (backbone, fingerprint, counts).
Rows go to disk batch by batch, so memory stays bounded; a re-run resumes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from ..backbones import create_backbone
from ..cache import FeatureCache
from ..data.table import is_table_path
from ..errors import DataError
from .main import app
from .options import AddressOpt, JsonOpt, NoCacheOpt, RayOpt, TextColOpt, check_ray_options
from .output import Output
from .predict import (
    BatchOpt,
    OverwriteOpt,
    check_no_files_as_texts,
    nothing_found,
    nothing_usable,
    report_skipped,
)


def _backbone(backbone: str, model: Path | None, inputs: list[str]):
    """(backbone instance, the name it was created from or None, model directory or None): Ray
    workers rebuild it from that name, or from the model's files. ``auto`` follows the inputs' kind."""
    from ..classifier import DEFAULT_BACKBONES
    if model is not None:
        from ..classifier import load

        if backbone != "auto":
            raise DataError(f"Give --model or --backbone, not both: {model} embeds with its own backbone.")
        clf = load(model, cache=False)
        return clf.backbone_for(clf.modality_), None, model
    if backbone == "auto":
        texts = len(inputs) == 1 and is_table_path(inputs[0]) and os.path.isfile(inputs[0])
        backbone = DEFAULT_BACKBONES["text" if texts else "image"]
    net = create_backbone(backbone)
    if hasattr(net, "fit_unlabeled"):  # word2vec: its vectors exist only inside a trained model
        raise DataError(f"Backbone '{net.name}' has no vectors of its own: they are learned from your "
                        "unlabeled text when a model is trained. Train one (handful train DATA --backbone "
                        "word2vec --unlabeled more.txt --out MODEL), then embed with --model MODEL.")
    return net, backbone, None


def _results(backbone, name, model, work, cache, ray, address, batch_size, quiet):
    from ..scale.batch import iter_embedding_results
    if not ray:
        return iter_embedding_results(backbone, work, cache, batch_size)
    from ..scale.ray_data import model_files
    from ..scale.ray_session import ray_results

    if model is not None:
        return ray_results(work, "embed", address, quiet, files=model_files(model), batch_size=batch_size)
    # the name given, not ``backbone.name``: a registered name (an alias, a plugin's) need not be
    # the backbone's own, and a worker given that one would build another backbone; the fingerprint
    # lets each worker check it built this one
    return ray_results(work, "embed", address, quiet, backbone=name, fingerprint=backbone.fingerprint,
                       batch_size=batch_size)


@app.command()
def embed(
    inputs: Annotated[list[str], typer.Argument(help="Image files/folders, or a CSV/TSV of texts.")],
    out_file: Annotated[Path, typer.Option("--out", help="The .npy file to write (resumed if it "
                                                         "exists).")],
    backbone: Annotated[str, typer.Option(help="Backbone name (auto: efficientnet_lite0 for images, minilm "
                                                "for a CSV/TSV of texts).")] = "auto",
    model: Annotated[Path | None, typer.Option(help="Use the backbone of this model directory "
                                                    "(fine-tuned weights included).")] = None,
    text_column: TextColOpt = None,
    no_cache: NoCacheOpt = False,
    batch_size: BatchOpt = 32,
    overwrite: OverwriteOpt = False,
    ray: RayOpt = False,
    address: AddressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Embed every input into OUT.npy (+ OUT.index.csv, OUT.meta.json), streaming to disk."""
    from ..scale.batch import is_text_table, list_inputs, summarize_skipped
    from ..scale.embedding_store import EmbeddingStore
    from ..scale.writers import remove_skipped_list
    out = Output(as_json)
    started = time.perf_counter()
    check_ray_options(ray, address)  # as predict: before the backbone loads and any --out file is written
    net, name, model_dir = _backbone(backbone, model, list(inputs))
    reader = f"Backbone '{net.name}' embeds"  # the errors' subject: no model is involved here
    if net.modality == "text":
        check_no_files_as_texts(list(inputs), f"{reader} texts")
    items, ids, skipped = list_inputs(net.modality, inputs, text_column, reader=reader)
    if not items:  # nothing to write: typed texts that are all empty, or no inputs of this kind
        if skipped:
            report_skipped(out, skipped, None)
            raise DataError(nothing_usable(skipped, None, net.modality))
        raise DataError(nothing_found("embed", list(inputs), net.modality))
    # typed texts are keyed by their text in the index (as predict --out keys them): "text 1" of
    # another run is another text, and resuming it would keep that text's embedding
    typed = net.modality == "text" and not is_text_table(list(inputs))
    store = EmbeddingStore(out_file, items if typed else ids, net.dim,
                           {"name": net.name, "fingerprint": net.fingerprint, "info": net.info.to_json()},
                           overwrite)
    todo = store.pending()
    if not store.done:  # a fresh start: the skipped list of the run it replaces no longer applies
        remove_skipped_list(out_file)
    cache = None if (no_cache or ray) else FeatureCache()
    n_done = 0
    results = None
    try:
        with out.progress("Embedding", len(todo)) as advance:
            results = _results(net, name, model_dir, [items[i] for i in todo], cache, ray, address,
                               batch_size, quiet=out.stdout_taken)
            for indices, embeddings, failures in results:
                rows = [todo[j] for j in indices]
                bad = {todo[j]: reason for j, reason in failures.items()}
                store.write(rows, embeddings, bad)
                n_done += len(rows)
                advance(len(rows) + len(bad))
    finally:
        store.close()
        if ray and results is not None:  # a local Ray it started is shut down now, also on Ctrl-C
            results.close()
    # the output's bad rows, a resumed run's included: its list beside --out names them all
    skipped += [(ids[r], reason) for r, reason in sorted(store.failed.items())]
    seconds = time.perf_counter() - started
    skipped_file = report_skipped(out, skipped, out_file)
    if not n_done and len(items) == len(todo):  # every input was bad: a script must not read it as a success
        store.discard()  # its NaN rows would refuse the corrected re-run; the skipped list stays, named below
        raise DataError(nothing_usable(skipped, skipped_file, net.modality))
    out.print(f"Wrote {n_done} embeddings ({net.dim}-d, {net.name}) to {out_file} in {seconds:.1f} s; "
              f"index {store.index_path}{_resumed_phrase(len(items) - len(todo), store.failed, todo)}.")
    out.result({"out": str(out_file), "index": str(store.index_path), "meta": str(store.meta_path),
                "backbone": net.name, "dim": net.dim, "n_rows": len(items), "n": n_done,
                "n_resumed": len(items) - len(todo), "complete": store.meta["complete"],
                "seconds": round(seconds, 2), "ray": ray,
                "skipped": [{"path": p, "reason": r} for p, r in skipped],
                "skipped_summary": summarize_skipped(skipped),
                "skipped_file": str(skipped_file) if skipped_file else None})


def _resumed_phrase(n_resumed: int, failed: dict[int, str], todo: list[int]) -> str:
    """"; 11 rows already done (8 embeddings, 3 skipped files)": the rows an earlier run wrote,
    its NaN rows for unusable files told apart (as "11 rows were already done" after "Wrote 8
    embeddings" they did not add up)."""
    if not n_resumed:
        return ""
    pending = set(todo)
    n_bad = sum(1 for row in failed if row not in pending)
    files = f", {n_bad} skipped file{'s' * (n_bad != 1)}" if n_bad else ""
    return (f"; {n_resumed} row{'s' * (n_resumed != 1)} already done ({n_resumed - n_bad} "
            f"embedding{'s' * (n_resumed - n_bad != 1)}{files})")
