"""Optional extras (``pip install 'handful[x]'``): import them at the start of the work that needs
them, or fail in one line naming the extra, rather than in a traceback half-way."""

from __future__ import annotations

from .errors import BackboneUnavailableError


def require_extra(extra: str, modules: tuple[str, ...], purpose: str) -> None:
    """Import ``modules`` now, or raise a one-line error naming the ``handful[extra]`` to install."""
    for module in modules:
        try:
            __import__(module)
        except ImportError as err:
            raise BackboneUnavailableError(
                f"{purpose} needs the package '{module}', which cannot be imported ({err}). Run "
                f"`pip install 'handful[{extra}]'`.") from err
