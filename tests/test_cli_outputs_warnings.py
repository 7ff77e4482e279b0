"""kshot and advise hide only the warnings that are noise to them, without swapping the
process-wide warning filters (``warnings.catch_warnings()`` is not thread-safe: a filter another
thread set while it was active was lost when it ended)."""

import threading
import warnings

from handful.cli import main

OTHER_THREADS_FILTER = "a filter another thread set meanwhile"


def _another_thread_sets_a_filter() -> None:
    thread = threading.Thread(target=warnings.filterwarnings, args=("ignore",),
                              kwargs={"message": OTHER_THREADS_FILTER})
    thread.start()
    thread.join()


def _has_other_threads_filter(filters) -> bool:
    return any(f[1] is not None and f[1].pattern == OTHER_THREADS_FILTER for f in filters)


def test_kshot_hides_only_the_single_example_note_and_keeps_a_filter_set_meanwhile(capsys, color_splits,
                                                                                   monkeypatch):
    from handful.classifier import Classifier

    real = Classifier.fit_embeddings

    def fit_embeddings(self, *args, **kwargs):
        _another_thread_sets_a_filter()
        warnings.warn("a note of the fit that matters", UserWarning, stacklevel=2)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Classifier, "fit_embeddings", fit_embeddings)
    with warnings.catch_warnings(record=True) as log:
        code = main(["kshot", str(color_splits), "--shots", "1,8", "--repeats", "2", "--backbone",
                     "test_tiny_image", "--head", "prototype"])
        filters = list(warnings.filters)
    capsys.readouterr()
    assert code == 0
    shown = [str(w.message) for w in log]
    assert not [m for m in shown if "single example" in m]  # one per class is the point at K=1
    assert "a note of the fit that matters" in shown
    assert any(m.startswith("K=8 exceeds the smallest pool class") for m in shown)
    assert _has_other_threads_filter(filters)


def test_advise_shows_what_the_curve_fits_say_and_keeps_a_filter_set_meanwhile(capsys, color_tree, tmp_path,
                                                                               monkeypatch):
    # every UserWarning of the curve's fits was hidden, a fit that did not converge too
    from sklearn.exceptions import ConvergenceWarning

    import handful.evaluate.data_need as data_need

    real = data_need.estimate_data_need

    def estimate_data_need(*args, **kwargs):
        _another_thread_sets_a_filter()
        warnings.warn("lbfgs failed to converge (status=1)", ConvergenceWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(data_need, "estimate_data_need", estimate_data_need)
    with warnings.catch_warnings(record=True) as log:
        code = main(["advise", str(color_tree), "--repeats", "2", "--backbone", "test_tiny_image",
                     "--out", str(tmp_path / "adv")])
        filters = list(warnings.filters)
    capsys.readouterr()
    assert code == 0
    assert "lbfgs failed to converge (status=1)" in [str(w.message) for w in log]
    assert _has_other_threads_filter(filters)
