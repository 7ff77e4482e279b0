"""Class names: the 1000 ImageNet labels shipped with the package, and the user's class names.

``imagenet_classes.txt`` holds one line per ImageNet-1k class in the standard index order
(0 tench ... 309 bee, 310 ant ... 999 toilet tissue): the WordNet synonyms of the class,
comma-separated, the common name first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files

from ..errors import DataError

N_IMAGENET = 1000
_BINOMIAL = re.compile(r"^[A-Z][a-z]+ [a-z]+( [a-z]+)?$")  # "Tinca tinca": Latin, not English


@lru_cache(maxsize=1)
def imagenet_synonyms() -> tuple[tuple[str, ...], ...]:
    """The synonyms of each ImageNet-1k class, in class-index order (1000 tuples)."""
    text = files("handful.zeroshot").joinpath("imagenet_classes.txt").read_text(encoding="utf-8")
    rows = tuple(tuple(s.strip() for s in line.split(",") if s.strip())
                 for line in text.splitlines() if line.strip())
    if len(rows) != N_IMAGENET:  # a packaging error, not a user error
        raise RuntimeError(f"imagenet_classes.txt has {len(rows)} classes, expected 1000")
    return rows


def imagenet_class_names() -> list[str]:
    """The common name of each ImageNet-1k class: ``[0] == 'tench'``, ``[310] == 'ant'``."""
    return [synonyms[0] for synonyms in imagenet_synonyms()]


def imagenet_label_texts() -> list[str]:
    """One English phrase per ImageNet class for the text encoder: its synonyms without Latin."""
    texts = []
    for synonyms in imagenet_synonyms():
        english = [s for s in synonyms if not _BINOMIAL.match(s)] or list(synonyms[:1])
        texts.append(", ".join(english[:4]))
    return texts


def class_phrase(name: str) -> str:
    """A folder or label name as words: ``'golden_retriever'`` -> ``'golden retriever'``."""
    words = re.sub(r"[_\-]+", " ", str(name)).strip()
    return " ".join(words.split()) or str(name)


def parse_class_list(text: str) -> list[str]:
    """``"cat, dog ,bird"`` -> ``['cat', 'dog', 'bird']``; at least two distinct names, none empty.

    An empty name is refused wherever it is, a trailing comma included: ``"ant,bee,"`` is as
    likely a name left out (``"ant,bee,$THIRD"`` with the variable unset) as a stray comma, and
    a class left out changes every answer of ``zeroshot`` without a word.
    """
    parts = [n.strip() for n in str(text).split(",")]
    names = [n for n in parts if n]
    keys = [class_phrase(n).lower() for n in names]
    if names and "" in parts:  # before the count: ",bee" is a name left out, not a one-class list
        raise DataError(f"--classes has an empty name {_empty_place(parts)}; expected a name between "
                        f"each two commas. Got '{text}'. Remove the extra comma or add the "
                        "missing name.")
    if len(set(keys)) < 2:
        raise DataError(f"--classes must name at least 2 distinct classes, comma-separated, "
                        f"like \"cat,dog\". Got '{text}'.")
    # "Ant" and "ant", or "ant" and "ants", are one class to the matching (and the first pair to
    # the text encoder): "ant,ants" on folders ants/bees went by sorted order, bees as "ants"
    twice = [(names[j], n) for i, n in enumerate(names) for j in range(i) if _same_class(names[j], n)]
    if twice:
        first, again = twice[0]
        same = "" if class_phrase(first).lower() == class_phrase(again).lower() else (
            f" ('{first}' and '{again}' are one class: singular and plural match the same label)")
        raise DataError(f"--classes names the class '{again}' more than once{same}; give each class "
                        f"once, like \"cat,dog\". Got '{text}'.")
    return names


def _empty_place(parts: list[str]) -> str:
    """Where the first empty name of a comma-split list is, in words: "at place 2 (after 'ant')"."""
    i = parts.index("")
    if i == 0:
        return "at place 1 (before the first comma)"
    if i == len(parts) - 1:
        return f"at place {i + 1} (after the last comma)"
    return f"at place {i + 1} (after '{parts[i - 1]}')"


def _forms(name: str) -> set[str]:
    """The name in lower case and its possible singulars ("bees" -> bees, bee, be)."""
    word = class_phrase(name).lower()
    forms = {word}
    if word.endswith("s") and len(word) > 3:
        forms |= {word[:-1], word[:-2]}
    if word.endswith("ies") and len(word) > 4:
        forms.add(word[:-3] + "y")
    return forms


def _same_class(a: str, b: str) -> bool:
    return class_phrase(a).lower() in _forms(b) or class_phrase(b).lower() in _forms(a)


def _shares_word(a: str, b: str) -> bool:
    """A word of one is a word of the other, plurals aside ("honey bee" and "bees"); words of
    1-2 letters do not count ("a", "of")."""
    words_a = [w for w in class_phrase(a).lower().split() if len(w) > 2]
    words_b = [w for w in class_phrase(b).lower().split() if len(w) > 2]
    return any(x in _forms(y) or y in _forms(x) for x in words_a for y in words_b)


def _one_to_one(names: Sequence[str], labels: Sequence[str], same) -> dict[str, str] | None:
    """``{label: name}`` when ``same`` pairs each label with exactly one name and no name twice."""
    matches = {lab: [n for n in names if same(n, lab)] for lab in labels}
    if all(len(m) == 1 for m in matches.values()) and len({m[0] for m in matches.values()}) == len(labels):
        return {lab: str(m[0]) for lab, m in matches.items()}
    return None


def _label_order(label: str) -> tuple:
    """Numbers by value (1, 2, 10: star ratings), other labels as text after them."""
    try:
        value = float(label)
    except ValueError:
        return (1, 0.0, label)
    return (0, value, label) if math.isfinite(value) else (1, 0.0, label)


def match_class_names(names: Sequence[str], labels: Sequence[str]) -> dict[str, str]:
    """Map each data label to a class name: by name (case, plural, ``_`` tolerant), else by a
    shared word, else in order; a name that matches one label always goes to it, and only the
    rest go in order.

    ``names=["ant", "bee"]`` and labels ``["ants", "bees"]`` match by name, ``["honey bee",
    "army ant"]`` by a word; ``["positive", "negative"]`` against labels ``["0", "1"]`` maps in
    order (sorted labels: 0 -> positive; numbers sort by value, so labels 1, 2, 10 take the names
    in that order). ``["strawberry", "lettuce"]`` for labels ``["broccoli", "strawberry"]`` gives
    strawberry its own name and broccoli "lettuce".

    Raises:
        DataError: the counts differ and the names do not all match, or a name left to the
            order rule still matches a label it was not given.
    """
    labels = sorted(set(labels), key=_label_order)
    # whole names first, then a shared word: "honey bee,army ant" for folders ants/bees went by
    # sorted order (ants -> "honey bee") and scored 4% where the names say 96%
    for same in (_same_class, _shares_word):
        mapping = _one_to_one(names, labels, same)
        if mapping is not None:
            return mapping
    # some names match: they stay with their labels. The whole list in sorted order gave
    # "strawberry" to broccoli/ and "lettuce" to strawberry/ for --classes strawberry,lettuce
    pinned = _pinned(names, labels)
    rest_labels = [lab for lab in labels if lab not in pinned]
    rest_names = [n for n in names if n not in pinned.values()]
    if not rest_labels:
        return pinned
    if len(names) != len(labels):
        raise DataError(f"--classes names {len(names)} classes {list(names)} but the data has "
                        f"{len(labels)} labels {labels}. Give one name per label, in the "
                        "labels' sorted order or matching their names.")
    for name in rest_names:
        mine = [lab for lab in rest_labels if _same_class(name, lab)]
        if mine:  # it matches several labels, so no one of them can be chosen for it
            raise DataError(f"--classes name '{name}' matches {len(mine)} labels {mine}, so it is unclear "
                            f"which it names. Give names that each match one label (labels {labels}).")
    return pinned | dict(zip(rest_labels, rest_names, strict=True))


def _pinned(names: Sequence[str], labels: Sequence[str]) -> dict[str, str]:
    """``{label: name}`` for each label and name that match only each other, by the same phrase,
    then by name (plurals), then by a shared word, among those not paired yet."""
    def equal(a: str, b: str) -> bool:
        return class_phrase(a).lower() == class_phrase(b).lower()

    pinned: dict[str, str] = {}
    for same in (equal, _same_class, _shares_word):
        free_names = [n for n in names if n not in pinned.values()]
        free_labels = [lab for lab in labels if lab not in pinned]
        for lab in free_labels:
            mine = [n for n in free_names if same(n, lab)]
            if len(mine) == 1 and [x for x in free_labels if same(mine[0], x)] == [lab]:
                pinned[lab] = str(mine[0])
    return dict(sorted(pinned.items(), key=lambda kv: _label_order(kv[0])))
