"""Streaming batch prediction over big generated folders: peak RSS must not grow with the count.

Generates JPEGs (320x240, shapes on noise, 0.1% bad files) under /tmp (never the repo),
trains efficientnet_lite0 + logistic on hymenoptera/train, then runs the real CLI as a
subprocess and records wall time, images/s and peak RSS (``wait4`` maxrss) for:
  * ``handful predict MODEL DIR --out preds.csv --no-cache`` on 2k and 20k images;
  * the same on 2k with ``--runtime onnx``;
  * a resume: a 2k run killed part-way, then re-run (rows appended, none duplicated);
  * 100k files (the 20k hard-linked 5 times): listing alone, ``predict`` with a tiny test
    model, and ``embed`` with a 1280-d tiny backbone (a 512 MB .npy streamed to disk).
Run: `flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/stream_rss.py [SECTION ...]`;
with section names (e.g. ``predict_2k predict_20k``) only those run and replace their entries
in the existing results file.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from common import RESULTS, datasets_dir, require, write_result

ROOT = Path(os.environ.get("HANDFUL_BENCH_TMP", "/tmp/handful-bench-stream"))
PY = sys.executable
# The commands this benchmark needs, registered directly (not through every CLI module), so
# a half-finished command elsewhere in a working tree cannot stop it.
CLI = ("import sys, typer; from handful.cli import core, embed, export, predict;"
       "from handful.cli.main import app;"
       "typer.main.get_command(app).main(args=sys.argv[1:], prog_name='handful')")
HANDFUL = [PY, "-c", CLI]
EMBED_1280 = [PY, "-c", "from handful.backbones import register_backbone;"
              "from handful.backbones.testing import TinyImageBackbone;"
              "register_backbone('bench_tiny_1280', 'image')(lambda **k: TinyImageBackbone(dim=1280));"
              + CLI]


def generate(folder: Path, n: int) -> Path:
    """``n`` JPEGs in sub-folders of 1,000, plus n/1000 bad files (empty, truncated, junk)."""
    marker = folder / ".complete"
    if marker.is_file():
        return folder
    rng = np.random.default_rng(n)
    for i in range(n):
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 256, 3)
        arr = np.clip(base + rng.normal(0, 25, (240, 320, 3)), 0, 255).astype(np.uint8)
        img = Image.fromarray(arr)
        x, y = rng.integers(0, 240, 2)
        ImageDraw.Draw(img).ellipse([x, y, x + 80, y + 60], fill=tuple(rng.integers(0, 256, 3).tolist()))
        img.save(sub / f"{i:06d}.jpg", quality=85)
    for j in range(max(1, n // 1000)):
        bad = folder / f"{j:03d}"
        good = (bad / f"{j * 1000:06d}.jpg").read_bytes()
        (bad / f"bad_{j}_truncated.jpg").write_bytes(good[: len(good) // 3])
        (bad / f"bad_{j}_empty.png").write_bytes(b"")
        (bad / f"bad_{j}_junk.jpg").write_bytes(b"this is not an image")
    marker.write_text(str(n))
    return folder


def hardlink_copies(src: Path, dst: Path, copies: int) -> Path:
    if (dst / ".complete").is_file():
        return dst
    for c in range(copies):
        for file in src.rglob("*"):
            if file.is_file() and not file.name.startswith("."):
                target = dst / f"copy{c}" / file.relative_to(src)
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    os.link(file, target)
    (dst / ".complete").write_text(str(copies))
    return dst


def run(argv: list[str], kill_after: float | None = None) -> dict:
    """Run a command; wall time, peak RSS (MiB, from wait4) and RSS samples over time."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout:
        proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, text=True)
        samples = []
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                text = Path(f"/proc/{proc.pid}/status").read_text()
                rss = int(next(ln for ln in text.splitlines() if ln.startswith("VmRSS")).split()[1])
                samples.append(round(rss / 1024, 1))
            except (OSError, StopIteration):
                pass
            if kill_after and time.perf_counter() - start > kill_after:
                proc.send_signal(signal.SIGKILL)
                kill_after = None
            time.sleep(0.5)
        seconds = time.perf_counter() - start
        stdout.seek(0)
        lines = stdout.read().strip().splitlines()
    payload = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    quarter = [samples[int(q * (len(samples) - 1))] for q in (0.25, 0.5, 0.75, 1.0)] if samples else []
    return {"seconds": round(seconds, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "rss_mib_at_25_50_75_100pct_of_time": quarter, "exit": os.waitstatus_to_exitcode(status),
            "result": {k: payload.get(k) for k in ("n", "n_resumed", "skipped_summary", "complete",
                                                   "n_files", "seconds")}}


def train_models(data: Path) -> tuple[Path, Path]:
    model, tiny = ROOT / "model_lite0", ROOT / "model_tiny"
    train = str(require(data / "hymenoptera" / "train"))
    if not (model / "model.json").is_file():
        subprocess.run(HANDFUL + ["train", train, "--out", str(model), "--head", "logistic",
                                  "--backbone", "efficientnet_lite0", "--force", "--json"],
                       check=True, stdout=subprocess.DEVNULL)
    if not (tiny / "model.json").is_file():
        subprocess.run(HANDFUL + ["train", train, "--out", str(tiny), "--head", "logistic",
                                  "--backbone", "test_tiny_image", "--force", "--json"],
                       check=True, stdout=subprocess.DEVNULL)
    if not (model / "model.onnx").is_file():
        subprocess.run(HANDFUL + ["export", str(model), "--json"], check=True, stdout=subprocess.DEVNULL)
    return model, tiny


def predict(model: Path, folder: Path, out: Path, *extra: str, kill_after: float | None = None) -> dict:
    if kill_after is None:
        out.unlink(missing_ok=True)
    result = run(HANDFUL + ["predict", str(model), str(folder), "--out", str(out), "--no-cache",
                            "--json", *extra], kill_after)
    result["rate_images_per_s"] = round((result["result"]["n"] or 0) / result["seconds"], 1)
    return result


def csv_inputs(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return [row[0] for row in list(csv.reader(f))[1:]]


def resume_demo(model: Path, folder: Path) -> dict:
    out = ROOT / "resume.csv"
    out.unlink(missing_ok=True)
    killed = predict(model, folder, out, kill_after=12.0)
    rows_after_kill = len(csv_inputs(out))
    resumed = run(HANDFUL + ["predict", str(model), str(folder), "--out", str(out), "--no-cache",
                             "--json"])
    inputs = csv_inputs(out)
    return {"rows_after_kill_at_12s": rows_after_kill, "killed_exit": killed["exit"],
            "rerun": resumed, "rows_final": len(inputs), "duplicates": len(inputs) - len(set(inputs))}


def listing(folder: Path) -> dict:
    code = ("import time;from handful.scale import list_inputs;t=time.perf_counter();"
            f"items,_,_=list_inputs('image',['{folder}']);"
            "import json;print(json.dumps({'n_files':len(items),'seconds':round(time.perf_counter()-t,2)}))")
    baseline = run([PY, "-c", "import handful.scale"])
    result = run([PY, "-c", code])
    return {"listing": result["result"], "peak_rss_mib": result["peak_rss_mib"],
            "import_only_peak_rss_mib": baseline["peak_rss_mib"], "seconds": result["seconds"]}


def sections(model: Path, tiny: Path) -> dict:
    """Name -> thunk for each measurement (run in this order)."""
    small = generate(ROOT / "images_2k", 2_000)
    big = generate(ROOT / "images_20k", 20_000)

    def huge() -> Path:
        return hardlink_copies(big, ROOT / "images_100k", 5)

    def embed_100k() -> dict:
        embed_out = ROOT / "e100k.npy"
        result = run(EMBED_1280 + ["embed", str(huge()), "--out", str(embed_out), "--backbone",
                                   "bench_tiny_1280", "--no-cache", "--overwrite", "--json"])
        result["npy_mib"] = round(embed_out.stat().st_size / 2**20, 1)
        embed_out.unlink()
        return result

    return {
        "predict_2k": lambda: predict(model, small, ROOT / "p2k.csv"),
        "predict_20k": lambda: predict(model, big, ROOT / "p20k.csv"),
        "predict_2k_onnx": lambda: predict(model, small, ROOT / "p2k_onnx.csv", "--runtime", "onnx"),
        "predict_20k_onnx": lambda: predict(model, big, ROOT / "p20k_onnx.csv", "--runtime", "onnx"),
        "resume_2k": lambda: resume_demo(model, small),
        "listing_100k": lambda: listing(huge()),
        "predict_100k_tiny_model": lambda: predict(tiny, huge(), ROOT / "p100k.csv"),
        "embed_100k_1280d_tiny": embed_100k,
    }


def main(names: list[str]) -> None:
    model, tiny = train_models(datasets_dir())
    todo = sections(model, tiny)
    unknown = sorted(set(names) - set(todo))
    if unknown:
        raise SystemExit(f"unknown sections {unknown}; choose from {list(todo)}")
    previous = RESULTS / "stream_rss.json"
    results = json.loads(previous.read_text()) if names and previous.is_file() else {}
    results.pop("machine", None)
    results.update(images="320x240 JPEG, shapes on noise, + 0.1% bad files (empty, truncated, junk)",
                   model="efficientnet_lite0 (bf16 autocast) + logistic, hymenoptera/train")
    for name, thunk in todo.items():
        if not names or name in names:
            results[name] = thunk()
            print(name, json.dumps(results[name]), flush=True)
    for suffix in ("", "_onnx"):
        small, big = results.get(f"predict_2k{suffix}"), results.get(f"predict_20k{suffix}")
        if small and big:
            results[f"peak_rss_ratio_20k_over_2k{suffix}"] = round(
                big["peak_rss_mib"] / small["peak_rss_mib"], 3)
    write_result("stream_rss", results)


if __name__ == "__main__":
    main(sys.argv[1:])
