"""Omniglot few-shot: ProtoNet meta-training on CPU, held-out alphabets, Lake's 20 runs.

Stages (run each under `flock /tmp/handful-cpu.lock`; results merge into one JSON):
  train    `handful protonet train` on the deduplicated background sets (8 alphabets, 242
           characters), 2 whole alphabets held out (--split-by-parent), <= 15 minutes.
  compare  ProtoNet vs Gaussian ProtoNet at an equal, shorter budget.
  evaluate `handful episodes` on the held-out alphabets (5-way and 20-way 1-shot, 600
           episodes) for the meta-trained model, the untrained Conv-4 and the ImageNet
           backbones (same episodes), plus `handful omniglot-runs` (the 20 runs, test only).
  finetune test-time fine-tuning on the support set, on and off, on the same episodes/runs.
  tta      the `train` model with test-time shifts of 0, 1, 2 and 3 px (`--tta-shift`; 3 is the
           default saved with a Conv-4 model), on the same episodes/runs; `glyphs_15min` at 0 and 3.
  transductive  the `train` model with `--transductive` (prototypes refined by EM with the
           episode's or run's unlabeled queries; settings chosen by omniglot_transductive_probe.py on
           the validation characters), on the same episodes and runs.
  runs_all the same recipe trained on all 8 background alphabets, scored on the 20 runs only.
  budget   the recipe at 2, 4 and 8 minutes: held-out accuracy against the number of episodes,
           beside the 15-minute `train` run, and what a log-linear trend says the goals would take.
  long     the recipe with a 30-minute budget (twice the issue's 15) and early stopping off
           (--patience 100): held-out and the 20 runs, to check the `budget` trend with a measured
           point. (`long_40min_patience15` in the JSON: a first 40-minute try that the default
           patience stopped at 18.7 minutes, before its second learning-rate step.)
  glyphs   4-minute probes: the recipe alone vs with `--extra-train` synthetic glyph classes
           (`benchmarks/make_glyphs.py`: 2,068 font characters of scripts outside the held-out
           and evaluation alphabets, drawn as pen strokes) at several `--extra-share` values.
  elastic  4-minute probes of elastic warps in training (`--elastic 0 / 1.5 / 3` px).
  (spatial  a 4-minute probe of Conv-4 without its last max-pool, 576-d embeddings: no gain; the
           backbone and this stage were removed after commit 6a76aeb, the result stays in the JSON.)
  folds    the recipe on the other three held-out pairs of alphabets (`--seed` 2, 4, 7), 15 minutes
           each: with Greek + Latin, every background alphabet is held out once; the mean of the 4.
  widths   4-minute probes of the Conv-4 channel widths (`--backbone conv4_omniglot_slim / _pyramid`;
           32-96-192-384 too, whose backbone was removed after commit 1ca0518): a narrow first
           block is cheap at 28 px.
  widths_15min  the two best of those at 15 minutes, held-out and the 20 runs (pick: validation).
  pyramid_full  the pick (32-64-128-256) for the whole 15 minutes, early stopping off.
  pyramid_folds  stage `folds` with that encoder (seed 0 = pyramid_full).
  pyramid_finetune  the 20 runs with that model and `--finetune-steps 20`.
  rotations  the papers' test protocol (`episodes --rotations`: each 90° rotation of a held-out
           character a class, as Vinyals et al. and Snell et al. count test classes), every pyramid fold.
  (groups   `--group-ways 20`: each 60-way training episode three groups of 20 characters of one
           alphabet at one rotation/flip, on the development fold (seed 2), 15 minutes, beside
           `pyramid_folds`' model of that fold. Rule fixed before the run: adopt if the 20-way gain
           beats the two CIs' half-widths together. It did not (97.78 / 92.55% vs 97.98 / 92.83%), so
           `groups_full` was never run; option and stage removed after commit b851547, result in the JSON.)
  lr_probe `--lr 0.002` (twice the default) on the development fold (seed 2), beside `pyramid_folds`.
  splices  `--extra-train` spliced Omniglot classes (`make_splices.py`) on the development fold (seed 2).
  (deep_probe  `--backbone conv4_omniglot_deep`: two convs in each of the pyramid's last two blocks,
           on the development fold (seed 2), beside `pyramid_folds`, same rule as `groups`. It lost
           (97.35 / 91.06% vs 97.98 / 92.83%); backbone and stage removed after commit 12d165e, result
           in the JSON.)
  (ink_probe  `--backbone conv4_omniglot_pyramid_ink`: each drawing cropped to its ink before the
           resize, on the development fold (seed 2), same rule. Validation rose, held-out did not
           (97.93 / 92.73%); backbone and stage removed after commit 6e5f870, result in the JSON.)
  gaussian_15min  the Gaussian variant (Fort 2017) on the pyramid (`--variant gaussian --backbone
           conv4_omniglot_pyramid_gaussian`), trained as `pyramid_full` (seed 0, early stopping off)
           for the same 8,585 episodes (its 15 minutes; the two variants now train at one speed) and
           scored the same way: `compare` measured the two at 2.5 minutes only.
  (ema_probe  `pyramid_full` again for its 8,585 episodes with `--ema 0.999`: validation and the
           kept checkpoint on a moving average of the weights. 94.37% validation, held-out 97.76 /
           91.12%, runs 5.50%: noise; option and stage removed after commit ad1e8b9, result in the JSON.)
  glyphs_15min  the `--extra-share 0.3` glyph recipe with the full 15-minute budget (and the 20 runs).

Run: `.venv/bin/python benchmarks/omniglot_fewshot.py train evaluate finetune tta compare runs_all`
(the default: all stages but budget, long, glyphs and glyphs_15min; the results are written after each stage).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import RESULTS, datasets_dir, require, run_handful, write_result

NAME = "omniglot_fewshot"
MODELS = Path(__file__).resolve().parent / "out" / "omniglot"
SPLIT = ["--nested", "--split-by-parent", "--eval-fraction", "0.25", "--seed", "0"]
TRAIN_MINUTES = 15.0
GLYPHS = Path(__file__).resolve().parent / "out" / "glyphs"
PROBE_MINUTES = 4.0
COMPARE_MINUTES = 2.5  # each variant; a shorter, equal budget keeps the comparison cheap
# mirror images as new classes and a stronger affine jitter: each scored slightly higher on the
# validation classes (never the held-out alphabets or the runs) in 4-minute probes
TRAIN_FLAGS = ["--flips", "--jitter", "1.5"]
PYRAMID_FLAGS = [*TRAIN_FLAGS, "--backbone", "conv4_omniglot_pyramid"]  # session 7's encoder


def run(argv: list[str]) -> tuple[dict, str, float]:
    """Run `handful ARGV --json` in process: (its JSON, the command line, seconds)."""
    out, _, seconds = run_handful(argv)
    data = str(datasets_dir()) + "/"
    command = "handful " + " ".join(argv).replace(data, "../shared/datasets/").replace(
        str(MODELS), "benchmarks/out/omniglot").replace(str(GLYPHS), "benchmarks/out/glyphs")
    return out, command, seconds


def background() -> list[str]:
    root = require(datasets_dir() / "omniglot")
    return [str(root / "images_background_small1"), str(root / "images_background_small2")]


def train(label: str, minutes: float, flags: list[str], split: list[str] = SPLIT) -> dict:
    out, command, seconds = run(["protonet", "train", *background(), "--out", str(MODELS / label),
                                 "--force", "--minutes", str(minutes), *split, *flags])
    h = out["history"]
    print(f"{label}: {h['episodes']} episodes, {h['seconds']:.0f} s, best val {h['best_val_accuracy']:.4f}",
          file=sys.stderr)
    return {"command": command, "wall_seconds": round(seconds, 1), "meta_training_seconds": h["seconds"],
            "episodes": h["episodes"], "stopped_by": h["stopped_by"], "best_episode": h["best_episode"],
            "best_val_accuracy": round(h["best_val_accuracy"], 4), "validation": h["validation"],
            "config": out["config"], "n_train_classes": len(out["train_classes"]),
            "n_val_classes": len(out["val_classes"]), "heldout_classes": out["heldout_classes"],
            "heldout": out.get("heldout", {}),
            **({"validation_raw": h["validation_raw"]} if h.get("validation_raw") else {})}


def episodes(encoder: list[str], ways: int, shots: int = 1, n: int = 600,
             extra: list[str] | None = None, queries: int = 15, split: list[str] = SPLIT) -> dict:
    out, command, seconds = run(["episodes", *background(), *split, "--ways", str(ways), "--shots",
                                 str(shots), "--queries", str(queries), "--episodes",
                                 str(n), *encoder, *(extra or [])])
    print(f"{' '.join(encoder)} {ways}-way {shots}-shot: {out['accuracy']:.4f} ± {out['ci95_halfwidth']:.4f}",
          file=sys.stderr)
    return {"command": command, "seconds": round(seconds, 1), "metric": out["metric"],
            "accuracy": round(out["accuracy"], 4), "ci95": [round(c, 4) for c in out["ci95"]],
            "ci95_halfwidth": round(out["ci95_halfwidth"], 4), "n_episodes": out["n_episodes"],
            "n_classes": out["n_classes"]}


def runs(encoder: list[str], extra: list[str] | None = None) -> dict:
    runs_dir = require(datasets_dir() / "omniglot" / "one_shot_runs")
    out, command, seconds = run(["omniglot-runs", str(runs_dir), *encoder, *(extra or [])])
    print(f"{' '.join(encoder)} runs error: {out['error']:.4f}", file=sys.stderr)
    return {"command": command, "seconds": round(seconds, 1), "error": round(out["error"], 4),
            "errors": out["errors"], "n": out["n"], "per_run": [r["errors"] for r in out["runs"]]}


def encoders() -> dict[str, list[str]]:
    return {"protonet (Conv-4, meta-trained)": ["--model", str(MODELS / "protonet")],
            "conv4 untrained (random init)": ["--backbone", "conv4_omniglot"],
            "efficientnet_lite0 (ImageNet, no meta-training)": ["--backbone", "efficientnet_lite0"],
            "efficientnet_lite2 (ImageNet, no meta-training)": ["--backbone", "efficientnet_lite2"]}


def stage_evaluate() -> dict:
    result = {}
    for label, encoder in encoders().items():
        result[label] = {"5-way 1-shot": episodes(encoder, 5), "20-way 1-shot": episodes(encoder, 20),
                         "20 runs": runs(encoder)}
    return result


def stage_compare() -> dict:
    result = {}
    for variant in ("protonet", "gaussian"):
        label = f"{variant}_{COMPARE_MINUTES:g}min"
        result[variant] = {"training": train(label, COMPARE_MINUTES, ["--variant", variant])}
        encoder = ["--model", str(MODELS / label)]
        result[variant].update({"5-way 1-shot": episodes(encoder, 5), "20-way 1-shot": episodes(encoder, 20),
                                "20 runs": runs(encoder)})
    return result


def stage_finetune(n: int = 100, steps: int = 20) -> dict:
    model = ["--model", str(MODELS / "protonet")]
    flags = ["--finetune-steps", str(steps)]
    return {"n_episodes": n, "steps": steps,
            "5-way 1-shot": {"off": episodes(model, 5, n=n), "on": episodes(model, 5, n=n, extra=flags)},
            "20-way 1-shot": {"off": episodes(model, 20, n=n), "on": episodes(model, 20, n=n, extra=flags)},
            "20 runs": {"off": runs(model), "on": runs(model, flags)}}


def stage_tta(shifts: tuple[int, ...] = (0, 1, 2, 3)) -> dict:
    """The stage-`train` model with test-time shifts of 0..3 px (3 is saved with it), same episodes;
    the `glyphs_15min` model (when there) with 0 and 3 px."""
    models = {"protonet": shifts, "glyphs_15min": (0, 3)}
    result = {}
    for name, model_shifts in models.items():
        if not (MODELS / name).is_dir():
            continue
        model = ["--model", str(MODELS / name)]
        for shift in model_shifts:
            flag = ["--tta-shift", str(shift)]
            result.setdefault(name, {})[f"{shift} px ({(2 * shift + 1) ** 2} views)"] = {
                "5-way 1-shot": episodes(model, 5, extra=flag), "20-way 1-shot": episodes(model, 20, extra=flag),
                "20 runs": runs(model, flag)}
    return result


def stage_transductive(steps: int = 20) -> dict:
    """The stage-`train` model (3 px shifts) with `--transductive` on the same episodes and runs,
    and on the runs with test-time fine-tuning as well; the inductive rows are in stage `tta`."""
    model, flag = ["--model", str(MODELS / "protonet")], ["--transductive"]
    return {"5-way 1-shot": episodes(model, 5, extra=flag), "20-way 1-shot": episodes(model, 20, extra=flag),
            "20 runs": runs(model, flag),
            f"20 runs, --finetune-steps {steps}": runs(model, [*flag, "--finetune-steps", str(steps)]),
            "20-way 1-shot, 5 queries per class": episodes(model, 20, extra=flag, queries=5),
            "20-way 1-shot, 5 queries per class, inductive": episodes(model, 20, queries=5)}


def stage_runs_all() -> dict:
    """The runs use evaluation alphabets, so no background alphabet needs holding out for them:
    the same recipe trained on all 8 background alphabets (only the validation characters
    kept aside), then scored on the 20 runs only."""
    result = {"training": train("protonet_all", TRAIN_MINUTES, TRAIN_FLAGS, ["--nested", "--seed", "0"])}
    model = ["--model", str(MODELS / "protonet_all")]
    result["20 runs"] = {"off": runs(model), "on (--finetune-steps 20)": runs(model, ["--finetune-steps", "20"])}
    return result


def stage_glyphs() -> dict:
    """Do synthetic glyph classes help? Same budget, seed and validation characters for each."""
    if not GLYPHS.is_dir():
        raise SystemExit(f"{GLYPHS} not found: run `.venv/bin/python benchmarks/make_glyphs.py` first")
    extra = ["--extra-train", str(GLYPHS)]
    variants = {"omniglot only": [], "+ glyphs, in proportion (92% of episode classes)": extra,
                "+ glyphs, --extra-share 0.3": [*extra, "--extra-share", "0.3"],
                "+ glyphs, --extra-share 0.1": [*extra, "--extra-share", "0.1"]}
    result = {"minutes": PROBE_MINUTES}
    for i, (label, flags) in enumerate(variants.items()):
        result[label] = train(f"glyph_probe_{i}", PROBE_MINUTES, [*TRAIN_FLAGS, *flags])
    return result


def stage_elastic(amounts: tuple[float, ...] = (0.0, 1.5, 3.0)) -> dict:
    """4-minute probes: the recipe with elastic warps of 0 (the recipe as it is), 1.5 and 3 px
    (`--elastic`); chosen by the validation characters' best accuracy, never the held-out ones."""
    result = {"minutes": PROBE_MINUTES}
    for px in amounts:
        result[f"--elastic {px:g}"] = train(f"elastic_probe_{px:g}", PROBE_MINUTES,
                                            [*TRAIN_FLAGS, "--elastic", str(px)])
    return result


def scored(label: str, split: list[str] = SPLIT, with_runs: bool = True, extra: tuple[str, ...] = ()) -> dict:
    """Model `label` on 600 held-out episodes at 5-way and 20-way 1-shot, inductive and
    `--transductive` (``extra`` flags for `episodes`), and (``with_runs``) on the 20 runs both ways."""
    model = ["--model", str(MODELS / label)]
    entry = {}
    for ways in (5, 20):
        entry[f"{ways}-way 1-shot"] = episodes(model, ways, split=split, extra=[*extra])
        entry[f"{ways}-way 1-shot, transductive"] = episodes(model, ways, split=split,
                                                             extra=[*extra, "--transductive"])
    if with_runs:
        entry["20 runs"] = runs(model)
        entry["20 runs, transductive"] = runs(model, ["--transductive"])
    return entry


# 32-96-192-384 (`conv4_omniglot_pyramid_wide`) was probed too (90.3%, last); that backbone was
# removed after commit 1ca0518, its result stays in the JSON
WIDTH_PROBES = ("conv4_omniglot", "conv4_omniglot_slim", "conv4_omniglot_pyramid")


def stage_widths() -> dict:
    """4-minute probes of the encoder's channel widths (`--backbone`): Conv-4 64-64-64-64 (the
    recipe), 32-64-64-64 and 32-64-128-256. The first block, at 28 px, costs the
    most per channel, so a narrow first block buys episodes or deeper width; chosen by the
    validation characters' best accuracy, never the held-out ones."""
    result = {"minutes": PROBE_MINUTES}
    for name in WIDTH_PROBES:
        result[name] = train(f"width_probe_{name}", PROBE_MINUTES, [*TRAIN_FLAGS, "--backbone", name])
    return result


def stage_widths_15min() -> dict:
    """The two best width probes (32-64-64-64 and 32-64-128-256) with the full 15-minute budget.
    The one with the better validation accuracy is the pick; both are then scored on the held-out
    alphabets (600 episodes, inductive and transductive) and the 20 runs, for the record."""
    result = {}
    for name in ("conv4_omniglot_slim", "conv4_omniglot_pyramid"):
        label = f"protonet_{name.removeprefix('conv4_omniglot_')}"
        training = train(label, TRAIN_MINUTES, [*TRAIN_FLAGS, "--backbone", name])
        result[name] = {"training": training, **scored(label)}
    result["picked by validation"] = max(result, key=lambda k: result[k]["training"]["best_val_accuracy"])
    return result


def stage_pyramid_full() -> dict:
    """The pick of `widths_15min` (32-64-128-256) for the whole 15 minutes: early stopping off
    (`--patience 100`), so the learning rate halves at each quarter of the budget as it does for
    the slower 64-channel Conv-4 (patience stopped both width runs at 6-8 minutes, after one
    halving). Validation keeps the best checkpoint; held-out and the 20 runs as in `widths_15min`."""
    label = "protonet_pyramid_full"
    training = train(label, TRAIN_MINUTES, [*PYRAMID_FLAGS, "--patience", "100"])
    return {"training": training, **scored(label)}


FOLD_SEEDS = (0, 2, 4, 7)  # their held-out pairs partition the 8 alphabets (0: Greek + Latin, stage train)


def stage_folds() -> dict:
    """The recipe with each other held-out pair of alphabets: `--seed` 2, 4 and 7 hold out Korean +
    Sanskrit, Balinese + Tagalog and Early Aramaic + Japanese (katakana), so with seed 0 (Greek +
    Latin, the `train` model) every background alphabet is held out once. 15 minutes each, then
    600 held-out episodes at 5-way and 20-way, inductive and `--transductive`."""
    return folds_of("protonet", "protonet_fold_seed", TRAIN_FLAGS)


def folds_of(seed0_label: str, label_prefix: str, flags: list[str]) -> dict:
    """Seed 0's model (`seed0_label`, already trained), then each other seed of FOLD_SEEDS trained
    15 minutes with ``flags``; every fold scored without the runs; the mean of each score."""
    folds = {}
    for seed in FOLD_SEEDS:
        split = [*SPLIT[:-1], str(seed)]
        label = seed0_label if seed == 0 else f"{label_prefix}{seed}"
        fold = {} if seed == 0 else {"training": train(label, TRAIN_MINUTES, flags, split)}
        folds[f"seed {seed}"] = {**fold, **scored(label, split, with_runs=False)}
    return with_means(folds)


def with_means(folds: dict) -> dict:
    """``folds`` and the mean over them of each held-out score."""
    result = dict(folds)
    for key in ("5-way 1-shot", "20-way 1-shot", "5-way 1-shot, transductive", "20-way 1-shot, transductive"):
        result[f"mean {key}"] = round(sum(f[key]["accuracy"] for f in folds.values()) / len(folds), 4)
    return result


def stage_rotations() -> dict:
    """The papers' test protocol: `episodes --rotations` counts each 90° rotation of a held-out
    character as a class of its own, as Vinyals et al. 2016 and Snell et al. 2017 count their test
    classes (the evaluation characters x 4). The pyramid model of every fold and the 64-channel
    `train` model, 600 episodes at 5-way and 20-way, inductive and transductive; no retraining."""
    rotations = ("--rotations",)
    folds = {f"seed {seed}": scored("protonet_pyramid_full" if seed == 0 else f"protonet_pyramid_fold_seed{seed}",
                                    [*SPLIT[:-1], str(seed)], with_runs=False, extra=rotations)
             for seed in FOLD_SEEDS}
    return {"conv4_omniglot_pyramid": with_means(folds),
            "conv4_omniglot (64-channel `train` model), Greek + Latin": scored("protonet", with_runs=False,
                                                                                extra=rotations)}


def stage_pyramid_finetune(steps: int = 20) -> dict:
    """The 20 runs with the `pyramid_full` model and test-time fine-tuning (`--finetune-steps 20`,
    the defaults, as for the 64-channel model), inductive and transductive."""
    model = ["--model", str(MODELS / "protonet_pyramid_full")]
    tune = ["--finetune-steps", str(steps)]
    return {"20 runs, fine-tuned": runs(model, tune),
            "20 runs, fine-tuned, transductive": runs(model, [*tune, "--transductive"])}


def stage_pyramid_folds() -> dict:
    """Stage `folds` with the 32-64-128-256 encoder (`pyramid_full` is seed 0): the other three
    held-out pairs, 15 minutes each, default patience (which acts in the last learning-rate step
    only), then 600 held-out episodes at 5-way and 20-way, inductive and transductive."""
    return folds_of("protonet_pyramid_full", "protonet_pyramid_fold_seed", PYRAMID_FLAGS)


def stage_lr_probe() -> dict:
    """Twice the learning rate (`--lr 0.002`, halved at each quarter of the budget as before) on the
    development fold (seed 2, Korean + Sanskrit), trained as `pyramid_folds` trained it: the pyramid
    was still improving at the end of its 15 minutes, so a faster start might buy accuracy. Rule fixed
    before the run, as for `groups`: adopt if the 20-way inductive gain beats the two CIs' half-widths
    together and 5-way does not drop by more than that."""
    split = [*SPLIT[:-1], "2"]
    label = "protonet_pyramid_lr2_seed2"
    training = train(label, TRAIN_MINUTES, [*PYRAMID_FLAGS, "--lr", "0.002"], split)
    return {"training": training, **scored(label, split, with_runs=False)}


def stage_splices() -> dict:
    """`--extra-train` with 1,000 spliced classes (`benchmarks/make_splices.py`: halves of two training
    characters of one alphabet, drawer by drawer) at `--extra-share 0.3`, on the development fold
    (seed 2), trained as `pyramid_folds` trained it; the font glyphs of `glyphs` did not help, these
    stay in Omniglot's own strokes. Rule fixed before the run, as for `groups`: adopt if the 20-way
    inductive gain beats the two CIs' half-widths together and 5-way does not drop by more than that."""
    splices = Path(__file__).resolve().parent / "out" / "splices_protonet_pyramid_fold_seed2"
    if not splices.is_dir():
        raise SystemExit(f"{splices} not found: run `.venv/bin/python benchmarks/make_splices.py "
                         "benchmarks/out/omniglot/protonet_pyramid_fold_seed2` first")
    split = [*SPLIT[:-1], "2"]
    label = "protonet_pyramid_splices_seed2"
    flags = [*PYRAMID_FLAGS, "--extra-train", str(splices), "--extra-share", "0.3"]
    training = train(label, TRAIN_MINUTES, flags, split)
    return {"training": training, **scored(label, split, with_runs=False)}


def stage_glyphs_15min() -> dict:
    """The best glyph probe (`--extra-share 0.3`) at the full 15-minute budget, beside stage `train`."""
    if not GLYPHS.is_dir():
        raise SystemExit(f"{GLYPHS} not found: run `.venv/bin/python benchmarks/make_glyphs.py` first")
    flags = [*TRAIN_FLAGS, "--extra-train", str(GLYPHS), "--extra-share", "0.3"]
    result = {"training": train("glyphs_15min", TRAIN_MINUTES, flags)}
    result["20 runs"] = runs(["--model", str(MODELS / "glyphs_15min")])
    return result


def stage_budget(minutes: tuple[float, ...] = (2.0, 4.0, 8.0)) -> dict:
    """Held-out accuracy against meta-training episodes, and the log-linear trend's forecast.

    A straight line in log2(episodes) is an optimistic trend (returns usually diminish faster).
    """
    import numpy as np

    result = {}
    for m in minutes:
        t = train(f"budget_{m:g}min", m, TRAIN_FLAGS)
        result[f"{m:g} min"] = {"episodes": t["episodes"], "best_val_accuracy": t["best_val_accuracy"],
                                "command": t["command"],
                                **{k: round(v["accuracy"], 4) for k, v in t["heldout"].items()}}
    path = RESULTS / f"{NAME}.json"
    full = json.loads(path.read_text()).get("train") if path.exists() else None
    if full:
        result["15 min (stage train)"] = {"episodes": full["episodes"],
                                          "best_val_accuracy": full["best_val_accuracy"],
                                          **{k: round(v["accuracy"], 4) for k, v in full["heldout"].items()}}
    points = [v for v in result.values() if "20-way 1-shot" in v]
    forecast = {}
    for key, goal in (("5-way 1-shot", 0.985), ("20-way 1-shot", 0.95)):
        x = np.log2([p["episodes"] for p in points])
        slope, intercept = np.polyfit(x, [p[key] for p in points], 1)
        need = 2 ** ((goal - intercept) / slope) if slope > 0 else float("inf")
        forecast[key] = {"points_per_doubling": round(100 * slope, 2), "goal": goal,
                         "episodes_needed": round(float(need)),
                         "times_the_15_min_episodes": round(float(need) / full["episodes"], 1) if full else None}
    result["log-linear forecast"] = forecast
    return result


def stage_long(minutes: float = 30.0) -> dict:
    result = {"training": train(f"protonet_{minutes:g}min", minutes, [*TRAIN_FLAGS, "--patience", "100"])}
    result["20 runs"] = runs(["--model", str(MODELS / f"protonet_{minutes:g}min")])
    return result


GAUSSIAN_EPISODES = 8585  # what pyramid_full fit in its 15 minutes


def stage_gaussian_15min() -> dict:
    """The Gaussian variant on the 32-64-128-256 encoder, trained as `pyramid_full` (15 minutes, seed
    0, `--patience 100`), then the same held-out episodes and runs: the comparison the issue asks for,
    at the full budget (stage `compare` ran it at 2.5 minutes, where Gaussian lost on every measure)."""
    label = "protonet_pyramid_gaussian_full"
    # pyramid_full's 8,585 episodes, whatever else shares the CPU: the learning rate then halves at
    # each quarter of the episodes (the minutes are only a cap; progress is the larger fraction). The
    # two variants train at one speed since gaussian_logits became three matmuls (399 vs 378 episodes
    # in the same 45 s).
    flags = [*TRAIN_FLAGS, "--variant", "gaussian", "--backbone", "conv4_omniglot_pyramid_gaussian",
             "--patience", "100", "--episodes", str(GAUSSIAN_EPISODES)]
    training = train(label, 20 * TRAIN_MINUTES, flags)  # a cap far away: the episodes set the schedule
    model = ["--model", str(MODELS / label)]
    result = {"training": training}
    for ways in (5, 20):  # transductive refinement is Euclidean only, so it ignores the confidences
        result[f"{ways}-way 1-shot"] = episodes(model, ways)
        result[f"{ways}-way 1-shot, transductive"] = episodes(model, ways, extra=["--metric", "euclidean",
                                                                                  "--transductive"])
    result["20 runs"] = runs(model)
    return result


def stage_all_train() -> dict:
    """`pyramid_full`'s recipe and 8,585 episodes, with the 19 validation characters trained on too
    (`--val-fraction 0`: 192 training characters instead of 173, no checkpoint selection, the last
    weights kept). The headline run's best checkpoint was at episode 7,800 of 8,585, so selection
    adds little; data is what the probes so far point to. Seed 0, then held-out and the runs.
    Measured: 97.58 / 90.51% held-out, runs 5.00% (the headline 97.70 / 90.93%, 4.75%): no gain."""
    label = "protonet_pyramid_alltrain"
    flags = [*PYRAMID_FLAGS, "--val-fraction", "0", "--episodes", str(GAUSSIAN_EPISODES)]
    training = train(label, 20 * TRAIN_MINUTES, flags)  # the episodes set the schedule, as gaussian_15min
    return {"training": training, **scored(label)}


STAGES = {"train": lambda: train("protonet", TRAIN_MINUTES, TRAIN_FLAGS), "evaluate": stage_evaluate,
          "finetune": stage_finetune, "compare_protonet_vs_gaussian": stage_compare,
          "runs_all": stage_runs_all, "glyphs": stage_glyphs,
          "budget": stage_budget, "long": stage_long, "glyphs_15min": stage_glyphs_15min,
          "tta": stage_tta, "transductive": stage_transductive, "elastic": stage_elastic,
          "folds": stage_folds, "widths": stage_widths,
          "widths_15min": stage_widths_15min, "pyramid_full": stage_pyramid_full,
          "pyramid_folds": stage_pyramid_folds, "pyramid_finetune": stage_pyramid_finetune,
          "rotations": stage_rotations, "lr_probe": stage_lr_probe, "splices": stage_splices,
          "gaussian_15min": stage_gaussian_15min, "all_train": stage_all_train}


def main(stages: list[str]) -> None:
    """Run the named stages in order, writing the merged results after each one."""
    path = RESULTS / f"{NAME}.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    previous.pop("machine", None)
    for stage in stages:
        key = "compare_protonet_vs_gaussian" if stage == "compare" else stage
        if key not in STAGES:
            raise SystemExit(f"unknown stage {stage}; choose from {', '.join(STAGES)} (compare)")
        previous[key] = STAGES[key]()
        write_result(NAME, previous)


if __name__ == "__main__":
    main(sys.argv[1:] or ["train", "evaluate", "finetune", "tta", "compare", "runs_all"])
