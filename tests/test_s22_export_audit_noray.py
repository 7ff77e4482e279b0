"""s22 audit: --ray where the ray extra is missing (ray's import blocked, so it runs anywhere)."""

import sys

import pytest

from handful import Classifier
from handful.cli import main


@pytest.mark.parametrize("command", ["predict", "embed"])
def test_ray_without_the_extra_is_refused_before_any_output_is_written(capsys, monkeypatch, color_tree,
                                                                       tmp_path, command):
    # `handful predict MODEL DIR --ray --out p.csv` without ray: the right one-line error (exit 2),
    # but only after the model loaded and p.csv (a header) and p.csv.json were written; `embed
    # --ray --out e.npy` leaves e.npy (preallocated), e.index.csv and e.meta.json. A refused command
    # should leave nothing behind (README: the checks "run before any work").
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as uninstalled
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    if command == "predict":
        Classifier("test_tiny_image", head="logistic").fit(color_tree).save(tmp_path / "m")
        argv = ["predict", str(tmp_path / "m"), str(color_tree), "--ray", "--out", str(out_dir / "p.csv")]
    else:
        argv = ["embed", str(color_tree), "--backbone", "test_tiny_image", "--ray", "--out", str(out_dir / "e.npy")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "handful[ray]" in err, err  # names the extra to install
    assert sorted(p.name for p in out_dir.iterdir()) == [], "a refused run wrote output files"
