"""`la.ingest(...)` and `la.synth(...)` call functions that share their names with the
packages that hold them. Once such a package has been imported (by any code), Python
binds the package itself to that name on `loganalyze`, so `la.ingest` is the package;
making the package callable keeps `la.ingest(paths, con)` working either way."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any


def make_callable(module_name: str, function: Callable[..., Any]) -> None:
    """Calling the module `module_name` calls `function`."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
