"""Embedding speed with OpenMP threads that spin (libgomp's default) or sleep (PASSIVE).

Each measurement is a fresh process (the policy is read when torch loads): EfficientNet-Lite0
embeds 32 random 224x224 images, best of 3 batches after one warm-up, with torch's default
threads (2 here) under the default policy, under `OMP_WAIT_POLICY=PASSIVE` (what `import
handful` sets unless the user set a value), and with 1 thread; on an idle CPU and beside one
busy process (a numpy loop, as a second job or a browser would be). Two rounds each.
Run: `.venv/bin/python benchmarks/omp_wait_policy.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from common import write_result

EMBED = """
import sys, time
import numpy as np, torch  # loads OpenMP before handful sets its default: the env decides
from handful.backbones import create_backbone
torch.set_num_threads(int(sys.argv[2]))
backbone = create_backbone("efficientnet_lite0")
images = [np.random.default_rng(i).integers(0, 255, (224, 224, 3), dtype=np.uint8) for i in range(32)]
backbone.embed(images)
best = 0.0
for _ in range(3):
    start = time.perf_counter()
    backbone.embed(images)
    best = max(best, len(images) / (time.perf_counter() - start))
print(best)
"""
BUSY = ("import numpy as np\na = np.random.default_rng(0).standard_normal((400, 400))\n"
        "while True:\n    a = np.tanh(a @ a.T / 400)\n")
SETTINGS = (("default", "2"), ("PASSIVE", "2"), ("default", "1"))


def images_per_s(policy: str, threads: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    out = subprocess.run([sys.executable, "-c", EMBED, policy, threads], env=env,
                         capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip().splitlines()[-1]), 1)


def main() -> None:
    results = {}
    for condition in ("idle", "one busy process"):
        busy = subprocess.Popen([sys.executable, "-c", BUSY]) if condition != "idle" else None
        time.sleep(1)
        for policy, threads in SETTINGS:
            key = f"{condition} / {policy} / {threads} thread{'s' if threads != '1' else ''}"
            runs = [images_per_s(policy, threads) for _ in range(2)]
            results[key] = {"images_per_s": runs, "load_avg_1min": round(os.getloadavg()[0], 2)}
            print(key, results[key], file=sys.stderr, flush=True)
        if busy is not None:
            busy.terminate()
            busy.wait()
    write_result("omp_wait_policy", {"model": "efficientnet_lite0", "batch": 32, "results": results})


if __name__ == "__main__":
    main()
