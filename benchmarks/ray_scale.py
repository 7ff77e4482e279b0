"""Ray Data scale-out on this 2-CPU machine: same results as the local path, and its throughput.

Embeds 1,000 generated JPEGs (see stream_rss.py; made under /tmp if missing) with
efficientnet_lite0, locally and on a local Ray (``ray.init(num_cpus=2)``) with two actor
layouts (2 actors x 1 CPU, 1 actor x 2 CPUs), and compares the embeddings row by row. Then
``handful predict --ray`` vs local through the CLI on the same folder.
Run: `flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/ray_scale.py`.
"""

from __future__ import annotations

import csv
import time

import numpy as np
import ray

from common import datasets_dir, write_result
from handful.backbones import create_backbone
from handful.scale import iter_embedding_results, list_inputs
from handful.scale.ray_data import init_ray, iter_ray_results
from stream_rss import ROOT, generate, train_models


def cli(argv: list[str]) -> None:
    """Run a handful command in this process (so it reuses the Ray started here)."""
    import typer

    from handful.cli import core, embed, export, predict  # noqa: F401  (register the commands)
    from handful.cli.main import app

    typer.main.get_command(app).main(args=argv, prog_name="handful", standalone_mode=False)


def collect(results, n: int, dim: int) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    out = np.full((n, dim), np.nan, dtype=np.float32)
    for indices, values, _ in results:
        out[indices] = values
    return out, time.perf_counter() - start


def read_csv(path) -> dict[str, list[str]]:
    with open(path, newline="") as f:
        return {row[0]: row[1:] for row in list(csv.reader(f))[1:]}


def main() -> None:
    model, _ = train_models(datasets_dir())
    folder = generate(ROOT / "images_1k", 1_000)
    items, _, _ = list_inputs("image", [str(folder)])
    backbone = create_backbone("efficientnet_lite0")
    backbone.embed([backbone.preprocess(items[0])])  # warm-up
    local, local_s = collect(iter_embedding_results(backbone, items, None, 32), len(items), 1280)
    n_ok = int((~np.isnan(local).any(axis=1)).sum())
    start = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    init_ray(quiet=True)
    init_s = time.perf_counter() - start
    layouts = {}
    for n_actors, cpus in ((2, 1.0), (1, 2.0)):
        emb, seconds = collect(iter_ray_results(items, "embed", backbone="efficientnet_lite0",
                                                n_actors=n_actors, cpus_per_actor=cpus),
                               len(items), 1280)
        same_nan = bool(np.array_equal(np.isnan(local), np.isnan(emb)))
        diff = float(np.nanmax(np.abs(emb - local)))
        cos = np.sum(emb * local, 1) / np.linalg.norm(emb, axis=1) / np.linalg.norm(local, axis=1)
        layouts[f"{n_actors}x{int(cpus)}cpu"] = {
            "seconds_incl_actor_start": round(seconds, 1), "images_per_s": round(n_ok / seconds, 1),
            "same_failed_rows": same_nan, "max_abs_diff_vs_local": diff,
            "min_cosine_vs_local": float(np.nanmin(cos)), "bitwise_equal_rows": int(
                np.sum(np.all(emb == local, axis=1)))}
        print(layouts)
    preds = {}
    for name, extra in (("local", []), ("ray", ["--ray"])):
        out = ROOT / f"ray_bench_{name}.csv"
        start = time.perf_counter()
        cli(["predict", str(model), str(folder), "--out", str(out), "--overwrite", "--no-cache",
             "--json"] + extra)
        preds[name] = (read_csv(out), time.perf_counter() - start)
    ray.shutdown()
    local_rows, ray_rows = preds["local"][0], preds["ray"][0]
    same_label = sum(local_rows[k][0] == ray_rows.get(k, [None])[0] for k in local_rows)
    p_diff = max(abs(float(local_rows[k][1]) - float(ray_rows[k][1])) for k in local_rows)
    result = {
        "n_images": len(items), "n_ok": n_ok, "backbone": "efficientnet_lite0 (bf16 autocast)",
        "ray_init_seconds": round(init_s, 1),
        "local_embed_images_per_s": round(n_ok / local_s, 1), "ray_embed": layouts,
        "predict_cli": {"local_seconds": round(preds["local"][1], 1),
                        "ray_seconds_incl_actor_start": round(preds["ray"][1], 1),
                        "rows_local": len(local_rows), "rows_ray": len(ray_rows),
                        "same_top1": same_label, "max_abs_diff_probability_1": p_diff},
    }
    print(result)
    write_result("ray_scale", result)


if __name__ == "__main__":
    main()
