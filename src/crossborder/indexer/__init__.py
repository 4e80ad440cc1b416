"""The event indexer: the platform's events into a SQL reporting store, reorg-safe and resumable.

Reports never read the chain: they read the projections this package keeps.
"""

from .runner import Indexer, IndexerConfig, scenario_codes
from .store import Checkpoint, Store, default_db_url, make_engine

__all__ = [
    "Checkpoint",
    "Indexer",
    "IndexerConfig",
    "Store",
    "default_db_url",
    "make_engine",
    "scenario_codes",
]
