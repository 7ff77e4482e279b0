"""``handful serve``: the HTTP API, the web UI and the SQLite catalog behind them."""

from .app import ServerSettings, create_app
from .catalog import Catalog
from .uploads import Limits

__all__ = ["Catalog", "Limits", "ServerSettings", "create_app"]
