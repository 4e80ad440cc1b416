"""The consortium network: one geth node per institution, sealing a Clique chain on loopback.

``crossborder network init|start|stop|status|kill|restart|deploy|env`` drives it; Besu QBFT, the
production choice, is described in ``docs/besu-qbft.md``.
"""

from .layout import Layout, NetworkSpec, NodeSpec, genesis
from .network import Network, find_geth
from .node import GethNode, NodeStatus, resident_memory

__all__ = [
    "GethNode",
    "Layout",
    "Network",
    "NetworkSpec",
    "NodeSpec",
    "NodeStatus",
    "find_geth",
    "genesis",
    "resident_memory",
]
