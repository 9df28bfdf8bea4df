"""The schemathesis command line, with `ast.parse` serialized across its worker threads.

CPython 3.11 keeps the AST constructor's recursion depth in interpreter-wide state, so two threads
building ASTs at once can fail with "SystemError: AST constructor recursion depth mismatch"
(python/cpython#106905). Hypothesis parses the source of its lambda strategies to describe them,
on every schemathesis worker thread; one such clash ended a CI run with a runtime error that says
nothing about the API under test. Parsing is rare and quick, so one lock costs nothing measurable.
"""
from __future__ import annotations

import ast
import sys
import threading

_parse = ast.parse
_lock = threading.RLock()


def _serialized_parse(*args, **kwargs):
    with _lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse

if __name__ == "__main__":
    from schemathesis.cli import schemathesis

    sys.exit(schemathesis())
