"""Parameter rules of the heads, checked at ``fit`` (scikit-learn's ``_parameter_constraints``).

A head lists ``_param_rules = {"C": positive(), ...}``; ``HeadMixin`` checks them before any
fitting, and ``check_head`` (``Classifier.fit``'s settings check) before any embedding, so a bad
value fails in a second with the head, the parameter, the value and what it may be.

Example:
    >>> rule = positive()
    >>> rule.ok(0.1), rule.ok(0), rule.allowed
    (True, False, 'a float > 0')
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import DataError


@dataclass(frozen=True)
class Rule:
    """What a parameter may be: a test of the value, and its wording for the error."""

    ok: Callable[[object], bool]
    allowed: str


def _real(value: object) -> bool:
    """Any real number (``np.float32`` and ints too), not a bool; NaN fails every comparison."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive() -> Rule:
    return Rule(lambda v: _real(v) and v > 0, "a float > 0")


def at_least(least: float) -> Rule:
    return Rule(lambda v: _real(v) and v >= least, f"a float >= {least:g}")


def fraction(low_closed: bool) -> Rule:
    """In [0, 1) (``low_closed``) or (0, 1)."""
    if low_closed:
        return Rule(lambda v: _real(v) and 0 <= v < 1, "a float in [0, 1)")
    return Rule(lambda v: _real(v) and 0 < v < 1, "a float in (0, 1)")


def whole_at_least(least: int) -> Rule:
    return Rule(lambda v: _whole(v) and v >= least, f"an int >= {least}")


def one_of(*choices: str) -> Rule:
    return Rule(lambda v: isinstance(v, str) and v in choices, " or ".join(map(repr, choices)))


def either(first: Rule, second: Rule) -> Rule:
    return Rule(lambda v: first.ok(v) or second.ok(v), f"{first.allowed} or {second.allowed}")


def check_params(head: object, rules: Mapping[str, Rule]) -> None:
    """Raise a DataError naming the first parameter of ``head`` that breaks its rule."""
    for name, rule in rules.items():
        value = getattr(head, name)
        if not rule.ok(value):
            raise DataError(f"The '{name}' parameter of {type(head).__name__} must be {rule.allowed}. "
                            f"Got {value!r} instead.")
