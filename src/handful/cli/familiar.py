"""Inputs unlike the training examples: the ``familiar`` mark of ``predict`` and ``evaluate``'s line.

A model that keeps its training embeddings (``evaluate.familiarity``) says of each input whether
anything like it was among them: ``familiar`` (and its ``familiarity`` score) in ``--json`` rows,
a ``familiar`` column in CSV, "unlike training data" in the table, and a count in the summary. The
prediction stays what it is; the mark says "check this one". A model without that data (saved
before handful kept it, or an ONNX export) says nothing: no key, no column, no line. A model whose
training or support set was too small to judge by (``evaluate.familiarity.MIN_JUDGED``) says so
once: ``familiar`` null in --json rows, ``familiarity_judged`` false and the reason in the payload,
a line after the table (and ``evaluate`` that line instead of its own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .output import Output, pct

if TYPE_CHECKING:  # `handful --help` imports this module: no numpy at start-up
    import numpy as np

NOTE = "unlike training data"  # the table's mark of an unfamiliar row


class FamiliarityMarks:
    """The marks of one ``predict`` run: ``on`` when the model keeps familiarity data, and how many
    rows of this run looked unlike the training examples."""

    def __init__(self, predictor):
        from ..scale.batch import familiarity_of

        self.known = familiarity_of(predictor)
        self.on = self.known is not None
        # a training or support set too small to set the threshold (``Classifier``): why, else None
        self.not_judged = None if self.on else not_judged_reason(predictor)
        self.n_unfamiliar = 0

    def split(self, values: np.ndarray) -> tuple[np.ndarray, list[bool] | None, np.ndarray | None]:
        """A batch's (probabilities, familiar flags, familiarity scores) from its ``values`` (the
        flags and scores None when the model keeps no familiarity data); counts the unfamiliar."""
        from ..scale.batch import split_familiarity

        proba, scores = split_familiarity(values, self.on)
        if scores is None:
            return proba, None, None
        flags = [bool(s >= self.known.threshold) for s in scores]
        self.n_unfamiliar += flags.count(False)
        return proba, flags, scores

    def fields(self, flags: list[bool] | None, scores: np.ndarray | None, row: int) -> dict:
        """A row's ``familiar`` and ``familiarity`` (none without familiarity data; null, not false,
        when the examples were too few to judge by)."""
        if flags is None:
            return {"familiar": None, "familiarity": None} if self.not_judged else {}
        return {"familiar": flags[row], "familiarity": round(float(scores[row]), 4)}

    def print_summary(self, out: Output, n: int) -> None:
        """"3 of 40 inputs look unlike the training examples ...": nothing when none do; why no
        input was judged, when the examples were too few."""
        if self.not_judged:
            out.print(self.not_judged)
        if self.on and self.n_unfamiliar:
            verb, them = ("looks", "it") if self.n_unfamiliar == 1 else ("look", "them")
            out.print(f"{self.n_unfamiliar} of {n} inputs {verb} unlike the training examples (marked "
                      f"\"{NOTE}\"): check {them}; the model may be answering a question it was not trained for.")

    def payload(self) -> dict:
        """The ``--json`` counts: ``n_unfamiliar`` and the threshold; ``familiarity_judged`` false and
        ``familiarity_not_judged`` (why) for examples too few; empty without familiarity data."""
        if self.not_judged:
            return {"familiarity_judged": False, "familiarity_not_judged": self.not_judged,
                    "n_unfamiliar": None, "familiarity_threshold": None}
        return {"familiarity_judged": True, "n_unfamiliar": self.n_unfamiliar,
                "familiarity_threshold": round(self.known.threshold, 4)} if self.on else {}


def familiarity_phrase(report: dict | None) -> str:
    """``evaluate``'s line on the labeled examples that look unlike the training ones, with the
    accuracy on those and on the rest ("-" for a group with none); empty without familiarity data."""
    if not report:
        return ""
    n = report["n_flagged"] + report["n_familiar"]
    return (f"Unlike the training examples: {report['n_flagged']} of {n} ({pct(report['share_flagged'])}; "
            f"about {pct(report['quantile'])} of inputs like them are, by construction), "
            f"{pct(report['accuracy_flagged'])} right on those against {pct(report['accuracy_familiar'])} on the rest.")


def not_judged_reason(predictor) -> str | None:
    """Why a model marks no input (its training or support set had fewer than
    ``evaluate.familiarity.MIN_JUDGED`` examples), None when it judges them or was saved before the rule."""
    return (getattr(predictor, "training_", None) or {}).get("familiarity_not_judged")
