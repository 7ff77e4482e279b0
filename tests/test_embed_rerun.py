"""``handful embed`` run again over the same --out: what is left beside it describes this run."""

import json

from handful.cli import main


def run_json(capsys, argv):
    code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(captured.out.strip().splitlines()) == 1  # stdout: the JSON line only
    return json.loads(captured.out)


def test_embed_overwrite_removes_the_skipped_list_of_the_run_it_replaces(capsys, color_tree, tmp_path):
    # emb.npy.skipped.csv of the first run stayed after --overwrite, listing files this run never saw
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "junk.jpg").write_bytes(b"not a jpeg")
    (broken / "ok.png").write_bytes((color_tree / "red" / "red_1.png").read_bytes())
    out = tmp_path / "emb.npy"
    first = run_json(capsys, ["embed", str(broken), "--out", str(out), "--backbone", "test_tiny_image"])
    assert first["skipped_file"] == str(tmp_path / "emb.npy.skipped.csv")
    again = run_json(capsys, ["embed", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image",
                              "--overwrite"])
    assert again["skipped"] == [] and again["n"] == 18
    assert not (tmp_path / "emb.npy.skipped.csv").exists()


def test_embed_resumed_keeps_the_skipped_list_of_its_rows(capsys, color_tree, tmp_path):
    (color_tree / "red" / "junk.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "emb.npy"
    argv = ["embed", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image"]
    run_json(capsys, argv)
    resumed = run_json(capsys, argv)
    assert resumed["n_resumed"] == 19  # the junk row too: its NaN row and reason are in the index
    assert "junk.jpg" in (tmp_path / "emb.npy.skipped.csv").read_text()
    # the JSON said skipped_file null (and skipped []) while the list beside --out named junk.jpg
    assert resumed["skipped_file"] == str(tmp_path / "emb.npy.skipped.csv")
    assert [s["path"].rsplit("/", 1)[-1] for s in resumed["skipped"]] == ["junk.jpg"]


def test_embed_resumed_after_an_interruption_lists_the_bad_rows_of_both_runs(capsys, color_tree, tmp_path):
    # the resumed run wrote its own bad file only: junk.jpg, found by the first run, left the list
    (color_tree / "red" / "junk.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "emb.npy"
    argv = ["embed", str(color_tree), "--out", str(out), "--backbone", "test_tiny_image"]
    run_json(capsys, argv)
    index = tmp_path / "emb.index.csv"
    lines = index.read_text().splitlines(keepends=True)
    index.write_text("".join(line for line in lines if "blue_0.jpg" not in line))  # stopped before it
    (color_tree / "blue" / "blue_0.jpg").write_bytes(b"broken since")
    resumed = run_json(capsys, argv)
    assert resumed["n_resumed"] == 18 and resumed["n"] == 0
    listed = sorted(row.split(",")[0].rsplit("/", 1)[-1]
                    for row in (tmp_path / "emb.npy.skipped.csv").read_text().splitlines()[1:])
    assert listed == ["blue_0.jpg", "junk.jpg"]
    assert sorted(s["path"].rsplit("/", 1)[-1] for s in resumed["skipped"]) == listed
