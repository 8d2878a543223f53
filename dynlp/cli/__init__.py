"""The `dynlp` command: one module per command group, the flags they share in `flags`.

Library code never imports this package: it parses argv and prints, which nothing else in
dynlp does.  The recipes under recipes/ use its flags and its `run` (one-line errors).
"""
from dynlp.cli.flags import run
from dynlp.cli.main import main

__all__ = ["main", "run"]
