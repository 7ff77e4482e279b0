"""Prediction latency and load on `handful serve` with the real efficientnet_lite0 backbone.

Starts a server on 127.0.0.1 (random port, temp home), trains a project on hymenoptera
(ants vs bees, 20 per class), then measures:

1. single-image latency: sequential requests from one client (p50 / p90 / p99);
2. load: 32 concurrent clients for 60 s, each sending its next request when the last one
   answered (a bounded, closed-loop generator), counting every error;
3. throughput vs concurrency, with micro-batching on (max batch 32) and off (1).

Writes benchmarks/results/server_load.json. Run it alone on the machine (the flock):
    flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/server_load.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "server_load.json"


def datasets_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    return Path(os.environ.get("HANDFUL_DATASETS", default))


class Server:
    """`handful serve --port 0` on 127.0.0.1 only; the URL comes from its JSON line."""

    def __init__(self, home: Path, *args: str):
        cmd = [sys.executable, "-c", "from handful.cli.main import run; run()", "serve", "--host",
               "127.0.0.1", "--port", "0", "--home", str(home), "--json", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.url = json.loads(self.proc.stdout.readline())["url"]
        assert self.url.startswith("http://127.0.0.1:"), self.url  # never load anything else
        for _ in range(300):
            try:
                httpx.get(f"{self.url}/api/health", timeout=2)
                return
            except httpx.HTTPError:
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def percentiles(ms: list[float]) -> dict:
    ordered = sorted(ms)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ms), "p50_ms": round(statistics.median(ordered), 2), "p90_ms": round(pick(0.9), 2),
            "p99_ms": round(pick(0.99), 2), "mean_ms": round(statistics.fmean(ordered), 2),
            "max_ms": round(ordered[-1], 2)}


def train_project(client: httpx.Client, data: Path, per_class: int) -> int:
    pid = client.post("/api/projects", json={"name": "hymenoptera"}).json()["id"]
    for label in ("ants", "bees"):
        files = sorted((data / "train" / label).glob("*.jpg"))[:per_class]
        form = [("files", (f.name, f.read_bytes(), "image/jpeg")) for f in files]
        res = client.post(f"/api/projects/{pid}/examples", files=form, data={"label": label})
        assert res.status_code == 201, res.text
    job = client.post(f"/api/projects/{pid}/jobs",
                      json={"backbone": "efficientnet_lite0", "head": "logistic"}).json()
    while (job := client.get(f"/api/jobs/{job['id']}").json())["status"] in ("queued", "running"):
        time.sleep(0.5)
    assert job["status"] == "succeeded", job
    return pid


def nodelay_client(url: str, nodelay: bool = True) -> httpx.Client:
    """A keep-alive client; with TCP_NODELAY, as curl and browsers set it. httpx's sync client
    does not, and then Nagle's algorithm holds the multipart body back until the server ACKs
    the headers (a delayed ACK): that adds client-side waiting, not server time."""
    options = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)] if nodelay else []
    return httpx.Client(base_url=url, timeout=120, transport=httpx.HTTPTransport(socket_options=options))


def server_ms(res: httpx.Response) -> dict[str, float]:
    """The predict route's own ``Server-Timing`` phases (stage, model) in ms."""
    header = res.headers.get("server-timing", "")
    return {k.strip(): float(v) for k, v in (p.split(";dur=") for p in header.split(",") if ";dur=" in p)}


def single_latency(client: httpx.Client, pid: int, queries: list[tuple[str, bytes]], n: int) -> dict:
    """Sequential one-image requests: client-side round trip, and the server's share of it."""
    for name, data in queries[:20]:  # load the model and warm every path once
        client.post(f"/api/projects/{pid}/predict", files=[("files", (name, data, "image/jpeg"))])
    ms, handler, model, errors = [], [], [], 0
    for i in range(n):
        name, data = queries[i % len(queries)]
        started = time.perf_counter()
        res = client.post(f"/api/projects/{pid}/predict", files=[("files", (name, data, "image/jpeg"))])
        ms.append(1000 * (time.perf_counter() - started))
        errors += res.status_code != 200
        phases = server_ms(res)
        if phases:
            handler.append(sum(phases.values()))
            model.append(phases["model"])
    out = {**percentiles(ms), "errors": errors}
    if handler:
        out["server_handler_p50_ms"] = round(statistics.median(handler), 2)
        out["server_model_p50_ms"] = round(statistics.median(model), 2)
    return out


def profile_in_process(model_dir: Path, paths: list[Path], n: int = 60) -> dict:
    """Median ms of each step of one prediction, in this process, batch 1 (no HTTP)."""
    import handful

    clf = handful.load(model_dir, cache=False)
    backbone = clf.backbone_for("image")
    steps: dict[str, list[float]] = {"decode_and_preprocess": [], "forward_batch1": [], "head": []}
    for i in range(n + 5):
        t0 = time.perf_counter()
        x = backbone.preprocess(str(paths[i % len(paths)]))
        t1 = time.perf_counter()
        emb = backbone.embed([x])
        t2 = time.perf_counter()
        clf.head_.predict_proba(emb)
        t3 = time.perf_counter()
        if i >= 5:  # the first calls warm up oneDNN
            for key, dt in zip(steps, (t1 - t0, t2 - t1, t3 - t2)):
                steps[key].append(1000 * dt)
    return {"precision": backbone.info.precision,
            **{f"{k}_p50_ms": round(statistics.median(v), 2) for k, v in steps.items()}}


async def load(url: str, pid: int, queries: list[tuple[str, bytes]], clients: int, seconds: float) -> dict:
    """``clients`` concurrent closed-loop clients for ``seconds``: latency, throughput, errors."""
    ms: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker(k: int) -> None:
            i = k
            while time.perf_counter() < deadline:
                name, data = queries[i % len(queries)]
                i += clients
                started = time.perf_counter()
                try:
                    res = await client.post(f"/api/projects/{pid}/predict",
                                            files=[("files", (name, data, "image/jpeg"))])
                    if res.status_code != 200:
                        errors.append(f"{res.status_code}: {res.text[:200]}")
                except httpx.HTTPError as err:
                    errors.append(repr(err))
                ms.append(1000 * (time.perf_counter() - started))

        started = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(clients)))
        elapsed = time.perf_counter() - started
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(ms),
            "throughput_rps": round(len(ms) / elapsed, 1), "errors": len(errors),
            "first_errors": errors[:5], **percentiles(ms)}


def sweep(data: Path, queries, home: Path, max_batch: int, seconds: float) -> dict:
    """Throughput at 1, 4, 8, 32 concurrent clients on a server with ``--max-batch``."""
    server = Server(home, "--max-batch", str(max_batch))
    try:
        client = nodelay_client(server.url)
        pid = client.get("/api/projects").json()[0]["id"]
        single_latency(client, pid, queries, 10)  # load + warm up
        rows = [asyncio.run(load(server.url, pid, queries, c, seconds)) for c in (1, 4, 8, 32)]
        batching = client.get("/api/stats").json()["models"]
        return {"max_batch": max_batch, "rows": rows, "batching": batching}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--load-seconds", type=float, default=60)
    parser.add_argument("--sweep-seconds", type=float, default=8)
    parser.add_argument("--single", type=int, default=300)
    parser.add_argument("--per-class", type=int, default=20)
    args = parser.parse_args()
    data = datasets_dir() / "hymenoptera"
    if not data.is_dir():
        sys.exit(f"skipped: {data} not found (set HANDFUL_DATASETS)")
    queries = [(f.name, f.read_bytes()) for label in ("ants", "bees")
               for f in sorted((data / "val" / label).glob("*.jpg"))]
    home = Path(tempfile.mkdtemp(prefix="handful-bench-")) / "home"
    server = Server(home)
    try:
        client = nodelay_client(server.url)
        started = time.perf_counter()
        pid = train_project(client, data, args.per_class)
        train_seconds = time.perf_counter() - started
        single = single_latency(client, pid, queries, args.single)
        print("single:", single, flush=True)
        plain = single_latency(nodelay_client(server.url, nodelay=False), pid, queries, args.single // 3)
        print("single, httpx without TCP_NODELAY:", plain, flush=True)
        from handful.server import Catalog

        model_dir = home / Catalog(home).get_version(pid, 1)["path"]
        loaded = asyncio.run(load(server.url, pid, queries, 32, args.load_seconds))
        print("load:", {k: v for k, v in loaded.items() if k != "first_errors"}, flush=True)
        batching = client.get("/api/stats").json()["models"]
    finally:
        server.stop()
    val = [f for label in ("ants", "bees") for f in sorted((data / "val" / label).glob("*.jpg"))]
    profile = profile_in_process(model_dir, val)
    print("in-process steps:", profile, flush=True)
    sweeps = [sweep(data, queries, home, b, args.sweep_seconds) for b in (32, 1)]
    for s in sweeps:
        rows = [(r["clients"], r["throughput_rps"], r["p50_ms"]) for r in s["rows"]]
        print(f"max_batch={s['max_batch']} (clients, req/s, p50 ms):", rows)
    import torch

    result = {
        "benchmark": "server_load",
        "command": "flock /tmp/handful-cpu.lock .venv/bin/python benchmarks/server_load.py",
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(), "torch": torch.__version__},
        "model": {"backbone": "efficientnet_lite0", "head": "logistic", "data": "hymenoptera train",
                  "per_class": args.per_class, "train_seconds_wall": round(train_seconds, 1)},
        "queries": f"{len(queries)} hymenoptera val JPEGs (mostly 500x375), one image per request",
        "single_client": single,
        "single_client_note": "sequential requests, httpx keep-alive client with TCP_NODELAY (as curl "
                              "and browsers); server_* from the route's Server-Timing header",
        "single_client_without_nodelay": plain,
        "steps_in_process": profile,
        "load_32_clients": loaded,
        "batching_stats": batching,
        "throughput_vs_clients": sweeps,
        "targets": {"single_p50_le_30ms": single["p50_ms"] <= 30.0,
                    "load_zero_errors": loaded["errors"] == 0 and loaded["requests"] > 0},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["targets"]))


if __name__ == "__main__":
    main()
