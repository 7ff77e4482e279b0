"""``handful episodes``: N-way K-shot accuracy over random episodes, with a 95% CI."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ..errors import DataError, DataNotFoundError
from ..fewshot.sources import load_arrays, restrict, scan_many, with_rotations
from .main import app
from .options import JsonOpt, NestedOpt, SeedOpt
from .output import Output, pct, plural

if TYPE_CHECKING:
    from ..data import Examples
    from ..fewshot.encoder import FewShotEncoder
    from ..fewshot.episodes import EpisodeSampler

SplitByParentOpt = Annotated[bool, typer.Option(
    "--split-by-parent", help="Split classes by parent folder (whole alphabets on one side).")]
DataArg = Annotated[list[Path], typer.Argument(
    help="Class-per-folder image tree(s); merged, duplicate files dropped.")]
ModelOpt = Annotated[Path | None, typer.Option(help="Model directory (e.g. from `handful protonet train`).")]
EvalFractionOpt = Annotated[float | None, typer.Option(
    help="Hold out this fraction of classes (of parents with --split-by-parent) for evaluation, "
         "between 0 and 1 (exclusive): at least 1 and never all of them are held out; default "
         "0.25 when --split-by-parent is given.")]
AsIsBackboneOpt = Annotated[str | None, typer.Option(
    "--backbone", help="Backbone to evaluate as it is (default without --model: efficientnet_lite0).")]
MetricOpt = Annotated[str, typer.Option(help="auto, euclidean, cosine or gaussian.")]
FinetuneStepsOpt = Annotated[int, typer.Option(help="Fine-tune a copy of a Conv-4 encoder on each "
                                               "support set for this many steps (0: off).")]
FinetuneLrOpt = Annotated[float, typer.Option(help="Learning rate of test-time fine-tuning (> 0).")]
TtaShiftOpt = Annotated[int | None, typer.Option(
    help="Average each Conv-4 embedding over the image shifted by up to N pixels ((2N+1)^2 passes; "
         "default: the model's setting; 0: off).", min=0)]
TransductiveOpt = Annotated[bool, typer.Option(
    "--transductive", help="Refine each class mean with the unlabeled queries scored with it (an episode, a run) "
                           "(EM; euclidean metric of a ProtoNet model). Off: each query on its own.")]
RotationsOpt = Annotated[bool, typer.Option(
    "--rotations", help="Count each 90° rotation of an evaluation class as a class of its own, in support "
                        "and queries alike (4x the classes: the Omniglot test protocol of Vinyals et al. 2016 "
                        "and Snell et al. 2017). `protonet train --rotations` turns training classes instead.")]


def open_encoder(model: Path | None, backbone: str | None, finetune_steps: int = 0,
                 tta_shift: int | None = None, finetune_lr: float = 1e-4) -> FewShotEncoder:
    """The encoder of --model or --backbone (not both), checked for --finetune-steps/-lr, with --tta-shift."""
    from ..fewshot.encoder import FewShotEncoder
    if model is not None and backbone is not None:
        raise DataError("Give --model or --backbone, not both.")
    if finetune_steps < 0:
        raise DataError(f"--finetune-steps must be >= 0. Got {finetune_steps}.")
    if not finetune_lr > 0:
        raise DataError(f"--finetune-lr must be more than 0. Got {finetune_lr}.")
    if model is not None and not model.exists():  # the bundle's own message names every model writer
        raise DataNotFoundError(f"--model '{model}' does not exist; expected a model directory. Train one "
                                "with `handful protonet train DATA --out DIR` and pass --model DIR, or give "
                                "--backbone NAME to evaluate a backbone as it is.")
    encoder = FewShotEncoder.from_model(model) if model else FewShotEncoder.from_backbone(backbone or "auto")
    if finetune_steps and not encoder.can_finetune:
        raise DataError(f"--finetune-steps needs a Conv-4 encoder; '{encoder.backbone.name}' is not "
                        "one. Drop --finetune-steps.")
    encoder.set_tta_shift(tta_shift)
    return encoder


def eval_classes(classes: list[str], eval_fraction: float | None, by_parent: bool, seed: int,
                 seen: set[str], trained: dict | None = None,
                 short: Collection[str] = ()) -> tuple[list[str], str, str]:
    """The classes to draw episodes from, a sentence saying which and why, and the advice for
    when they are too few for the episodes asked. ``trained``: the model's few-shot record
    (its DATA, split and held-out classes), named when this split is not its own. ``short``: the
    classes with too few examples for an episode, counted apart in the sentence (never drawn from)."""
    from ..fewshot.episodes import parent_of, split_classes
    unseen = [c for c in classes if c not in seen]
    if eval_fraction is not None or by_parent:
        _, held = split_classes(classes, eval_fraction, by_parent, seed)
        overlap = sorted(set(held) & seen)
        if overlap:
            raise DataError(held_out_seen(overlap, len(held), len(unseen), trained or {}))
        groups = sorted({parent_of(c) for c in held}) if by_parent else []
        what = f"parents {', '.join(groups)}" if groups else "classes"
        count, more = _drawn(held, short)
        note = f"held-out {what} ({'; '.join([count, *more])})"
        if seen:  # a larger fraction would hold out classes the model was trained on: refused above
            return held, note, (f"Only the {note} are drawn from (a larger --eval-fraction would take in "
                                "classes the model was trained on): lower --ways, --shots or --queries.")
        return held, note, (f"Only the {note} are drawn from: raise --eval-fraction, or lower --ways, "
                            "--shots or --queries.")
    if not unseen:
        raise DataError(f"All {len(classes)} classes of DATA were used to train the model, and episodes "
                        "score classes it has not seen. Give DATA with other classes (Omniglot: "
                        "images_evaluation), or evaluate the held-out ones with the --split-by-parent, "
                        "--eval-fraction and --seed of `handful protonet train`.")
    count, more = _drawn(unseen, short)
    if len(unseen) < len(classes):
        more.append(f"the {len(classes) - len(unseen)} the model was trained on are left out")
    note = count + (f" ({'; '.join(more)})" if more else "")
    fix = ("Lower --ways, --shots or --queries, or add classes." if len(unseen) == len(classes) else
           f"Only the {len(unseen)} classes the model was not trained on are drawn from: lower --ways, "
           "--shots or --queries, or add classes it has not seen.")
    return unseen, note, fix


def _drawn(classes: list[str], short: Collection[str]) -> tuple[str, list[str]]:
    """("7 classes": the count of ``classes`` drawn from, and ["1 more with too few examples is left
    out"] when some are in ``short``, too small for an episode; [] otherwise)."""
    n_short = len(set(classes) & set(short))
    more = [f"{n_short} more with too few examples {'is' if n_short == 1 else 'are'} left out"] if n_short else []
    return plural(len(classes) - n_short, "class"), more


def left_out(sampler: EpisodeSampler, classes: Collection[str]) -> list[dict]:
    """The classes of ``classes`` the sampler leaves out for too few examples, with their sizes
    (``classes`` drops the rotated copies of --rotations: each is as short as its class)."""
    return [{"class": c, "n": int(len(sampler.members[c]))} for c in sampler.too_small if c in classes]


def left_out_line(short: list[dict], need: int, most: int = 5) -> str:
    """"2 classes have fewer than 16 examples and were left out: 'a' (3), 'b' (1)"."""
    names = ", ".join(f"'{s['class']}' ({s['n']})" for s in short[:most])
    more = f" and {len(short) - most} more (see --json)" if len(short) > most else ""
    one = len(short) == 1
    return (f"{plural(len(short), 'class')} {'has' if one else 'have'} fewer than {need} examples and "
            f"{'was' if one else 'were'} left out: {names}{more}.")


def held_out_seen(overlap: list[str], n_held: int, n_unseen: int, trained: dict) -> str:
    """The error of a held-out split that takes in classes the model was trained on: how the model
    was trained (its DATA, split options and held-out classes, as far as it recorded them) and the fix."""
    from ..fewshot.episodes import parent_of
    unseen = (f"drop --split-by-parent and --eval-fraction to draw from the {n_unseen} classes of DATA it never "
              "saw" if n_unseen else "give DATA with classes it never saw")
    start = (f"The model was trained on {len(overlap)} of the {n_held} held-out classes (e.g. '{overlap[0]}')")
    if not trained.get("data"):  # a model of `handful train` holds no classes out
        return f"{start}, and it held none out: {unseen}."
    split, seed = trained.get("split") or {}, (trained.get("config") or {}).get("seed")
    flags = (" --split-by-parent" if split.get("split_by_parent") else "") + (
        f" --eval-fraction {split['eval_fraction']:g}" if split.get("eval_fraction") is not None else "")
    flags += f" --seed {seed}" if flags and seed is not None else ""
    held = trained.get("heldout_classes") or []
    parents = sorted({parent_of(c) for c in held})
    what = (f"parents {', '.join(parents)}" if split.get("split_by_parent") and parents
            else f"{len(held)} classes" if held else "no classes")
    return (f"{start}: `handful protonet train` read {' + '.join(trained['data'])}{' with' + flags if flags else ''} "
            f"and held out {what}. Pass that DATA with the same --eval-fraction, --split-by-parent and --seed, "
            f"or {unseen}.")


def check_drawable(out: Output, examples: Examples, ways: int, shots: int, queries: int, rotations: bool,
                   fix: str) -> None:
    """Fail before the embedding (minutes on a large set) when these examples cannot fill the episodes."""
    labels = examples.labels
    if rotations:  # each class and its 3 turned copies: 4 classes of the same size
        labels = [f"{label}@{k}" for k in range(4) for label in labels]
    sampler_of(out, examples, labels, ways, shots, queries, fix)


def sampler_of(out: Output, examples: Examples, labels, ways: int, shots: int, queries: int,
               fix: str) -> EpisodeSampler:
    """The episode sampler of ``labels``; when they cannot fill the episodes, the skipped files
    (which may be why) are listed before the error, which counts them."""
    from ..fewshot.episodes import EpisodeSampler
    try:
        return EpisodeSampler(labels, ways, shots, queries, fix=fix, skipped=examples.skipped)
    except DataError:
        _print_skipped(out, examples)
        raise


def accuracy_text(result: dict) -> str:
    """"83.3% ± 2.10 (95% t-interval 81.2%-85.4%" or, for one episode, "83.3% ± - (95% CI -: one
    episode has no spread"; the caller closes the parenthesis."""
    if result["ci95"] is None:
        return f"{pct(result['accuracy'])} ± - (95% CI -: one episode has no spread"
    lo, hi = result["ci95"]
    return f"{pct(result['accuracy'])} ± {100 * result['ci95_halfwidth']:.2f} (95% t-interval {pct(lo)}-{pct(hi)}"


def _print_skipped(out: Output, examples: Examples, most: int = 10) -> None:
    for path, reason in examples.skipped[:most]:
        out.print(f"  skipped {path}: {reason}")
    if len(examples.skipped) > most:
        out.print(f"  ... and {len(examples.skipped) - most} more")


@app.command()
def episodes(
    data: DataArg,
    ways: Annotated[int, typer.Option(help="Classes per episode (N).")] = 5,
    shots: Annotated[int, typer.Option(help="Support examples per class (K).")] = 1,
    queries: Annotated[int, typer.Option(help="Query examples per class.")] = 15,
    n_episodes: Annotated[int, typer.Option("--episodes", help="Number of episodes.")] = 600,
    seed: SeedOpt = 0,
    backbone: AsIsBackboneOpt = None,
    model: ModelOpt = None,
    metric: MetricOpt = "auto",
    nested: NestedOpt = False,
    split_by_parent: SplitByParentOpt = False,
    eval_fraction: EvalFractionOpt = None,
    finetune_steps: FinetuneStepsOpt = 0,
    finetune_lr: FinetuneLrOpt = 1e-4,
    tta_shift: TtaShiftOpt = None,
    transductive: TransductiveOpt = False,
    rotations: RotationsOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Accuracy over N-way K-shot episodes drawn from DATA (mean and 95% CI, a t-interval over episodes)."""
    from ..fewshot.episodes import check_episode_shape, evaluate_episodes, evaluate_episodes_with
    out = Output(as_json)
    started = time.perf_counter()
    if n_episodes < 1:
        raise DataError(f"--episodes must be >= 1. Got {n_episodes}.")
    check_episode_shape(ways, shots, queries)  # before the model loads and the data is read
    encoder = open_encoder(model, backbone, finetune_steps, tta_shift, finetune_lr)
    examples, n_dup = scan_many(data, nested=nested)
    short = [c for c, n in Counter(examples.labels).items() if n < shots + queries]
    classes, note, fix = eval_classes(list(examples.classes), eval_fraction, split_by_parent, seed,
                                      encoder.seen_classes, encoder.meta, short)
    examples = restrict(examples, classes)
    metric_name, scorer = encoder.scorer(metric, transductive)  # its options fail first
    check_drawable(out, examples, ways, shots, queries, rotations, fix)
    shift = encoder.tta_shift
    out.print(f"Episodes from {note} of {examples.source}; encoder {encoder.source}, metric {metric_name}"
              + (f", test-time shifts up to {shift} px" if shift else "")
              + (", transductive prototypes" if transductive else "")
              + (", each 90° rotation a class" if rotations else ""))
    if finetune_steps or rotations:
        arrays, examples = load_arrays(encoder.backbone, examples)
        if rotations:
            arrays, examples = with_rotations(arrays, examples)
        if not finetune_steps:  # rotated copies have no file, so no cache
            with out.progress("Embedding", len(arrays)) as advance:
                embeddings = encoder.embed_arrays(arrays, advance)
    else:
        with out.progress("Embedding", len(examples)) as advance:
            embeddings, failures = encoder.embed_items(examples.items, advance)
        if failures:
            keep = [i for i in range(len(examples)) if i not in failures]
            embeddings, examples = embeddings[keep], examples.without(failures)
    sampler = sampler_of(out, examples, examples.labels, ways, shots, queries, fix)  # unreadable files may leave fewer
    with out.progress(f"{ways}-way {shots}-shot episodes", n_episodes) as advance:
        if finetune_steps:
            def embed_episode(ep):
                return encoder.finetuned_embeddings(arrays[ep.support], ep.support_y, arrays[ep.query],
                                                    ways, finetune_steps, finetune_lr, seed)

            result = evaluate_episodes_with(embed_episode, sampler, n_episodes, scorer, seed,
                                            lambda i, acc: advance(1))
        else:
            result = evaluate_episodes(embeddings, sampler, n_episodes, scorer, seed,
                                       lambda i, acc: advance(1))
    out.print(f"{ways}-way {shots}-shot accuracy: {accuracy_text(result)}, {plural(n_episodes, 'episode')}, "
              f"{plural(len(sampler.classes), 'class')}, chance {pct(1 / ways)})")
    short = left_out(sampler, set(classes))
    if short:
        out.print(left_out_line(short, shots + queries), style="yellow")
    _print_skipped(out, examples)
    out.result({**result, "left_out": short, "metric": metric_name, "encoder": encoder.source, "classes_note": note,
                "finetune_steps": finetune_steps, "tta_shift": shift, "transductive": transductive,
                "rotations": rotations, "data": [str(d) for d in data],
                "duplicates_dropped": n_dup, "seconds": round(time.perf_counter() - started, 2),
                "skipped": [{"path": p, "reason": r} for p, r in examples.skipped]})

