"""From folders to a saved model: split classes, meta-train, fit the head, write the bundle.

Example:
    >>> from handful.fewshot.training import train_model
    >>> train_model(["omniglot/images_background"], "models/omniglot", nested=True)
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..backbones.tuned import mark_tuned
from ..bundle.store import check_out_free
from ..classifier import Classifier
from ..errors import DataError
from .conv4 import Conv4Backbone
from .encoder import FewShotEncoder
from .episodes import EpisodeSampler, evaluate_episodes, split_classes
from .protonet import (
    EXTRA_PREFIX,
    History,
    ProtoNetConfig,
    n_episode_classes,
    resolve_precision,
    train_protonet,
)
from .sources import as_folders, load_arrays, restrict, scan_many

VARIANTS = {"protonet": "conv4_omniglot", "gaussian": "conv4_omniglot_gaussian"}
HELDOUT_CHECKS = ((5, 1), (20, 1))  # (ways, shots) reported on held-out classes after training
HELDOUT_QUERIES = 15  # queries per class in those episodes
# Test-time shifts saved with a Conv-4 model, chosen on the 19 Omniglot validation characters
# (benchmarks/omniglot_tta_probe.py, 19-way 1-shot: 0 px 92.9%, 1 px 94.0%, 2 px 94.4%, 3 px 94.5%,
# 4 px 94.6% at 1.7x the cost of 3), never on held-out alphabets or Lake's runs.
DEFAULT_TTA_SHIFT = 3


def split_for_training(classes: list[str], eval_fraction: float | None, by_parent: bool,
                       val_fraction: float, seed: int) -> dict[str, list[str]]:
    """{"train", "val", "heldout"} class lists: held-out first (by parent if asked), then val."""
    train, heldout = list(classes), []
    if eval_fraction is not None or by_parent:
        train, heldout = split_classes(classes, eval_fraction, by_parent, seed)
    val = []
    if val_fraction > 0:
        train, val = split_classes(train, val_fraction, False, seed, option="--val-fraction")
    return {"train": train, "val": val, "heldout": heldout}


def _encoder_functions(backbone) -> tuple[torch.nn.Module, Callable, Callable]:
    """(module to train, encode(x) -> outputs, to_tensor(arrays) -> x) for a tunable backbone."""
    if not hasattr(backbone, "tunable_module") or not hasattr(backbone, "features"):
        raise DataError(f"Backbone '{backbone.name}' cannot be meta-trained (it exposes no trainable "
                        "network). Use conv4_omniglot or efficientnet_lite0.")
    module = backbone.tunable_module()
    if hasattr(backbone, "to_tensor"):
        return module, module, backbone.to_tensor
    from ..backbones.image_input import to_tensor

    return module, backbone.features, lambda arrays: to_tensor(list(arrays), backbone.info)


def train_model(data: str | Path | Sequence[str | Path], out: str | Path, config: ProtoNetConfig | None = None,
                variant: str = "protonet", backbone: str | None = None, nested: bool = False,
                split_by_parent: bool = False, eval_fraction: float | None = None,
                val_fraction: float = 0.1, threads: int = 2, force: bool = False,
                extra_train: str | Path | Sequence[str | Path] = (), tta_shift: int | None = None,
                on_episode: Callable[[int, dict], None] | None = None,
                log: Callable[[str], None] = print) -> dict:
    """Meta-train on the classes of ``data`` (a folder, or a list of them) and save a model
    directory; returns the report.

    ``extra_train`` folders add classes to the training episodes only: they are never split off
    for validation or held out, and the saved model's own classes stay those of ``data``.
    ``tta_shift`` (None: ``DEFAULT_TTA_SHIFT`` for a Conv-4 encoder, 0 otherwise) is saved with
    the model: its embeddings average the image shifted by up to that many pixels.
    """
    started = time.perf_counter()
    config = config or ProtoNetConfig()
    data, extra_train = as_folders(data), as_folders(extra_train)
    if variant not in VARIANTS:
        raise DataError(f"Unknown --variant '{variant}'. Choose protonet or gaussian.")
    config.check()
    if not 0 <= val_fraction < 1:
        raise DataError(f"--val-fraction must be at least 0 and below 1 (0: no validation). Got {val_fraction}.")
    for folder in data:
        check_out_free(out, force, folder)  # before minutes of training, not after
    resolve_precision(config.precision)  # a bad value fails before any data is read
    torch.set_num_threads(max(1, threads))
    examples, n_dup = scan_many(data, nested=nested)
    extra_examples = scan_many(extra_train, nested=nested, what="--extra-train folder")[0] if extra_train else None
    split = split_for_training(list(examples.classes), eval_fraction, split_by_parent, val_fraction,
                               config.seed)
    split = _fold_back_small_val(split, Counter(examples.labels), config, val_fraction, log)
    if len(split["train"]) < 2:
        raise DataError(f"Meta-training needs at least 2 training classes; {examples.source} leaves "
                        f"{len(split['train'])} after the held-out and validation splits.")
    _check_episode_classes(examples, split["train"], extra_examples, config)
    _check_extra_apart(extra_examples, split)
    clf = Classifier(backbone=backbone or VARIANTS[variant], head="prototype",
                     head_params={"metric": "euclidean", "temperature": 1.0})
    encoder = FewShotEncoder(clf, {"metric": "euclidean"})
    if variant == "gaussian" and not encoder.extra:
        raise DataError(f"The gaussian variant needs an encoder with a confidence output "
                        f"(conv4_omniglot_gaussian); '{encoder.backbone.name}' has none.")
    if tta_shift is None and isinstance(encoder.backbone, Conv4Backbone):
        tta_shift = DEFAULT_TTA_SHIFT
    encoder.set_tta_shift(tta_shift)  # inference only (training runs the module); fails before any data is read
    module, encode, to_tensor = _encoder_functions(encoder.backbone)
    arrays, used = load_arrays(encoder.backbone, restrict(examples, split["train"] + split["val"]))
    labels = np.asarray(used.labels, dtype=object)
    is_train = np.isin(labels, split["train"])
    extra = _extra_arrays(encoder.backbone, extra_examples)
    log(f"Meta-training on {len(split['train'])} classes ({int(is_train.sum())} images)"
        + (f" + {len(set(extra[1]))} extra classes ({len(extra[1])} images)" if extra else "")
        + f", validating on {len(split['val'])}, holding out {len(split['heldout'])}; "
        f"{n_dup} duplicate files dropped")
    train_arrays, train_labels = arrays[is_train], labels[is_train]
    if extra:
        train_arrays, train_labels = np.concatenate([train_arrays, extra[0]]), \
            np.concatenate([train_labels, extra[1]])
    episode_ways = min(config.n_way, n_episode_classes(train_labels, config))
    if episode_ways < config.n_way:  # the --ways asked are more than there are: say what is trained
        log(f"Training episodes are {episode_ways}-way, not --ways {config.n_way}: that is every training "
            "class" + (" in each rotation" if config.rotations else "") + (" and mirror image" if config.flips
                                                                          else "") + ".")
    history = train_protonet(module, encode, to_tensor, (train_arrays, train_labels),
                             (arrays[~is_train], labels[~is_train]) if split["val"] else None,
                             config, encoder.extra, on_episode)
    mark_tuned(encoder.backbone)
    train_emb = encoder.embed_arrays(arrays[is_train])[:, :encoder.backbone.dim]
    clf.fit_embeddings(train_emb, used.subset(np.flatnonzero(is_train)))
    heldout, not_reported = _heldout_report(encoder, examples, split["heldout"], config.seed, out)
    report = _report(config, variant, split, history, heldout, data, n_dup, used, encoder.tta_shift)
    report["heldout_not_reported"] = not_reported
    report["episode_ways"] = episode_ways  # config's n_way, or fewer when there are fewer classes
    # how the classes were split (the seed is config's): `handful episodes` names it when its own differs
    report["split"] = {"eval_fraction": eval_fraction, "split_by_parent": split_by_parent}
    report["extra_train"] = {"data": [str(d) for d in extra_train],
                             "classes": len(set(extra[1])) if extra else 0,
                             "images": len(extra[1]) if extra else 0}
    metrics = {f"heldout_{k}": v["accuracy"] for k, v in heldout.items()}
    if history.validation:  # else there is no validation accuracy, not one of 0
        metrics["best_val_accuracy"] = history.best_val_accuracy
    path = clf.save(out, force=force, metrics=metrics, extra_meta={"fewshot": report})
    report.update(model=str(path), seconds=round(time.perf_counter() - started, 1), heldout=heldout)
    return report


def _fold_back_small_val(split: dict[str, list[str]], counts: Counter, config: ProtoNetConfig,
                         val_fraction: float, log: Callable[[str], None]) -> dict[str, list[str]]:
    """Validation episodes need 2 classes with a shot and a query; fewer validation classes would
    be neither validated nor trained on, so they go back to training (and the log says so)."""
    ready = sum(counts[c] >= config.val_shots + 1 for c in split["val"])
    if not split["val"] or ready >= 2:
        return split
    n_val = len(split["val"])
    log(f"--val-fraction {val_fraction:g} sets apart {n_val} class{'' if n_val == 1 else 'es'} for validation, "
        f"{ready} with {config.val_shots + 1}+ images, and validation episodes need 2 such classes: "
        f"{'it is' if n_val == 1 else 'they are'} trained on instead (no early stopping). Raise "
        "--val-fraction to validate.")
    return {**split, "train": sorted(split["train"] + split["val"]), "val": []}


def _check_episode_classes(examples, train_classes: list[str], extra_examples, config: ProtoNetConfig) -> None:
    """A training episode draws shots + queries images of a class: at least 2 classes must have them."""
    need = config.n_shot + config.n_query
    counts = Counter(examples.labels)
    sizes = [counts[c] for c in train_classes]
    if extra_examples is not None:
        sizes += list(Counter(extra_examples.labels).values())
    if sum(n >= need for n in sizes) < 2:
        raise DataError(f"Training episodes need at least 2 classes with {need} images or more ({config.n_shot} "
                        f"--shots + {config.n_query} --queries); {sum(n >= need for n in sizes)} of the "
                        f"{len(sizes)} training classes of {examples.source} have that many (the largest "
                        f"has {max(sizes)}). Lower --shots or --queries, or add images.")
    small = [c for c in train_classes if counts[c] < need]
    if small:
        warnings.warn(f"{len(small)} of the {len(train_classes)} training classes ({', '.join(small[:3])}"
                      f"{', ...' if len(small) > 3 else ''}) have fewer than {need} images ({config.n_shot} "
                      f"--shots + {config.n_query} --queries) and are left out of the training episodes.",
                      stacklevel=3)


def _check_extra_apart(extra_examples, split: dict) -> None:
    """Extra training classes must not be the held-out or validation classes of DATA: those would be
    trained on, and their accuracy reported as if never seen."""
    if extra_examples is None:
        return
    shared = sorted(set(extra_examples.classes) & set(split["heldout"] + split["val"]))
    if shared:
        raise DataError(f"--extra-train {extra_examples.source} holds {len(shared)} classes that are held out "
                        f"or validated from DATA ({', '.join(shared[:3])}{', ...' if len(shared) > 3 else ''}); "
                        "training on them would make those scores meaningless. Remove them from --extra-train, "
                        "or give that folder as DATA instead.")


def _extra_arrays(backbone, examples) -> tuple[np.ndarray, np.ndarray] | None:
    """(uint8 arrays, labels prefixed EXTRA_PREFIX) of the training-only classes, or None without any."""
    if examples is None:
        return None
    arrays, used = load_arrays(backbone, examples)
    return arrays, np.asarray([f"{EXTRA_PREFIX}{label}" for label in used.labels], dtype=object)


def _heldout_report(encoder: FewShotEncoder, examples, heldout: list[str], seed: int,
                    out: str | Path) -> tuple[dict, str | None]:
    """Episode accuracy on the held-out classes per HELDOUT_CHECKS, and why checks were left out
    (None when none was, or when no class is held out); a left-out check is also a warning."""
    if not heldout:
        return {}, None
    held = restrict(examples, heldout)
    report = {}
    drawable = [(w, s) for w, s in HELDOUT_CHECKS if _can_draw(Counter(held.labels), w, s)]
    if drawable:  # else embedding them would be wasted
        embeddings, failures = encoder.embed_items(held.items)
        if failures:
            keep = [i for i in range(len(held)) if i not in failures]
            embeddings, held = embeddings[keep], held.without(failures)
        _, scorer = encoder.scorer("auto")
        for ways, shots in drawable:
            if _can_draw(Counter(held.labels), ways, shots):  # unreadable files may have left fewer
                sampler = EpisodeSampler(held.labels, ways, shots, HELDOUT_QUERIES)
                report[f"{ways}-way {shots}-shot"] = evaluate_episodes(embeddings, sampler, 600, scorer, seed)
    missing = [(w, s) for w, s in HELDOUT_CHECKS if f"{w}-way {s}-shot" not in report]
    if not missing:
        return report, None
    reason = _why_not_drawn(Counter(held.labels), missing)
    warnings.warn(f"No held-out accuracy for {len(missing)} of the {len(HELDOUT_CHECKS)} checks: {reason}. Add "
                  "drawings to the held-out classes or hold out more classes (--eval-fraction), or score them "
                  f"with `handful episodes --model {out}` and fewer --queries.", stacklevel=3)
    return report, reason


def _can_draw(counts: Counter, ways: int, shots: int) -> bool:
    """True when ``ways`` classes have the ``shots`` + HELDOUT_QUERIES images an episode draws."""
    return sum(n >= shots + HELDOUT_QUERIES for n in counts.values()) >= ways


def _why_not_drawn(counts: Counter, missing: list[tuple[int, int]]) -> str:
    """Why the ``missing`` (ways, shots) checks cannot draw episodes from classes of ``counts``."""
    needs = "; ".join(f"{ways}-way {shots}-shot episodes need {ways} held-out classes with {shots + HELDOUT_QUERIES} "
                      f"drawings or more ({shots} shot + {HELDOUT_QUERIES} queries)" for ways, shots in missing)
    if not counts:
        return f"{needs}; none of the held-out images could be read"
    need = min(shots for _, shots in missing) + HELDOUT_QUERIES
    smallest = min(sorted(counts), key=counts.get)
    n_enough = sum(n >= need for n in counts.values())
    return (f"{needs}; {n_enough} of the {len(counts)} held-out classes have {need} or more (the smallest, "
            f"'{smallest}', has {counts[smallest]})")


def _report(config: ProtoNetConfig, variant: str, split: dict, history: History, heldout: dict,
            data, n_dup: int, used, tta_shift: int) -> dict:
    return {
        "method": variant, "metric": "gaussian" if variant == "gaussian" else "euclidean",
        "tta_shift": tta_shift,
        "config": config.to_json(), "history": history.to_json(),
        "data": [str(d) for d in data], "duplicates_dropped": n_dup,
        "train_classes": split["train"], "val_classes": split["val"], "heldout_classes": split["heldout"],
        "seen_classes": split["train"] + split["val"],
        "heldout_summary": {k: {"accuracy": v["accuracy"], "ci95": v["ci95"]} for k, v in heldout.items()},
        "skipped": [{"path": p, "reason": r} for p, r in used.skipped],
    }
