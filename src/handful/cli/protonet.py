"""``handful protonet train``: meta-train a prototypical network and save it as a handful model."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from .episodes import DataArg, EvalFractionOpt, SplitByParentOpt
from .main import app
from .model_record import model_keys
from .options import JsonOpt, NestedOpt, SeedOpt
from .output import Output, pct

protonet_app = typer.Typer(no_args_is_help=True, help="Prototypical networks: episodic meta-training.")
app.add_typer(protonet_app, name="protonet")


STOPPED_BY = {"time": "the --minutes budget, before --episodes", "episodes": "--episodes",
              "patience": "early stopping (--patience)"}


@contextmanager
def training_progress(out: Output, total: int):
    """A Rich bar with the running episode accuracy; plain lines at each validation otherwise."""
    live = out.live
    columns = (TextColumn("Meta-training"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
               TextColumn("episode {task.fields[episode]}  loss {task.fields[loss]:.3f}  "
                          "episode acc {task.fields[acc]}  val {task.fields[val]}"))
    bar = Progress(*columns, console=out.err, transient=True) if live else None
    task = bar.add_task("train", total=1.0, episode=0, loss=0.0, acc="-", val="-") if bar else None

    def update(episode: int, metrics: dict) -> None:
        val = metrics.get("val_accuracy")
        if bar:  # the bar fills with the budget: episodes or minutes, whichever ends first
            bar.update(task, completed=metrics.get("progress", episode / total), episode=episode,
                       loss=metrics["loss"], acc=pct(metrics["running_accuracy"]),
                       **({"val": pct(val)} if val is not None else {}))
        if val is not None:
            out.err.print(f"episode {episode}: loss {metrics['loss']:.3f}, running episode accuracy "
                          f"{pct(metrics['running_accuracy'])}, validation {pct(val)}, "
                          f"lr {metrics['lr']:.2g}", soft_wrap=True)

    if bar:
        with bar:
            yield update
    else:
        yield update


@protonet_app.command("train")
def train(
    data: DataArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    variant: Annotated[str, typer.Option(help="protonet or gaussian (Fort 2017).")] = "protonet",
    backbone: Annotated[str | None, typer.Option(help="Encoder (default: conv4_omniglot, or "
                                                 "conv4_omniglot_gaussian with --variant gaussian), "
                                                 "or a pretrained backbone to meta-fine-tune.")] = None,
    nested: NestedOpt = False,
    split_by_parent: SplitByParentOpt = False,
    eval_fraction: EvalFractionOpt = None,
    val_fraction: Annotated[float, typer.Option(
        "--val-fraction", "--validation-fraction", help="Fraction of training classes kept for "
        "early-stopping episodes (0 to below 1; 0: none, the last weights are kept).")] = 0.1,
    ways: Annotated[int, typer.Option(help="Classes per training episode (more than at test time).")] = 60,
    shots: Annotated[int, typer.Option(help="Support examples per class in training episodes.")] = 1,
    queries: Annotated[int, typer.Option(help="Query examples per class in training episodes.")] = 5,
    n_episodes: Annotated[int, typer.Option("--episodes", help="At most this many episodes (the "
                                                       "--minutes budget usually ends first).")] = 20000,
    minutes: Annotated[float, typer.Option(help="Wall-clock budget for meta-training.")] = 15.0,
    lr: Annotated[float, typer.Option(help="Adam learning rate (halved in steps over the budget).")] = 1e-3,
    rotations: Annotated[bool, typer.Option(help="In training episodes, each 90° rotation of a training "
                                            "class is a class of its own (4x the training classes); "
                                            "validation and the held-out check use the classes as they are "
                                            "(`episodes --rotations` turns them too).")] = True,
    flips: Annotated[bool, typer.Option(help="In training episodes, each mirror image of a training class "
                                        "is a class of its own too (x2 classes with rotations).")] = False,
    jitter: Annotated[float, typer.Option(help="Strength of the random affine per image (0: off; 1: "
                                          "10 deg, 10% scale, 4% shift).")] = 1.0,
    elastic: Annotated[float, typer.Option(help="Largest elastic displacement in pixels: a smooth "
                                           "random warp per training image (0: off).", min=0.0)] = 0.0,
    aux_weight: Annotated[float, typer.Option(help="Weight of an auxiliary classifier over all "
                                              "training classes (0: off).")] = 0.0,
    extra_train: Annotated[list[Path] | None, typer.Option(
        "--extra-train", help="Folder of further classes for training episodes only (never "
        "validated or held out); repeatable.")] = None,
    extra_share: Annotated[float | None, typer.Option(
        help="Share of each training episode's classes taken from --extra-train classes (default: "
        "in proportion to their number).", min=0.0, max=1.0)] = None,
    patience: Annotated[int, typer.Option(
        help="Validations without improvement before stopping; it acts in the last learning-rate "
             "step only (each step resets the count).")] = 15,
    precision: Annotated[str, typer.Option(help="auto (bf16 where the CPU has native bf16, about 2x "
                                           "faster), bf16 or fp32.")] = "auto",
    tta_shift: Annotated[int | None, typer.Option(
        help="Saved with the model: embeddings average the image shifted by up to N pixels "
             "((2N+1)^2 passes; default 3 for Conv-4; 0: off).", min=0)] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for torch.", min=1)] = 2,
    force: Annotated[bool, typer.Option(help="Replace an existing model at --out.")] = False,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Meta-train an encoder on episodes from DATA; the model predicts new classes from a support set."""
    from ..fewshot.protonet import ProtoNetConfig
    from ..fewshot.training import train_model
    out = Output(as_json)
    config = ProtoNetConfig(n_way=ways, n_shot=shots, n_query=queries, max_episodes=n_episodes,
                            max_minutes=minutes, lr=lr, rotations=rotations, flips=flips,
                            jitter=jitter, elastic=elastic, aux_weight=aux_weight, extra_share=extra_share,
                            patience=patience, precision=precision, seed=seed)
    with training_progress(out, n_episodes) as update:
        result = train_model(data, out_dir, config, variant=variant, backbone=backbone, nested=nested,
                             split_by_parent=split_by_parent, eval_fraction=eval_fraction,
                             val_fraction=val_fraction, threads=threads, force=force,
                             extra_train=extra_train or (), tta_shift=tta_shift, on_episode=update,
                             log=out.print)
    h = result["history"]
    validated = (f"best validation {pct(h['best_val_accuracy'])} at episode {h['best_episode']}"
                 if h["validation"] else "no validation (it needs 2+ validation classes; the last "
                 "episode's weights were kept)")
    out.print(f"Meta-trained {h['episodes']} episodes in {h['seconds']:.0f} s (stopped by "
              f"{STOPPED_BY.get(h['stopped_by'], h['stopped_by'])}); {validated}")
    for item in result.get("skipped", [])[:10]:
        out.print(f"  skipped {item['path']}: {item['reason']}")
    for key, value in result.get("heldout", {}).items():
        out.print(f"Held-out {key}: {pct(value['accuracy'])} ± {100 * value['ci95_halfwidth']:.2f}")
    out.print(f"Model saved to {result['model']} ({result['seconds']:.0f} s in all)")
    # the keys every command that writes a model gives (backbone, head, classes, n_train), then its own
    out.result({**model_keys(Path(result["model"])), **json.loads(json.dumps(result, default=str))})


