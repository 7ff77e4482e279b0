"""Follow-ups of the s22 robustness fixes (tests/test_s22_robust_audit.py has the audit's own):
damaged cache entries of every kind, an EOFError that is not a Ctrl-D, a locked catalog,
finished ONNX exports kept, the recorded file digests, and a normal stop of `handful serve`."""

from __future__ import annotations

import io
import json
import sqlite3

import numpy as np
import pytest

from conftest import make_color_image, make_color_tree, one_error_line
from handful.backbones import create_backbone
from handful.cache import FeatureCache


def _npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def _entries(cache_root):
    return sorted((cache_root / "embeddings").rglob("*.npy"))


GOOD = _npy(np.ones(32, dtype=np.float32))  # test_tiny_image gives 32-d embeddings


@pytest.mark.parametrize("damage", [
    GOOD[:-7],  # cut short: a power loss mid-write of a copy
    GOOD[:20],  # cut inside the header
    b"\x93NUMPY",  # the magic string alone
    b"PK\x03\x04" + b"\0" * 60,  # a zip (np.load would return an NpzFile, not an array)
    GOOD.replace(b"(32,)", b"(99,)"),  # a header that claims another shape (and more data)
    _npy(np.ones(32, dtype=np.float64)),  # another dtype
    _npy(np.array([{"a": 1}] * 32, dtype=object), allow_pickle=True),  # a pickle: never loaded
    b"\x93NUMPY\x01\x00\x10\x00{'descr': 'xx'   }\n",  # a header numpy's tokenizer chokes on
], ids=["truncated", "cut-header", "magic-only", "zip", "other-shape", "float64", "pickle", "bad-header"])
def test_every_kind_of_damaged_cache_entry_is_a_miss_and_is_written_again(tmp_path, damage):
    cache, backbone = FeatureCache(tmp_path / "c"), create_backbone("test_tiny_image")
    paths = [str(make_color_image(tmp_path / f"{i}.png", (60 * i, 90, 200), i)) for i in range(2)]
    good, _ = cache.get_or_compute(backbone, paths)
    entry = _entries(tmp_path / "c")[0]
    entry.write_bytes(damage)
    again, failures = FeatureCache(tmp_path / "c").get_or_compute(backbone, paths)
    assert failures == {}
    np.testing.assert_allclose(again, good)  # recomputed, not read from the damaged entry
    # the miss wrote the entry again: the next run reads it instead of computing it each time
    assert np.load(entry, allow_pickle=False).shape == (backbone.dim,)


def test_an_eof_error_from_a_command_is_one_error_line_not_aborted(monkeypatch, capsys):
    import handful.cli.info

    def cut_short():
        raise EOFError("No data left in file")  # what np.load says of an empty .npy

    monkeypatch.setattr(handful.cli.info, "describe_backbones", cut_short)
    # click reads every EOFError as Ctrl-D at a prompt: "error: aborted", exit 130, as if the
    # user had stopped the command
    line = one_error_line(capsys, ["backbones"])
    assert "aborted" not in line and "empty or cut short" in line, line


@pytest.mark.parametrize("error, says", [
    (sqlite3.OperationalError("database is locked"), "locked by another process.*Stop the other"),
    (sqlite3.OperationalError("unable to open database file"), "Cannot open catalog.*permissions"),
    (sqlite3.DatabaseError("database disk image is malformed"), "damaged.*Restore it from a backup"),
])
def test_a_catalog_that_cannot_be_opened_is_one_catalog_error_naming_the_fix(tmp_path, error, says):
    from handful.errors import CatalogError, HandfulError
    from handful.server.catalog_db import catalog_error

    err = catalog_error(tmp_path / "catalog.sqlite", error)
    # a HandfulError: the CLI prints it as one line and exits 2 (a locked catalog was a traceback)
    assert isinstance(err, CatalogError) and isinstance(err, HandfulError)
    assert "catalog.sqlite" in str(err) and "\n" not in str(err)
    with pytest.raises(CatalogError, match=says):
        raise err


def test_a_damaged_catalog_is_a_catalog_error_from_the_python_api_too(tmp_path):
    from handful.errors import CatalogError
    from handful.server.catalog import Catalog

    (tmp_path / "catalog.sqlite").write_bytes(b"\0garbage" * 600)
    with pytest.raises(CatalogError, match="catalog.sqlite is damaged"):
        Catalog(tmp_path)


def test_recover_keeps_finished_onnx_exports(tmp_path):
    from handful.server.catalog import Catalog
    from handful.server.runner import recover

    catalog = Catalog(tmp_path)
    finished = [tmp_path / "onnx" / "project-1-v1-abc.onnx", tmp_path / "exports" / "1" / "v1-abc.onnx"]
    half_written = tmp_path / "exports" / "1" / ".v2-def.onnx.tmp-k3j4.onnx"
    for file in [*finished, half_written]:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(b"graph")
    summary = recover(catalog)
    # a finished export is renamed into place: reused by the next start or download, never removed
    assert all(f.is_file() for f in finished) and not half_written.exists()
    assert "exports/1/.v2-def.onnx.tmp-k3j4.onnx" in summary["removed"]


def test_embed_overwrite_replaces_a_damaged_npy_as_its_error_advises(tmp_path, capsys):
    from handful.cli import main

    data = make_color_tree(tmp_path / "data", 2)
    out = tmp_path / "e" / "emb.npy"
    argv = ["embed", str(data), "--backbone", "test_tiny_image", "--out", str(out)]
    assert main(argv) == 0
    out.write_bytes(b"")
    assert "--overwrite" in one_error_line(capsys, argv)
    assert main([*argv, "--overwrite"]) == 0  # the fix the error names works
    assert np.load(out).shape == (6, 32)  # 3 classes of 2 images, 32-d


def test_model_json_records_the_digest_of_each_array_file(tmp_path):
    from handful import Classifier
    from handful.bundle.integrity import file_digest

    Classifier("test_tiny_image").fit(make_color_tree(tmp_path / "d", 8)).save(tmp_path / "m")
    doc = json.loads((tmp_path / "m" / "model.json").read_text())
    # the head and the familiarity data (kept from 20 examples up: 24 here, evaluate/familiarity.py)
    assert doc["sha256"] == {name: file_digest(tmp_path / "m" / name)
                             for name in ("familiarity.safetensors", "head.safetensors")}


def test_a_familiarity_file_from_another_model_is_refused(tmp_path):
    import shutil

    import handful
    from handful import Classifier
    from handful.errors import BundleError

    for name, seed in (("a", 0), ("b", 1)):
        Classifier("test_tiny_image").fit(make_color_tree(tmp_path / f"d{name}", 8, seed=seed)).save(tmp_path / name)
    shutil.copyfile(tmp_path / "b" / "familiarity.safetensors", tmp_path / "a" / "familiarity.safetensors")
    # b's stored embeddings would judge a's inputs familiar or not by b's training set
    with pytest.raises(BundleError, match="familiarity.safetensors is not the file.*Restore"):
        handful.load(tmp_path / "a")


def test_a_model_saved_before_digests_loads_and_a_damaged_digest_record_is_refused(color_tree, tmp_path):
    import handful
    from handful import Classifier
    from handful.errors import BundleError

    clf = Classifier("test_tiny_image", head="prototype").fit(color_tree)
    clf.save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    doc = json.loads(path.read_text())
    del doc["sha256"]  # as every handful before this one wrote it
    path.write_text(json.dumps(doc))
    item = [str(next(color_tree.rglob("*.png")))]
    np.testing.assert_allclose(handful.load(tmp_path / "m").predict_proba(item), clf.predict_proba(item))
    path.write_text(json.dumps({**doc, "sha256": {"../head.safetensors": "x"}}))  # a name outside the model
    with pytest.raises(BundleError, match="damaged: 'sha256' must map file names"):
        handful.load(tmp_path / "m")


def test_stopping_serve_with_ctrl_c_is_a_normal_stop(tmp_path):
    import signal

    from server_utils import ServerProcess

    home = tmp_path / "home"
    home.mkdir()
    server = ServerProcess(home)
    server.proc.send_signal(signal.SIGINT)
    code = server.proc.wait(30)
    server.stop()  # closes its log
    log = (tmp_path / "home-server.log").read_text()
    # its help says it serves "until interrupted": that is how it is stopped, not an error
    assert code == 0, log
    assert "stopped" in log and "error:" not in log, log
