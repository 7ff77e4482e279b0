"""Content hashes are remembered per process: each unchanged file is read once, a changed one again."""

from __future__ import annotations

import builtins
import hashlib
import os
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import make_color_image, make_color_tree
from handful import Classifier, create_backbone
from handful.backbones.concat import ConcatBackbone, embed_parts_cached
from handful.cache import FeatureCache, content_key, hashes, store
from handful.cache.hashes import FileHashes
from handful.cli import main
from handful.data import load_examples
from handful.data.duplicates import duplicate_groups


def blake2b_of(path) -> str:
    """The key the embedding cache has always stored entries under (entries on disk stay hits)."""
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=20).hexdigest()


@pytest.fixture
def reads(monkeypatch) -> Counter:
    """How many times each file is opened to be hashed."""
    counts: Counter = Counter()

    def counting_open(path, mode="r", *args, **kwargs):
        counts[str(path)] += 1
        return builtins.open(path, mode, *args, **kwargs)

    monkeypatch.setattr(hashes, "open", counting_open, raising=False)
    return counts


@pytest.fixture
def memo(monkeypatch) -> FileHashes:
    """A fresh process memo that trusts files written a moment ago (a test's files all are: with
    the default racy window they would be read each time, as is right for them)."""
    fresh = FileHashes(racy_ns=0)
    monkeypatch.setattr(store, "file_hashes", fresh)
    return fresh


@pytest.fixture
def examples(color_tree):
    """The color tree plus a byte-identical copy, so that duplicate_groups hashes files too."""
    shutil.copy(color_tree / "red" / "red_0.jpg", color_tree / "red" / "red_copy.jpg")
    return load_examples(color_tree)


def train_like_passes(examples, cache: FeatureCache) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """What one ``train --backbone auto`` asks of the hashes: a pass per candidate backbone, the
    winning concatenation part by part, and the copy check from the search, the fit and the data need."""
    small, large = create_backbone("test_tiny_image", dim=16), create_backbone("test_tiny_image")
    embeddings = [cache.get_or_compute(backbone, examples.items)[0] for backbone in (small, large)]
    embeddings.append(embed_parts_cached(cache, ConcatBackbone([small, large]), examples.items)[0])
    return embeddings, [duplicate_groups(examples) for _ in range(3)]


def test_a_train_like_sequence_reads_each_file_once(memo, reads, examples):
    train_like_passes(examples, FeatureCache())
    # 2 backbone passes + 2 concatenated parts + 3 copy checks used to read each file 4 to 7 times
    assert set(reads) == set(examples.items) and set(reads.values()) == {1}, reads
    assert memo.n_reads == len(examples)


def test_remembered_hashes_give_the_keys_groups_and_embeddings_of_fresh_reads(memo, examples, monkeypatch):
    remembered_cache = FeatureCache()
    remembered = train_like_passes(examples, remembered_cache)
    assert remembered_cache.last_content_keys() == {item: blake2b_of(item) for item in examples.items}
    monkeypatch.setattr(store, "file_hashes", FileHashes(max_entries=0))  # remembers nothing: reads each time
    fresh = train_like_passes(examples, FeatureCache(enabled=False))  # every embedding computed
    for got, expected in zip(remembered[0], fresh[0]):
        np.testing.assert_array_equal(got, expected)
    for got, expected in zip(remembered[1], fresh[1]):
        np.testing.assert_array_equal(got, expected)
    names = [Path(item).name for item in examples.items]
    groups = remembered[1][0]
    assert groups[names.index("red_copy.jpg")] == groups[names.index("red_0.jpg")]  # the copy is still found
    assert len(set(groups)) == len(examples) - 1  # and nothing else is called one


def rewrite(path: Path, data: bytes, keep_mtime: bool) -> None:
    """Write ``data`` over ``path`` in place (same inode), the mtime set back if asked."""
    before = os.stat(path)
    with open(path, "r+b") as f:
        f.write(data)
        f.truncate()
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize("same_size", [True, False])
def test_a_file_rewritten_with_new_content_gets_a_new_key(memo, reads, tmp_path, same_size):
    path = tmp_path / "a.bin"
    path.write_bytes(b"A" * 100)
    first = content_key(str(path), "image")
    assert content_key(str(path), "image") == first and reads[str(path)] == 1  # remembered
    ctime = os.stat(path).st_ctime_ns
    time.sleep(0.05)  # past a coarse kernel clock tick (a jiffy), so the write moves ctime
    rewrite(path, b"B" * (100 if same_size else 101), keep_mtime=same_size)
    assert os.stat(path).st_ctime_ns != ctime, "this file system's ctime ticks slower than 50 ms"
    # same size and mtime set back: only ctime tells, and a stale key would name the old bytes
    assert content_key(str(path), "image") == blake2b_of(path) != first
    assert reads[str(path)] == 2


def test_a_file_changed_just_now_is_read_again_each_time(reads, tmp_path):
    # within one coarse timestamp tick a same-size rewrite keeps the whole stat: not trusted yet
    path = tmp_path / "new.bin"
    path.write_bytes(b"A" * 100)
    recent = FileHashes()  # the default window: 2 s
    assert recent.digest(path) == recent.digest(path) == blake2b_of(path)
    assert reads[str(path)] == 2 and len(recent) == 0
    rewrite(path, b"B" * 100, keep_mtime=True)
    assert recent.digest(path) == blake2b_of(path)


def test_the_memo_keeps_the_most_recently_used_files_up_to_its_bound(reads, tmp_path):
    paths = [tmp_path / f"{i}.bin" for i in range(3)]
    for i, path in enumerate(paths):
        path.write_bytes(bytes([i]) * 10)
    bounded = FileHashes(max_entries=2, racy_ns=0)
    for path in (*paths[:2], paths[0], paths[2]):  # 1 is least recently used when 2 comes in
        bounded.digest(path)
    assert len(bounded) == 2
    bounded.digest(paths[0])
    bounded.digest(paths[1])  # dropped: read again
    assert [reads[str(p)] for p in paths] == [1, 2, 1]


def test_threads_sharing_a_small_memo_all_get_the_right_hashes(tmp_path):
    # lookups, moves to the end and evictions interleave: each must see a consistent memo
    paths = [tmp_path / f"{i}.bin" for i in range(40)]
    for i, path in enumerate(paths):
        path.write_bytes(i.to_bytes(2, "little") * 50)
    expected = {p: blake2b_of(p) for p in paths}
    shared, errors = FileHashes(max_entries=8, racy_ns=0), []

    def work(seed: int) -> None:
        order = np.random.default_rng(seed).permutation(len(paths) * 10) % len(paths)
        try:
            errors.extend(p for p in (paths[i] for i in order) if shared.digest(p) != expected[p])
        except Exception as err:  # noqa: BLE001 - any failure in a thread is the finding
            errors.append(err)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(shared) <= 8


def test_predict_transductive_out_reads_each_query_once(memo, reads, color_tree, tmp_path, capsys):
    Classifier("test_tiny_image", head="prototype", head_params={"metric": "euclidean"}).fit(color_tree).save(
        tmp_path / "model")
    for i, color in enumerate([(220, 30, 30), (150, 30, 120), (40, 60, 220)]):
        make_color_image(tmp_path / "queries" / f"q{i}.png", color, 50 + i)
    support = make_color_tree(tmp_path / "support", 1, seed=3)
    code = main(["predict", str(tmp_path / "model"), str(tmp_path / "queries"), "--support", str(support),
                 "--transductive", "--out", str(tmp_path / "preds.csv")])
    assert code == 0, capsys.readouterr().err
    queries = {k: n for k, n in reads.items() if Path(k).parent.name == "queries"}
    # the batch's id (recorded beside --out) and the embedding cache both need each query's hash
    assert len(queries) == 3 and set(queries.values()) == {1}, reads
