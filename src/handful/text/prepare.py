"""Get a text backbone ready before the head: word2vec on unlabeled text, SetFit tuning.

``handful train`` and ``handful kshot`` call these so the commands stay thin:

- ``--backbone word2vec --unlabeled more.txt``: learn word vectors from the unlabeled
  sentences (plus the labeled texts, without their labels), then embed as usual.
- ``--finetune``: contrastive (SetFit) tuning of the sentence encoder on the labeled texts.
  ``handful kshot --finetune`` tunes afresh from the pretrained weights for every draw.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..backbones.tuned import mark_tuned
from ..data import Examples, read_table
from ..errors import DataError, DataNotFoundError
from ..evaluate.kshot import run_kshot
from .setfit import SetFitConfig, contrastive_finetune, finetune_backbone, split_encoder, warn_long_texts

TUNABLE_DEFAULT = "minilm"
FitHead = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


UNLABELED_FORMS = "Give a .txt with one text per line, or a CSV/TSV with a column named 'text'."


def read_unlabeled(path: str | Path) -> list[str]:
    """Texts of an unlabeled file: one per line (.txt), or the text column of a CSV/TSV."""
    path = Path(path)
    if not path.is_file():
        missing = DataError if path.exists() else DataNotFoundError
        raise missing(f"--unlabeled '{path}' {'is a folder' if path.is_dir() else 'does not exist'}. "
                      + UNLABELED_FORMS)
    try:
        table = read_table(path, labeled=False)
    except DataError as err:  # its advice is for the labeled table: --text-column, "text and label"
        raise DataError(f"--unlabeled '{path}' {_unlabeled_problem(err)}. {UNLABELED_FORMS}") from None
    if not table.items:
        raise DataError(f"--unlabeled '{path}' has no texts. {UNLABELED_FORMS}")
    if table.skipped:
        warnings.warn(f"{path}: {len(table.skipped)} unlabeled rows skipped (empty or malformed).",
                      stacklevel=2)
    return list(table.items)


def _unlabeled_problem(err: DataError) -> str:
    message = str(err)
    if "is empty" in message:
        return "has no texts"
    if "which column" in message:
        columns = message.split("found columns ", 1)[-1].split("]", 1)[0] + "]"
        return f"has no text column we know by name (found {columns})"
    return f"cannot be read ({message})"


def check_text_options(clf, modality: str, finetune: bool, unlabeled: Path | None) -> None:
    """Validate --finetune / --unlabeled against the data and the backbone; pick the default
    backbone they need (``minilm`` for tuning) when the backbone is ``auto``."""
    if not (finetune or unlabeled):
        return
    if modality != "text":
        flag = "--finetune" if finetune else "--unlabeled"
        raise DataError(f"{flag} is for text tables; the data holds {modality}s. For images use "
                        "`handful finetune`, or drop the option.")
    if finetune and unlabeled:
        raise DataError("--finetune tunes a pretrained sentence encoder and --unlabeled trains "
                        "word2vec from scratch; use one of them.")
    if finetune and clf.backbone == "auto":
        clf.backbone = TUNABLE_DEFAULT
    if finetune and clf.backbone.replace("-", "_") == "word2vec":
        raise DataError("--finetune tunes a pretrained sentence encoder; backbone 'word2vec' learns its "
                        "vectors from your texts instead. Use --backbone minilm with --finetune, or drop "
                        "--finetune.")
    if unlabeled and clf.backbone.replace("-", "_") != "word2vec":
        raise DataError(f"--unlabeled trains word vectors for --backbone word2vec; backbone "
                        f"'{clf.backbone}' is pretrained and does not use unlabeled text. Add "
                        "--backbone word2vec, or drop --unlabeled.")


def pretrain_word2vec(clf, examples: Examples, unlabeled: list[str] | None) -> dict | None:
    """Train ``clf``'s word2vec backbone on ``unlabeled`` + the texts of ``examples``."""
    backbone = clf.backbone_for("text")
    if not hasattr(backbone, "fit_unlabeled"):
        return None
    if not unlabeled:
        warnings.warn("word2vec learns only from the labeled texts here; give more in-domain "
                      "sentences with --unlabeled FILE.", stacklevel=2)
    stats = backbone.fit_unlabeled(list(unlabeled or []) + list(examples.items))
    return {"word2vec": stats, "n_unlabeled": len(unlabeled or [])}


def finetune_for_training(clf, examples: Examples, config: SetFitConfig,
                          on_step: Callable[[int, float], None] | None = None) -> dict:
    """SetFit-tune ``clf``'s encoder on ``examples``. The head is then fitted on the tuned
    embeddings; a head search would be scored on texts the encoder was tuned on, so ``auto``
    becomes logistic regression (SetFit's head)."""
    report = finetune_backbone(clf.backbone_for("text"), examples.items, examples.labels, config,
                               on_step)
    if clf.head == "auto":
        clf.head = "logistic"
    return {"finetune": report.to_json()}


def finetune_kshot(clf, pool: Examples, test: Examples, shots: list[int], repeats: int,
                   config: SetFitConfig, fit_head: FitHead, seed: int = 0,
                   on_repeat=None) -> dict:
    """K-shot accuracy with SetFit tuning per draw (restarting from the pretrained weights).

    The frozen layers run once per distinct text (the test set once for all draws); each draw
    tunes the top layers on its K per class, re-embeds its training texts and the test set,
    and fits the head with ``fit_head(X_train, y_train, X_test)``.
    """
    backbone = clf.backbone_for("text")
    warn_long_texts(backbone, list(pool.items) + list(test.items))  # no feature cache here to say it
    encoder = split_encoder(backbone, config.n_tuned_layers)
    encoder.check_matches_model(list(test.items[:8]))
    snapshot, info = encoder.snapshot(), backbone.info
    test_texts = list(test.items)
    encoder.bottom(test_texts)
    reports, seconds = [], []

    def fit_predict(idx_train, y_train, _idx_test):
        started = time.perf_counter()
        texts = [pool.items[int(i)] for i in idx_train[:, 0]]
        encoder.restore(snapshot)
        backbone.info = info
        draw_config = SetFitConfig(**{**config.__dict__, "seed": config.seed + len(reports)})
        reports.append(contrastive_finetune(encoder, texts, list(y_train), draw_config))
        mark_tuned(backbone)  # class-name embeddings (zero-shot prior) use the tuned weights
        predicted = fit_head(encoder.embed(texts), y_train, encoder.embed(test_texts))
        seconds.append(time.perf_counter() - started)
        return predicted

    try:
        result = run_kshot(np.arange(len(pool))[:, None], np.asarray(pool.labels, dtype=object),
                           np.arange(len(test))[:, None], np.asarray(test.labels, dtype=object),
                           shots, repeats, fit_predict, seed=seed, on_repeat=on_repeat)
    finally:
        encoder.restore(snapshot)
        backbone.info = info
    for i, k in enumerate(result["shots"]):
        runs = reports[i * repeats:(i + 1) * repeats]
        result["shots"][k]["finetune_seconds"] = [round(r.seconds, 2) for r in runs]
        result["shots"][k]["draw_seconds"] = [round(s, 2) for s in seconds[i * repeats:(i + 1) * repeats]]
        result["shots"][k]["n_pairs"] = [r.n_pairs for r in runs]
    result["finetune"] = {k: v for k, v in config.__dict__.items()}
    return result


def prepare_for_training(clf, examples: Examples, finetune: bool, max_pairs: int,
                         unlabeled: Path | None, seed: int = 0,
                         say: Callable[[str], None] = print) -> dict:
    """``handful train``'s text options: word2vec pretraining and/or SetFit tuning of ``clf``'s
    backbone before the labeled examples are embedded. Returns a JSON report ({} if unused)."""
    check_text_options(clf, examples.modality, finetune, unlabeled)
    report: dict = {}
    if examples.modality != "text":
        return report
    if clf.backbone.replace("-", "_") == "word2vec":
        texts = read_unlabeled(unlabeled) if unlabeled else None
        report.update(pretrain_word2vec(clf, examples, texts) or {})
        stats = report["word2vec"]
        n_unlabeled = report["n_unlabeled"]
        say(f"word2vec: {stats['n_words']} words from {stats['n_texts']} texts ({n_unlabeled} "
            f"unlabeled + {stats['n_texts'] - n_unlabeled} labeled, their labels unused; "
            f"{stats['n_tokens']} tokens, {stats['epochs']} epochs)")
    if finetune:
        config = SetFitConfig(max_pairs=max_pairs, seed=seed)
        report.update(finetune_for_training(clf, examples, config))
        tuned = report["finetune"]
        say(f"Contrastive fine-tuning: {tuned['n_pairs']} pairs, {tuned['n_steps']} steps, "
            f"{tuned['seconds']:.1f} s (loss {tuned['loss_first']:.3f} -> {tuned['loss_last']:.3f})")
    return report


def prepare_for_kshot(clf, pool: Examples, finetune: bool, max_pairs: int,
                      unlabeled: Path | None, seed: int = 0) -> tuple[SetFitConfig | None, dict]:
    """``handful kshot``'s text options. word2vec is trained once, on ``--unlabeled`` plus the
    pool's texts (never its labels); SetFit tuning happens per draw (see ``finetune_kshot``)."""
    check_text_options(clf, pool.modality, finetune, unlabeled)
    report: dict = {}
    if pool.modality == "text" and clf.backbone.replace("-", "_") == "word2vec":
        texts = read_unlabeled(unlabeled) if unlabeled else []
        if not texts:  # as train says it: the pool alone is seldom enough text for word vectors
            warnings.warn(f"word2vec learns only from the pool's {len(pool)} texts here (their labels "
                          "unused); give more in-domain sentences with --unlabeled FILE.", stacklevel=2)
        stats = clf.backbone_for("text").fit_unlabeled(texts + list(pool.items))
        report = {"word2vec": stats, "n_unlabeled": len(texts)}
    if finetune and clf.head == "auto":
        clf.head = "logistic"  # as in training: no head search on texts the encoder was tuned on
    return (SetFitConfig(max_pairs=max_pairs, seed=seed) if finetune else None), report
