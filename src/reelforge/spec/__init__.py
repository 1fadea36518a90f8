"""Deprecated alias of :mod:`reelforge.edit`, the edit language (renamed: ``spec`` read as tests).

``import reelforge.spec`` and ``from reelforge.spec.models import Edit`` keep working, with a
:class:`DeprecationWarning`, until 0.3; the modules are the very ones of ``reelforge.edit``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

from reelforge.edit import *  # noqa: F403
from reelforge.edit import __all__ as __all__

warnings.warn(
    "reelforge.spec is now reelforge.edit; the old name goes away in 0.3", DeprecationWarning, stacklevel=2
)


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``reelforge.spec.X`` as the module ``reelforge.edit.X`` itself (one module object)."""

    def find_spec(
        self, name: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not name.startswith(__name__ + "."):
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module("reelforge.edit" + spec.name.removeprefix(__name__))

    def exec_module(self, module: ModuleType) -> None:
        pass  # already executed as reelforge.edit.X


sys.meta_path.append(_Alias())
