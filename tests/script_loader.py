"""Load a recipe or script (a file under datasets/ or scripts/, not a package module) for its tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_script(relative_path: str, module_name: str) -> ModuleType:
    """Import REPO_ROOT/`relative_path` as `module_name`. The module is registered in sys.modules, so
    worker processes can unpickle the functions it defines."""
    spec = importlib.util.spec_from_file_location(module_name, REPO_ROOT / relative_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
