"""``python -m crossborder.indexer``: the same as ``crossborder index``."""

from .command import index_cmd

index_cmd(prog_name="python -m crossborder.indexer")
