"""How --ray splits the work over its actors, and how a worker's error reads (no Ray started)."""

import math

import pytest

from handful.errors import UnknownNameError
from handful.scale.ray_data import RayWorkerError, plan_blocks, worker_error


@pytest.mark.parametrize("n_items, n_actors, expected", [
    # 153 images on 2 CPUs: a fixed 256-row chunk made 1 block, so 1 actor worked and 1 idled
    (153, 2, (5, None, 2)),   # 5 calls of one 32-image forward batch or so, both actors busy
    (40, 2, (2, None, 2)),    # under 2 forward batches: still one call per actor
    (3, 2, (2, None, 2)),
    (1, 8, (1, None, 1)),     # no actor is started without an item to work on
    (1000, 2, (8, None, 2)),  # 4 calls per actor, so one that starts late still gets a share
    (100_000, 2, (64, 256, 2)),  # big inputs: at most 32 blocks per actor, each cut in 256-row calls
])
def test_plan_blocks_spreads_small_and_large_inputs_over_every_actor(n_items, n_actors, expected):
    assert plan_blocks(n_items, n_actors, chunk=256, batch_size=32) == expected


@pytest.mark.parametrize("n_actors", [1, 2, 3, 16])
@pytest.mark.parametrize("n_items", [1, 2, 31, 64, 153, 255, 256, 257, 5000])
def test_plan_blocks_gives_each_actor_work_and_no_call_above_the_chunk(n_items, n_actors):
    n_blocks, call_rows, used = plan_blocks(n_items, n_actors, chunk=256, batch_size=32)
    assert used == min(n_actors, n_items), "an actor per item up to the pool: none idles, none is missing"
    assert n_blocks >= used, "every actor used gets at least one block"
    rows = call_rows or math.ceil(n_items / n_blocks)  # None: a block (of near-equal size) is one call
    assert rows <= 256, "a call holds at most a chunk of rows (bounded memory per call)"


def test_worker_error_reraises_a_handful_error_from_the_worker_traceback():
    # what Ray Data raises on the driver: the worker's traceback as text, then its own wrapper
    text = ("\x1b[36mray::MapWorker(MapBatches(_Worker)).submit()\x1b[39m (pid=1)\n"
            '  File "handful/backbones/registry.py", line 120, in create_backbone\n'
            "handful.errors.UnknownNameError: Unknown backbone 'my_plugin'. See `handful backbones`.\n\n"
            "The above exception was the direct cause of the following exception:\n\n"
            "ray.exceptions.UserCodeException: UDF failed to process a data block.")
    err = worker_error(RuntimeError(text))
    assert isinstance(err, UnknownNameError), "the worker's own error class, so the CLI says it in one line"
    assert str(err) == "On a Ray worker: Unknown backbone 'my_plugin'. See `handful backbones`."


def test_worker_error_names_a_foreign_error_and_where_its_full_text_is():
    text = ("ray::MapWorker(MapBatches(_Worker)).submit() (pid=1)\n"
            "MemoryError: cannot allocate 3 GiB\n\n"
            "ray.exceptions.UserCodeException: UDF failed to process a data block.")
    err = worker_error(RuntimeError(text))
    assert isinstance(err, RayWorkerError)
    message = str(err)
    assert message.startswith("A Ray worker failed: MemoryError: cannot allocate 3 GiB"), \
        "the worker's error, not Ray's wrapper ('UDF failed to process a data block')"
    assert "\n" not in message and "run without --ray" in message, "one line that names the fix"
