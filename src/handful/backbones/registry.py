"""Name -> factory registry for backbones: ``register_backbone``, ``create_backbone``."""

from __future__ import annotations

import ast
import fnmatch
import inspect
import re
import textwrap
import typing
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import BackboneArgumentError, DataError, UnknownNameError, did_you_mean
from .base import Backbone

HUB_PREFIXES = ("timm", "open_clip", "st")


@dataclass(frozen=True)
class _Entry:
    factory: Callable[..., Backbone]
    modality: str
    offline: bool
    description: str
    hidden: bool  # test backbones are registered but not listed by default


_REGISTRY: dict[str, _Entry] = {}


def register_backbone(
    name: str, modality: str, description: str = "", offline: bool = True, hidden: bool = False
) -> Callable[[Callable[..., Backbone]], Callable[..., Backbone]]:
    """Decorator: register ``factory`` under ``name`` (lower-case snake)."""

    def decorator(factory: Callable[..., Backbone]) -> Callable[..., Backbone]:
        _REGISTRY[name] = _Entry(factory, modality, offline, description, hidden)
        return factory

    return decorator


def _canonical(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def _canonical_pattern(pattern: str) -> str:
    """``_canonical`` for a glob: lower case, and a dash as an underscore except inside ``[...]``
    (a range such as ``[0-2]``)."""
    return re.sub(r"\[[^\]]*\]|-", lambda m: "_" if m.group() == "-" else m.group(), pattern.strip().lower())


def list_backbones(
    pattern: str = "*", modality: str | None = None, include_hidden: bool = False
) -> list[str]:
    """Registered backbone names matching a glob ``pattern`` (and ``modality``), sorted.

    Example:
        >>> list_backbones("efficientnet_*")
        ['efficientnet_lite0', 'efficientnet_lite2']
    """
    _ensure_builtins()
    if not isinstance(pattern, str):
        raise BackboneArgumentError(f"list_backbones(pattern) takes a glob string such as 'efficientnet_*'. "
                                    f"Got {_value(pattern)}. Pass a string, or nothing for every backbone.")
    if modality not in (None, "image", "text"):
        raise DataError(f"Unknown modality '{modality}'. Use 'image', 'text' or None (both).")
    pattern = _canonical_pattern(pattern)  # spelled as create_backbone takes names: EfficientNet-Lite*
    return sorted(
        name for name, entry in _REGISTRY.items()
        if fnmatch.fnmatchcase(name, pattern)
        and (modality is None or entry.modality == modality)
        and (include_hidden or not entry.hidden)
    )


def backbone_modality(name: str) -> str:
    """'image' or 'text' for a registered name or a hub name (``st:`` is text)."""
    _ensure_builtins()
    _check_name(name, "backbone_modality")
    if "+" in name:  # a concatenation, "a+b"
        from .concat import concat_modality

        return concat_modality(name)
    if ":" in name:
        return "text" if name.split(":", 1)[0] == "st" else "image"
    entry = _REGISTRY.get(_canonical(name))
    if entry is None:
        raise _unknown(name)
    return entry.modality


def describe_backbones(include_hidden: bool = False) -> list[dict]:
    """One dict per registered backbone: name, modality, offline, description."""
    _ensure_builtins()
    return [
        {"name": n, "modality": e.modality, "offline": e.offline, "description": e.description}
        for n, e in sorted(_REGISTRY.items())
        if include_hidden or not e.hidden
    ]


def create_backbone(name: str, **kwargs) -> Backbone:
    """Build the backbone registered as ``name`` (or a ``timm:``/``open_clip:``/``st:`` hub name).

    Example:
        >>> backbone = create_backbone("efficientnet_lite0")
        >>> backbone.embed([backbone.preprocess("cat.jpg")]).shape
        (1, 1280)
    """
    _ensure_builtins()
    _check_name(name, "create_backbone")
    if "+" in name:  # a concatenation, "a+b"
        from .concat import create_concat_backbone

        return create_concat_backbone(name, **kwargs)
    if ":" in name:
        prefix, hub_name = name.split(":", 1)
        from . import hub

        if kwargs:
            raise BackboneArgumentError(f"Hub backbone '{name}' takes no keyword arguments; got "
                                        f"{', '.join(kwargs)}. Call create_backbone('{name}') alone.")
        return hub.create_hub_backbone(prefix, hub_name)
    entry = _REGISTRY.get(_canonical(name))
    if entry is None:
        raise _unknown(name)
    try:
        return entry.factory(**kwargs)
    except TypeError as err:
        if not kwargs or _depth(err.__traceback__) > 2:  # raised inside the backbone's own code
            raise
        options = ", ".join(_options(entry.factory)) or "none"
        raise BackboneArgumentError(
            f"Backbone '{name}' does not accept {', '.join(kwargs)} ({err}). Its keyword "
            f"arguments: {options}; pass only those, or none for the defaults.") from None


def _check_name(name: object, function: str) -> None:
    if not isinstance(name, str):
        raise BackboneArgumentError(f"{function}(name) takes a backbone name string such as "
                                    f"'efficientnet_lite0'. Got {_value(name)}. See `handful backbones`.")


def _value(value: object) -> str:
    return f"{type(value).__name__} {repr(value)[:60]}"


def _depth(tb) -> int:
    """Frames in a traceback: 1 when the factory's own arguments did not bind, 2 when the class it
    calls did not take them; more when the error came from inside the backbone's code."""
    depth = 0
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    return depth


def _options(factory: Callable[..., Backbone]) -> list[str]:
    """The keyword arguments a factory accepts: its own, or, when it passes ``**kwargs`` on to
    the class it returns, that class's less the ones its call sets itself."""
    own = inspect.signature(factory).parameters.values()
    built = None
    if any(p.kind is p.VAR_KEYWORD for p in own):
        try:
            built = typing.get_type_hints(factory).get("return")
        except (NameError, TypeError):
            pass
    if not isinstance(built, type):
        return [p.name for p in own if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    n_positional, keywords = _arguments_set_by(factory)
    params = list(inspect.signature(built).parameters.values())[n_positional:]
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty
            and p.name not in keywords
            and not (isinstance(p.default, str) and p.default in _REGISTRY)]


def _arguments_set_by(factory: Callable[..., Backbone]) -> tuple[int, set[str]]:
    """How many positional arguments, and which keywords, the factory's ``return Class(...)`` sets
    itself, read from its source: ``Conv4Backbone("test_tiny_conv", input_size=16, **kwargs)``
    sets 1 and {'input_size'}. (0, set()) when the source is not there (a factory made at run time)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(factory)))
    except (OSError, TypeError, SyntaxError):
        return 0, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
            call = node.value
            return (sum(not isinstance(a, ast.Starred) for a in call.args),
                    {k.arg for k in call.keywords if k.arg is not None})
    return 0, set()


def _unknown(name: str) -> UnknownNameError:
    known = list_backbones(include_hidden=True)
    return UnknownNameError(
        f"Unknown backbone '{name}'.{did_you_mean(_canonical(name), known)} "
        f"Known: {', '.join(list_backbones())}; or a hub name with a prefix "
        f"({', '.join(p + ':NAME' for p in HUB_PREFIXES)}). See `handful backbones`."
    )


def _ensure_builtins() -> None:
    """Import the modules whose decorators register the built-in backbones."""
    from ..fewshot import conv4  # noqa: F401
    from ..text import word2vec  # noqa: F401
    from . import efficientnet_lite, testing, text_encoders  # noqa: F401
