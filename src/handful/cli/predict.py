"""``handful predict``: top-k classes for files, folders or texts, streamed batch by batch.

With ``--out preds.csv`` rows are written as batches finish and nothing is held per input
but its path, so a folder of 100k+ images runs in bounded memory; a re-run skips inputs
already in the file and appends (with the same model and options only: ``preds.csv.json``
records them). ``--runtime onnx`` runs the ONNX export with ONNX Runtime; ``--ray`` spreads the
work over a Ray cluster. A text model's rows carry each text beside its id (``predict_table``),
and ``--json`` names the runtime that computed them (``numpy`` for word2vec, not ``torch``).
``--min-confidence P`` reports a prediction under P as unsure (``abstain``); inputs unlike the
training examples are marked (``familiar``).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from ..errors import DataError
from .abstain import MinConfidenceOpt, answers_of, check_min_confidence, print_answered
from .familiar import FamiliarityMarks
from .main import app
from .options import AddressOpt, JsonOpt, NoCacheOpt, RayOpt, SupportNestedOpt, TextColOpt, check_ray_options
from .output import Output, check_file_path, read_stdin_inputs
from .predict_table import StdoutCsv, prediction_json, print_predictions
from .support import check_support, fit_support

# export.runtime.RUNTIMES, spelled out so that `handful --help` does not load torch (a test
# checks they agree).
RUNTIMES = ("torch", "onnx")
RuntimeOpt = Annotated[str | None, typer.Option(help=f"Inference runtime: {', '.join(RUNTIMES)} (onnx needs "
                                                     "`handful export MODEL` first); default: onnx for an "
                                                     ".onnx file, else torch.")]
BatchOpt = Annotated[int, typer.Option(help="Images per forward pass.", min=1)]
OverwriteOpt = Annotated[bool, typer.Option(help="Start --out over instead of resuming it.")]


def _transductive_results(predictor, items: list[str], todo: list[int], advance, familiarity: bool):
    """The one (indices into ``todo``, probabilities, failures) batch of a transductive run: the
    prototypes are refined with all of ``items``, also those an interrupted run already answered,
    so the rows still to write are those a fresh run writes. ``advance`` moves as it embeds.
    ``familiarity``: each row ends with the input's familiarity (``iter_predictions``)."""
    from ..scale.batch import with_familiarity
    if not todo:  # all answered: nothing to refine for
        return []
    X, proba, ok, failures = predictor.embed_and_predict_items(items, progress=advance, transductive=True)
    position = {i: j for j, i in enumerate(todo)}
    rows = [row for row, i in enumerate(ok) if i in position]
    values = with_familiarity(proba[rows], predictor.familiarity_ if familiarity else None, X[rows])
    return [([position[ok[row]] for row in rows], values,
             {position[i]: reason for i, reason in failures.items() if i in position})]


def _results(predictor, work: list[str], ray: bool, address, model: Path, runtime: str,
             batch_size: int, quiet: bool, familiarity: bool):
    """(indices, probabilities (then familiarity, with ``familiarity``), failures) per batch."""
    from ..scale.batch import iter_predictions
    if not ray:
        return iter_predictions(predictor, work, batch_size, familiarity)
    from ..scale.ray_data import model_files
    from ..scale.ray_session import ray_results

    return ray_results(work, "predict", address, quiet, files=model_files(model, runtime), runtime=runtime,
                       batch_size=batch_size, familiarity=familiarity)


@app.command()
def predict(
    model: Annotated[Path, typer.Argument(help="Model directory (or an exported .onnx file).")],
    inputs: Annotated[list[str], typer.Argument(help="Image files/folders, or texts, or a CSV/TSV; "
                                                     "'-' alone: read them from stdin, one per line.")],
    top: Annotated[int, typer.Option(help="How many classes to show per item (1 or more).")] = 1,
    min_confidence: MinConfidenceOpt = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV rows to stdout (not with --json or "
                                                        "--out).")] = False,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write CSV predictions to this .csv file; a re-run resumes it.")] = None,
    text_column: TextColOpt = None,
    runtime: RuntimeOpt = None,
    no_cache: NoCacheOpt = False,
    batch_size: BatchOpt = 32,
    overwrite: OverwriteOpt = False,
    ray: RayOpt = False,
    address: AddressOpt = None,
    support: Annotated[Path | None, typer.Option(
        help="Support folder (a sub-folder per class, 1+ images each): predict its classes by "
             "nearest prototype, e.g. new classes for a `handful protonet train` model.")] = None,
    nested: SupportNestedOpt = False,
    transductive: Annotated[bool, typer.Option(
        "--transductive", help="With --support and a ProtoNet model: refine the class means with all "
                               "the inputs of this run before answering (each answer then depends on "
                               "the others; best when the inputs cover the classes).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Predict the class of each input, with the top-k probabilities."""
    from ..export.runtime import load_predictor, resolve_runtime, runtime_in_use
    from ..scale.batch import is_text_table, list_inputs, summarize_skipped, top_k
    from ..scale.writers import PredictionCsv, remove_skipped_list
    out = Output(as_json, stdout_taken=as_csv)
    if top < 1:
        raise DataError(f"--top must be an integer >= 1 (how many classes to show). Got {top}. Pass --top 1 "
                        "for the best class, or more.")
    inputs = read_stdin_inputs(inputs)
    check_min_confidence(min_confidence)
    sure = min_confidence is not None  # rows carry an answer (or none: unsure)
    check_output_options(as_csv, out_file, overwrite, ray, address, as_json)
    if nested and support is None:
        raise DataError("--nested reads a nested support tree (alphabet/character/): pass --support DIR, "
                        "or drop --nested.")
    check_support(support)
    started = time.perf_counter()
    runtime = resolve_runtime(model, runtime)  # an .onnx file given means ONNX Runtime
    predictor = load_predictor(model, runtime, cache=False if no_cache else None,
                               batch_size=batch_size)
    support_examples, support_keys = None, {}
    if support is not None:
        if runtime != "torch" or ray:
            raise DataError("--support needs the torch runtime without --ray (the support set is "
                            "embedded here). Drop --runtime/--ray.")
        support_examples, support_keys = fit_support(out, predictor, support, nested)
        support_skipped = predictor.training_["skipped"]  # [{"path", "reason"}], as Examples.summary()
    elif transductive:
        raise DataError("--transductive refines the prototypes of a support set: pass --support DIR "
                        "(a sub-folder per class), or drop --transductive.")
    else:
        _note_fewshot_without_support(out, model, len(predictor.classes_))
    marks = FamiliarityMarks(predictor)  # after --support: its examples are what inputs are compared with
    if predictor.modality_ == "text":
        check_no_files_as_texts(inputs, "This model classifies texts")
    items, ids, skipped = list_inputs(predictor.modality_, inputs, text_column)
    if not items and not skipped:
        raise DataError(nothing_found("predict", inputs, predictor.modality_))
    # a text's id ("text 3", "texts.csv:12") does not say which sentence it is: rows carry the text
    texts = predictor.modality_ == "text"
    typed = texts and not is_text_table(inputs)
    k = min(top, len(predictor.classes_))
    sink = StdoutCsv(k, texts, sure, marks.on) if as_csv and not out_file else None
    if out_file:
        run = _run_record(model, runtime, k, transductive, support, nested, support_examples, support_keys)
        run["runtime_option"], run["runtime"] = runtime, runtime_in_use(predictor)  # as --json says
        run["text_column"] = text_column  # another column of one table: other texts, the same ids
        run["min_confidence"] = min_confidence
        if transductive:  # every answer depends on the whole batch: rows of another batch cannot stay
            run["batch"], batch_before = _batch_record(items, predictor.modality_), _recorded_batch(out_file)
        sink = PredictionCsv(out_file, k, overwrite, run=run, texts=texts, answers=sure, familiar=marks.on)
        if not sink.done:  # a fresh start: the skipped list of the run it replaces no longer applies
            remove_skipped_list(out_file)
        elif transductive and batch_before != run["batch"]:
            sink.close()
            raise DataError(_other_batch(out_file, batch_before, run["batch"]))
    # an --out file names typed texts by their text: "text 1" of another run is another text
    row_ids = items if typed and out_file else ids
    todo = [i for i, input_id in enumerate(row_ids) if input_id not in sink.done] if sink else list(
        range(len(items)))
    keep_rows = sink is None
    rows, n_done, n_unsure = [], 0, 0
    results = None
    try:
        with out.progress("Predicting", len(items) if transductive and todo else len(todo)) as advance:
            results = (_transductive_results(predictor, items, todo, advance, marks.on) if transductive else
                       _results(predictor, [items[i] for i in todo], ray, address, model, runtime,
                                batch_size, out.stdout_taken, marks.on))
            for indices, values, failures in results:
                proba, flags, scores = marks.split(values)
                batch_texts = [items[todo[j]] for j in indices] if texts else None
                preds = top_k(proba, predictor.classes_, k)
                answers = answers_of(preds, min_confidence) if sure else None
                n_unsure += answers.count(None) if sure else 0
                if sink:
                    sink.write([row_ids[todo[j]] for j in indices], preds, batch_texts, answers, flags)
                if keep_rows:
                    rows += [{"input": ids[todo[j]], **({"text": items[todo[j]]} if texts else {}),
                              "label": answers[row] if sure else p[0][0],
                              **({"unsure": answers[row] is None} if sure else {}),
                              **marks.fields(flags, scores, row), "top": p}
                             for row, (j, p) in enumerate(zip(indices, preds))]
                skipped += [(ids[todo[j]], reason) for j, reason in failures.items()]
                n_done += len(indices)
                if not transductive:  # it advanced while embedding
                    advance(len(indices) + len(failures))
    finally:
        if sink:
            sink.close()
        if ray and results is not None:  # a local Ray it started is shut down now, also on Ctrl-C
            results.close()
    seconds = time.perf_counter() - started
    n_resumed = len(items) - len(todo)
    if keep_rows and not as_json and n_done:
        print_predictions(out, rows, k)
    skipped_file = report_skipped(out, skipped, out_file)
    if not n_done and not n_resumed:  # every input was bad: a script must not read it as a success
        raise DataError(nothing_usable(skipped, skipped_file, predictor.modality_))
    if out_file:
        resumed = f" ({n_resumed} already there, skipped)" if n_resumed else ""
        out.err.print(f"Wrote {n_done} predictions to {out_file}{resumed} in {seconds:.1f} s "
                      f"({n_done / max(seconds, 1e-9):.1f} inputs/s).")
    if sure:  # of this run's rows (a resumed file's earlier rows have their answer column)
        print_answered(out, n_done - n_unsure, n_unsure, min_confidence)
    marks.print_summary(out, n_done)  # of this run's rows, as the answered count
    payload = {"support_skipped": support_skipped} if support is not None else {}
    payload |= {"n": n_done, "n_resumed": n_resumed, "runtime": runtime_in_use(predictor), "ray": ray,
               "transductive": transductive,
               "seconds": round(seconds, 2), "out": str(out_file) if out_file else None,
               "skipped": [{"path": p, "reason": r} for p, r in skipped],
               "skipped_summary": summarize_skipped(skipped),
               "skipped_file": str(skipped_file) if skipped_file else None}
    if sure:
        payload |= {"min_confidence": min_confidence, "n_answered": n_done - n_unsure, "n_unsure": n_unsure}
    payload |= marks.payload()
    if keep_rows:
        payload["predictions"] = [prediction_json(r) for r in rows]
    out.result(payload)


def check_output_options(as_csv: bool, out_file: Path | None, overwrite: bool, ray: bool,
                         address: str | None, as_json: bool = False) -> None:
    """Refuse an option this run would ignore (the user asked for something that would not happen),
    or two that would mix their outputs on stdout."""
    if as_csv and out_file is not None:
        raise DataError("--csv prints the rows to stdout, but with --out they go to the file only. "
                        "Drop --csv (the rows are in --out), or drop --out to print them.")
    if as_csv and as_json:  # stdout would hold CSV rows and then a JSON line: neither parser reads it
        raise DataError("--csv and --json both print to stdout, and CSV rows before the JSON object "
                        "make the output neither CSV nor JSON. Drop --csv (the JSON object lists the "
                        "predictions), drop --json, or write the CSV with --out FILE and keep --json.")
    if out_file is not None:  # a folder, or a path through a file: said before the model loads
        check_file_path(out_file)
        if out_file.suffix.lower() != ".csv":  # CSV rows under a .json/.parquet name would mislead a reader
            from ..scale.writers import is_predictions_file, refuse_foreign

            refuse_foreign(out_file, is_predictions_file(out_file))  # a user's file: said as that first
            raise DataError(f"--out '{out_file}' must be a .csv file (predictions are written as CSV only); "
                            f"got a '{out_file.suffix}' name. Name it e.g. preds.csv.")
    if overwrite and out_file is None:
        raise DataError("--overwrite starts an --out file over, and no --out is given, so it would be "
                        "ignored. Add --out FILE, or drop --overwrite.")
    check_ray_options(ray, address)  # before the model loads and any --out file is written


def check_no_files_as_texts(inputs: list[str], who: str) -> None:
    """An existing file other than a table, given where texts are read: its path would be classified
    as a text (``photo.jpg`` answered like "photo dot jpg"), a confident answer to the wrong question."""
    from ..data.table import is_table_path

    file = next((x for x in inputs if x.strip() and not is_table_path(x) and os.path.isfile(x)), None)
    if file is not None:
        raise DataError(f"{who}; '{file}' is a file, and its name would be read as a text. Give texts, or "
                        "one CSV/TSV of them.")


def _note_fewshot_without_support(out: Output, model: Path, n_classes: int) -> None:
    """A meta-trained (``protonet train``) model given no support set answers among its training
    classes, which is rarely what it was trained for: say so, and how to give new classes."""
    try:
        fewshot = "fewshot" in json.loads((model / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # an ONNX file or a folder without model.json: not a ProtoNet
        return
    if fewshot:
        out.print(f"[yellow]note:[/] {model} is a few-shot model and no --support was given, so it "
                  f"answers among the {n_classes} classes it was trained on. For new classes pass "
                  "--support DIR (a sub-folder per class, 1+ images each).")


def _run_record(model: Path, runtime: str, k: int, transductive: bool, support: Path | None,
                nested: bool, support_examples, support_keys: dict[str, str]) -> dict:
    """What makes the rows of an --out file, recorded beside it: a re-run that differs is refused."""
    return {"model": str(model), "model_id": _model_id(model), "runtime": runtime, "top": k,
            "support": None if support is None else {"path": str(support), "nested": nested,
                                                     "id": _support_id(support_examples, support_keys)},
            "transductive": transductive}


def _batch_record(items: list[str], modality: str) -> dict:
    """The inputs of a transductive run by content (their order and names aside): ``n`` and a
    16-hex-digit ``id``."""
    import hashlib
    import json

    from ..cache import content_key

    def key(item: str) -> str:
        try:
            return content_key(item, modality)
        except OSError:  # unreadable: it is skipped, and named by its path
            return f"unreadable {item}"

    return {"n": len(items), "id": hashlib.sha256(json.dumps(sorted(map(key, items))).encode()).hexdigest()[:16]}


def _recorded_batch(out_file: Path) -> dict | None:
    """The batch recorded beside ``out_file`` by the transductive run that wrote it (None: none)."""
    import json

    from ..scale.writers import run_record_path
    try:
        batch = json.loads(run_record_path(out_file).read_text()).get("batch")
    except (OSError, ValueError, AttributeError):
        return None
    return batch if isinstance(batch, dict) and "n" in batch else None


def _other_batch(out_file: Path, before: dict | None, batch: dict) -> str:
    """Why transductive rows refined with another batch of inputs (or an unknown one) are not added to."""
    was = f"another batch of {before['n']} inputs" if before else "another batch of inputs"
    same_n = " (as many, but not the same)" if before and before["n"] == batch["n"] else ""
    return (f"'{out_file}' holds --transductive answers refined with {was}; this run has {batch['n']}{same_n}, "
            "and each answer depends on the whole batch, so adding rows would mix two batches' answers. Pass "
            f"--overwrite to answer all {batch['n']} together (their embeddings are cached), or choose another --out.")


def _model_id(model: Path) -> str:
    """16 hex digits of SHA-256 over what answers: an .onnx file, or a model directory's model.json
    and weights (not the reports and evaluations that later commands add to it)."""
    import hashlib

    files = [model] if model.is_file() else [model / name for name in
                                              ("model.json", "head.safetensors", "backbone.safetensors")]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes() if file.is_file() else b"-")
    return digest.hexdigest()[:16]


def _support_id(examples, known_keys: dict[str, str]) -> str:
    """16 hex digits naming a support set by its labeled contents, not where it lies (a copy is the
    same set; one more example or another --nested reading is another). ``known_keys``: content
    keys already computed (by the embedding cache), so each file is read once."""
    import hashlib
    import json

    from ..cache import content_key  # the embedding cache's key: file bytes, or the text

    pairs = sorted((label, known_keys.get(item) or content_key(item, examples.modality))
                   for label, item in zip(examples.labels, examples.items))
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]


def report_skipped(out: Output, skipped: list[tuple[str, str]], out_file: Path | None) -> Path | None:
    """Print the first bad inputs and counts per reason; the full list goes next to --out (and an
    old list there is removed when nothing was skipped)."""
    from ..scale.batch import summarize_skipped
    from ..scale.writers import remove_skipped_list, skipped_path, write_skipped
    if not skipped:
        if out_file:  # the list of a run before this one would name inputs this run used or never saw
            remove_skipped_list(out_file)
        return None
    for path, reason in skipped[:10]:
        out.err.print(f"skipped {path}: {reason}")
    kinds = ", ".join(f"{n} {kind}" for kind, n in summarize_skipped(skipped).items())
    file = None
    if out_file:
        file = write_skipped(skipped_path(out_file), skipped)
    more = f"; all listed in {file}" if file else ""
    extra = f" ... and {len(skipped) - 10} more" if len(skipped) > 10 else ""
    out.err.print(f"Skipped {len(skipped)} bad input(s): {kinds}{extra}{more}.")
    return file


def nothing_found(verb: str, inputs: list[str], modality: str) -> str:
    """The error of a run whose inputs hold nothing of its kind (an empty folder, no image files)."""
    kind, fix = (("image files", "image files or folders of them") if modality == "image"
                 else ("texts", "texts or a CSV of them"))
    return f"Nothing to {verb} in {', '.join(map(repr, inputs))}: no {kind} found. Give {fix}."


def nothing_usable(skipped: list[tuple[str, str]], skipped_file: Path | None, modality: str) -> str:
    """The error of a run that could use none of its inputs: how many, why, and what to give."""
    from ..scale.batch import summarize_skipped
    kinds = ", ".join(f"{n} {kind}" for kind, n in summarize_skipped(skipped).items())
    listed = f"listed above, and in {skipped_file}" if skipped_file else "listed above"
    fix = "Give at least one non-empty text" if modality == "text" else "Give at least one image file that opens"
    return f"None of the {len(skipped)} inputs could be used: {kinds} ({listed}). {fix}."
