"""s22 fixes found beside the audits."""

from __future__ import annotations

from handful.cli import main


def test_kshot_on_a_missing_folder_says_it_is_missing_not_that_it_needs_test(capsys, tmp_path):
    # "kshot needs --test TEST unless X has train/ ..." sent the user after a flag when the
    # folder's name was mistyped
    assert main(["kshot", str(tmp_path / "nope"), "--shots", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not exist" in err[0] and "nope" in err[0], err


def test_the_forecast_starts_from_the_accuracy_measured_at_the_largest_size():
    # a least-squares scale let the many-draw means at 1-3 per class pull the curve, which then sat
    # under the largest sizes (1.3 points at 10 per class on flowers5): "now ~63.2%" was printed
    # beside 64.7% measured. Every shape now passes through the largest size's mean.
    import numpy as np

    from handful.evaluate.advice import posterior_fits

    rng = np.random.default_rng(0)
    sizes = [1, 2, 3, 5, 8, 10]
    truth = {s: 0.9 - 0.55 * s ** -0.5 for s in sizes}
    noise = {s: 0.005 if s <= 3 else 0.03 for s in sizes}  # small sizes: many draws, small errors
    points = [{"size": s, "n": float(s), "runs": list(truth[s] + rng.normal(0, noise[s], 10))} for s in sizes]
    main, draws = posterior_fits({"points": points})
    last = float(np.mean(points[-1]["runs"]))
    assert abs(float(main.accuracy(10.0)) - last) < 1e-9, (float(main.accuracy(10.0)), last)
    # the drawn curves pass through it give or take its standard error, not all exactly
    at_last = np.array([d.accuracy(10.0) for d in draws])
    sem = np.std(points[-1]["runs"]) / np.sqrt(10)
    assert 0.3 * sem < at_last.std() < 3 * sem, (at_last.std(), sem)


def test_a_resource_warning_raised_during_a_command_is_not_shown(capsys, tmp_path, monkeypatch):
    # an object left unclosed elsewhere in the process (a test's socket, a library's file) was
    # collected while a command ran, and "warning: unclosed <socket ...>" stood above its one line
    import sys
    import warnings

    from handful.cli import kshot
    from handful.errors import DataError

    def pool_and_test(*args, **kwargs):
        warnings.warn("unclosed <socket.socket fd=528>", ResourceWarning, stacklevel=1)  # as the collector does
        warnings.warn("pool and test checked", UserWarning, stacklevel=1)  # a warning of handful's own still shows
        raise DataError("no pool here")

    monkeypatch.setattr(kshot, "pool_and_test", pool_and_test)
    # pytest records warnings instead of printing them: print them, as a command run from a shell does
    monkeypatch.setattr(warnings, "showwarning", lambda message, category, filename, lineno, file=None,
                        line=None: sys.stderr.write(warnings.formatwarning(message, category, filename, lineno)))
    assert main(["kshot", str(tmp_path), "--shots", "1"]) == 2
    err = capsys.readouterr().err
    assert "unclosed" not in err and "pool and test checked" in err and "no pool here" in err, err
