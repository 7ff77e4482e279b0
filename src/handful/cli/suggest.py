"""``handful suggest``: which unlabeled examples to label next (uncertain and diverse)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..data import Examples, list_images, read_table
from ..data.table import is_table_path
from ..errors import DataError
from ..jsontext import json_text
from .familiar import NOTE
from .main import app
from .options import JsonOpt, NoCacheOpt, TextColOpt, check_columns_apply
from .output import Output, check_folder_replaceable, pct, starts_with, write_folder_files
from .predict import report_skipped

SUGGESTIONS_CSV, SUGGESTIONS_JSON, CONTACT_SHEET = "suggestions.csv", "suggestions.json", "contact_sheet.png"
READ_OPTIONS = ("nested", "text_column", "label_column")  # of load_examples, as model.json records them


def _unlabeled(clf, source: Path, text_column) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(items, display ids, skipped) of the unlabeled images or texts."""
    if clf.modality_ == "image":
        items, skipped = list_images([source])
        return items, items, skipped
    if is_table_path(source) and not source.exists():
        raise DataError(f"The file of unlabeled texts '{source}' does not exist. Give an existing "
                        "CSV/TSV or .txt file.")
    if not (source.is_file() and is_table_path(source)):
        raise DataError(f"The model classifies texts; give a CSV/TSV or .txt of unlabeled texts, "
                        f"not '{source}'.")
    table = read_table(source, text_column=text_column, labeled=False)
    return list(table.items), list(table.ids), list(table.skipped)


@app.command()
def suggest(
    model: Annotated[Path, typer.Argument(help="Model directory.")],
    unlabeled: Annotated[Path, typer.Argument(help="Folder of unlabeled images, or a CSV/TSV/.txt "
                                                   "of unlabeled texts.")],
    n: Annotated[int, typer.Option("--n", help="How many to suggest (1 or more).")] = 20,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for suggestions.csv/.json and contact_sheet.png (default: ./suggestions, "
        "beside the model folder when run inside it); never a model folder.")] = None,
    text_column: TextColOpt = None,
    mix_unfamiliar: Annotated[bool, typer.Option(
        "--mix-unfamiliar", help="Rank inputs unlike the training examples together with the rest "
        "(by default they only fill places the familiar ones leave).")] = False,
    no_cache: NoCacheOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Rank unlabeled examples by how much labeling them should help: the model's most uncertain
    ones, spread out so the list holds no near-duplicates.

    Inputs unlike the training examples (a daisy in an ants/bees folder) look most uncertain
    because they belong to no class: with a hymenoptera model, 12 of the 20 picks from its
    validation photos mixed with 20 flower photos were flowers (0 now). A model that keeps its
    training examples therefore marks each pick ("familiar" in the list, a frame on the contact
    sheet) and ranks the unfamiliar ones after the familiar ones, saying how many it held back.
    They can also be a new kind of example worth labeling (2 of the 14 it marked there were
    unusual bee photos): --mix-unfamiliar ranks them with the rest.

    With under 2 labeled examples per class its doubts are guesses: it then lists typical examples of the
    groups no label covers yet (TypiClust), if its training data is still where it was trained
    from (hymenoptera, flowers5, TREC: 1.5-7 points more accuracy, averaged over 1-5 labels per class, than random
    picks, 0.7-4.6 more than uncertain ones; BENCHMARKS.md "Which examples to label next")."""
    from ..bundle.store import beside_models, check_not_in_model
    from ..classifier import load
    from ..select.active import TYPICAL_BELOW, left_out, rank_unlabeled, ranked_by
    out = Output(as_json)
    check_columns_apply([unlabeled], text_column)
    out_dir = check_not_in_model(out_dir or beside_models(Path("suggestions")))  # the model is its trainer's
    check_folder_replaceable(out_dir, SUGGESTIONS_CSV, starts_with(b"rank"),
                             {SUGGESTIONS_JSON: _our_json, CONTACT_SHEET: "png"}, inputs=(unlabeled,))
    if n < 1:
        raise DataError(f"--n must be >= 1. Got {n}.")
    clf = load(model, cache=False if no_cache else None)
    items, ids, skipped = _unlabeled(clf, unlabeled, text_column)
    if not items:
        kind, give = (("image files", "a folder of unlabeled images") if clf.modality_ == "image"
                      else ("texts", "a CSV/TSV or .txt of unlabeled texts"))
        found = (f"none of its {len(skipped)} files could be used (e.g. {skipped[0][0]}: {skipped[0][1]})"
                 if skipped else f"no {kind} found")
        raise DataError(f"Nothing to suggest from '{unlabeled}': {found}. Give {give}.")
    with out.progress("Embedding", len(items)) as advance:
        X, failures = clf.embed(items, clf.modality_, advance)
    skipped += [(ids[i], reason) for i, reason in failures.items()]
    ok = [i for i in range(len(items)) if i not in failures]
    # a copy of a training example: its label is known, labeling it again teaches nothing
    training, note = training_examples(clf)
    copies = _training_copies(clf, [items[i] for i in ok], training)
    labeled_already = [(ids[ok[j]], reason) for j, reason in copies.items()]
    ok = [i for j, i in enumerate(ok) if j not in copies]
    if not ok:
        first = (skipped + labeled_already)[0]
        raise DataError(f"Nothing to suggest from '{unlabeled}': none of its {len(items)} inputs could be "
                        f"used (e.g. {first[0]}: {first[1]}). Give {clf.modality_}s the model has "
                        "not been trained on.")
    X = X[ok]
    proba = clf.head_.predict_proba(X)
    texts = clf.modality_ == "text"
    known = getattr(clf, "familiarity_", None)  # None: a model saved before handful kept its examples
    scores = None if known is None else known.scores(X)
    labeled = _labeled(clf, training)
    paths = None if texts else [items[i] for i in ok]
    ranked_familiar = None if scores is None or mix_unfamiliar else scores >= known.threshold
    ranked = rank_unlabeled(X, proba, n, paths, ranked_familiar, labeled)
    gone = left_out(X, ranked, n, paths, ranked_familiar)  # {row: the pick it copies, or None: held back}
    rows = _rows(clf.classes_, proba, ranked, [ids[i] for i in ok], [items[i] for i in ok] if texts else None,
                 None if scores is None else (scores, known.threshold))
    images = clf.modality_ == "image"
    # through a temporary folder beside it: Ctrl-C midway leaves the previous list as it was, and
    # the contact sheet of an earlier run (of images) goes when this one writes none (texts)
    write_folder_files(out_dir, lambda tmp: _write(tmp, rows, images), main=SUGGESTIONS_CSV,
                       stale=(CONTACT_SHEET,))
    files = _files(out_dir, rows, images)
    noted = any(r.get("familiar") is False for r in rows)
    out.table(f"Label these next ({len(rows)} of {len(ok)})",
              ["#", "input", "model says", "unsure", *(["note"] if noted else [])],
              [[r["rank"], _shown(r), f"{r['predicted']} {pct(r['probability'])}", f"{r['uncertainty']:.2f}",
                *([NOTE if r["familiar"] is False else ""] if noted else [])] for r in rows])
    report_skipped(out, skipped, None)  # the first 10 and a count per reason, as predict
    _print_labeled_already(out, labeled_already)
    if note:
        out.err.print(f"warning: {note}", style="yellow")
    ok_ids = [ids[i] for i in ok]
    left = [{"input": ok_ids[j], "reason": "unfamiliar, ranked after the familiar ones" if pick is None
             else f"a copy of {ok_ids[pick]}, which is listed"} for j, pick in sorted(gone.items())]
    _print_copies(out, [r for r in left if r["reason"].startswith("a copy")], len(ok))
    familiarity = {}
    if scores is not None:
        n_unfamiliar = int(np.sum(scores < known.threshold))
        _print_unfamiliar(out, rows, sum(pick is None for pick in gone.values()), len(ok))
        familiarity = {"n_unfamiliar": n_unfamiliar, "familiarity_threshold": round(known.threshold, 4),
                       "unfamiliar_ranked": "mixed" if mix_unfamiliar else "last"}
    typical = ranked_by(labeled, len(clf.classes_)) == "typical"
    if typical and rows:
        out.print(f"With fewer than {TYPICAL_BELOW} labeled examples per class the model's doubts are guesses: "
                  "these are typical examples of the groups no label covers yet.")
    out.print("Wrote " + ", ".join(str(f) for f in files.values()))
    out.result({"suggestions": rows, "n_unlabeled": len(ok), **familiarity,
                "ranked_by": "typical" if typical else "uncertain", "left_out": left,
                "files": {k: str(v) for k, v in files.items()},
                "skipped": [{"path": p, "reason": r} for p, r in skipped + labeled_already],
                "notes": [note] if note else []})


def _labeled(clf, examples: Examples | None) -> np.ndarray | None:
    """Embeddings of the model's labeled examples: the ones it keeps (from 20 examples), else, with
    fewer than ``TYPICAL_BELOW`` per class (the only time they change the ranking), those of its
    training data (``examples``: ``training_examples``; a few, cached); None when neither is at
    hand (the ranking is then by uncertainty)."""
    from ..errors import HandfulError
    from ..select.active import TYPICAL_BELOW

    known = getattr(clf, "familiarity_", None)
    if known is not None:
        return known.embeddings.astype(np.float32)
    counts = (getattr(clf, "training_", None) or {}).get("counts") or {}
    if examples is None or not counts or sum(counts.values()) >= TYPICAL_BELOW * len(counts):
        return None
    try:
        X, failures = clf.embed(examples.items, examples.modality)
    except (HandfulError, OSError, ValueError):
        return None  # changed or unreadable: rank by uncertainty as before
    kept = [i for i in range(len(X)) if i not in failures]
    return X[kept] if kept else None


def _rows(classes, proba: np.ndarray, ranked: list[int], ids: list[str], texts: list[str] | None,
          familiarity: tuple[np.ndarray, float] | None) -> list[dict]:
    """The list's rows: rank, input (and text), the guess and runner-up, the uncertainty, and with
    ``familiarity`` (scores, threshold) whether the input is like the training examples."""
    from ..select.active import margin_uncertainty

    uncertainty = margin_uncertainty(proba)
    rows = []
    for rank, j in enumerate(ranked, 1):
        top = np.argsort(-proba[j])[:2]
        rows.append({"rank": rank, "input": ids[j], **({"text": texts[j]} if texts is not None else {}),
                     "predicted": str(classes[top[0]]), "probability": float(proba[j, top[0]]),
                     "runner_up": str(classes[top[1]]) if len(top) > 1 else None,
                     "uncertainty": float(uncertainty[j])})
        if familiarity is not None:
            scores, threshold = familiarity
            rows[-1] |= {"familiar": bool(scores[j] >= threshold), "familiarity": round(float(scores[j]), 4)}
    return rows


def _print_unfamiliar(out: Output, rows: list[dict], n_held: int, n_inputs: int) -> None:
    """How many picks look unlike the training examples, and how many such inputs the full list
    held back (``select.active.left_out``: a dropped copy is not one of them)."""
    listed = sum(r["familiar"] is False for r in rows)
    if listed:
        are, they, belong, them = ("is", "it", "belongs", "it") if listed == 1 else ("are", "they", "belong", "them")
        out.print(f"{listed} of the {len(rows)} {are} unlike the training examples (marked \"{NOTE}\"): "
                  f"check {they} {belong} to one of the classes before labeling {them}.")
    if n_held:
        one = n_held == 1
        looks, was, they, come, them = (("looks", "was", "it", "comes", "it") if one
                                        else ("look", "were", "they", "come", "them"))
        out.print(f"{n_held}{' more' if listed else ''} of the {n_inputs} inputs {looks} unlike the training "
                  f"examples and {was} left out of this full list ({they} {come} after the familiar ones): "
                  f"{they} may belong to no class, or be a new kind worth labeling; --mix-unfamiliar ranks "
                  f"{them} with the rest.")


def _print_copies(out: Output, copies: list[dict], n_inputs: int) -> None:
    """The inputs left out as near-copies of a listed one (the first 5): one label covers them."""
    if not copies:
        return
    is_, a_copy = ("is", "it is a near-copy of a listed one") if len(copies) == 1 else (
        "are", "they are near-copies of listed ones")
    named = "; ".join(f"{r['input']} ({r['reason']})" for r in copies[:5])
    more = f"; and {len(copies) - 5} more" if len(copies) > 5 else ""
    out.print(f"{len(copies)} of the {n_inputs} inputs {is_} not listed, as {a_copy} (one label covers "
              f"both): {named}{more}.")


def _print_labeled_already(out: Output, copies: list[tuple[str, str]]) -> None:
    """The inputs left out as copies of training examples (the first 10), apart from the
    unreadable ones: they are not bad inputs, only known ones."""
    if not copies:
        return
    are = ("input is a copy of a training example, so it is" if len(copies) == 1
           else "inputs are copies of training examples, so they are")
    out.print(f"{len(copies)} {are} not ranked:")
    for path, reason in copies[:10]:
        out.print(f"  {path}: {reason}")
    if len(copies) > 10:
        out.print(f"  and {len(copies) - 10} more (see the JSON's skipped list)")


def training_source(clf) -> str | None:
    """Where the model's training data still is: its absolute path as recorded at training (models
    from before it was recorded: the path as given, only when absolute, since a relative one would
    be read from this working folder and could name other data); None when it is not there."""
    training = getattr(clf, "training_", None) or {}
    source = training.get("source_path") or training.get("source")
    if not isinstance(source, str) or not os.path.isabs(source) or not os.path.exists(source):
        return None
    return source


def training_examples(clf) -> tuple[Examples | None, str | None]:
    """The model's training examples, read again where they still are with the options they were
    read with at training (``--nested``, ``--text-column``, ``--label-column``; none recorded, as
    by models from before they were: the defaults), and a one-line note when they are there but
    could not be read; ``(None, None)`` when they are no longer there."""
    from ..data import load_examples
    from ..errors import HandfulError

    source = training_source(clf)
    if not source:
        return None, None  # moved or deleted: nothing to compare with
    recorded = (getattr(clf, "training_", None) or {}).get("read_with") or {}
    options = {k: v for k, v in recorded.items() if k in READ_OPTIONS}
    try:
        return load_examples(source, min_classes=1, **options), None
    except (HandfulError, OSError, ValueError) as err:  # changed since: say so, list the inputs anyway
        return None, (f"copies of training examples were not looked for: the training data '{source}' "
                      f"could not be read again ({str(err).rstrip('.')}); inputs that copy one may be "
                      "listed.")


def _training_copies(clf, items: list[str], examples: Examples | None) -> dict[int, str]:
    """``{index: "already labeled as <class> (copy of <file>)"}`` for the inputs whose content is
    one of the training ``examples`` (``training_examples``; None: none are found)."""
    from ..select.labeled_copies import example_keys, input_sizes, labeled_copies

    if examples is None:
        return {}
    sizes = input_sizes(items, clf.modality_)  # unreadable files are passed over, not raised
    known = example_keys(examples.items, examples.labels, clf.modality_, examples.ids, sizes)
    return labeled_copies(items, clf.modality_, known)


def _shown(row: dict) -> str:
    """The input as the table shows it: a path, or a text's place and (the start of) the text."""
    if "text" not in row:
        return row["input"]
    text = " ".join(row["text"].split())
    return f"{row['input']}: {text if len(text) <= 70 else text[:67] + '...'}"


def _our_json(path: Path) -> bool:
    """suggestions.json as ``_write`` writes it: a list of rows, each with a rank."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(rows, list) and all(isinstance(r, dict) and "rank" in r for r in rows)


def _files(out_dir: Path, rows: list[dict], images: bool) -> dict[str, Path]:
    """The files ``_write`` writes into ``out_dir``, by kind."""
    files = {"csv": out_dir / SUGGESTIONS_CSV, "json": out_dir / SUGGESTIONS_JSON}
    if images and rows:
        files["contact_sheet"] = out_dir / CONTACT_SHEET
    return files


def _write(out_dir: Path, rows: list[dict], images: bool) -> None:
    from ..select.contact_sheet import contact_sheet
    files = _files(out_dir, rows, images)
    with open(files["csv"], "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["rank"])
        writer.writeheader()
        # true/false as predict's CSV writes them
        writer.writerows([r | ({"familiar": str(r["familiar"]).lower()} if "familiar" in r else {}) for r in rows])
    files["json"].write_text(json_text(rows, indent=2))
    if "contact_sheet" in files:
        contact_sheet([r["input"] for r in rows], [_caption(r) for r in rows], files["contact_sheet"],
                      flags=[NOTE if r.get("familiar") is False else None for r in rows])


def _caption(row: dict) -> str:
    """A thumbnail's caption: rank, the model's guess and runner-up, and the file's name, so a
    picture can be found without the CSV ("or ants" alone under it left both to guess)."""
    guess = f"#{row['rank']} {row['predicted']} {pct(row['probability'])}"  # as the table says it
    else_line = f"else {row['runner_up']}" if row["runner_up"] is not None else ""
    return f"{guess}\n{else_line}\n{Path(row['input']).name}"
