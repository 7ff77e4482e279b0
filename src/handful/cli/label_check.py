"""``handful train``'s "Labels worth a second look" (``evaluate.label_check``)."""

from __future__ import annotations

from .output import Output

SHOWN = 5  # on the console; report.json and --json keep up to label_check.MAX_LISTED, train's CSV all
MANY = 0.1  # a share of the examples beyond which the list is mostly hard cases, not wrong labels


def print_label_check(out: Output, check: dict | None, held_out: bool = True) -> None:
    """One line when every answer was the example's own class; else the count and the first few,
    each with the label it has, the class it was called, and both probabilities. ``held_out``:
    training examples answered by heads fit without them (``train``); else a test set answered by
    the model (``evaluate``)."""
    if check is None:
        return
    n, checked, sure = check["n_mistakes"], check["n_checked"], check["n_confident"]
    who = "held out, " if held_out else "the model called "
    if not n:
        out.print(f"Labels: {who}each of the {checked} examples was called its own class." if held_out
                  else f"Labels: the model called each of the {checked} examples its own class.")
        return
    how = f"{sure} of them confidently" if sure else "none confidently"
    called = (f"held out, {n} of {checked} examples were called another class" if held_out
              else f"the model called {n} of {checked} examples another class")
    out.print(f"{'Labels' if held_out else 'Test labels'} worth a second look: {called} ({how}); a wrong label "
              "or an unusual example, least likely under its own label first:", style="yellow")
    for row in check["listed"][:SHOWN]:
        what = row["example"] + (f' "{_short(row["text"])}"' if "text" in row else "")
        out.print(f"  {what}: labeled {row['label']} (p {row['p_label']:.2f}), called "
                  f"{row['called']} (p {row['p_called']:.2f})")
    if n > SHOWN:
        where = check.get("csv") or f"report.json \"label_check\" lists {len(check['listed'])}"
        out.print(f"  ... and {n - SHOWN} more ({where})")
    if n > max(SHOWN * 2, MANY * checked):  # flowers5 at 60 per class, no label wrong: 86 of 300 (BENCHMARKS.md)
        out.print("  A list this long is mostly examples of classes that look alike; the first ones "
                  "are the likeliest wrong labels.")


def _short(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
