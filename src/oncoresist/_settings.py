"""Run-time settings: cache directory and the local data mirror."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["CACHE_ENV", "MIRROR_ENV", "cache_dir", "mirror_dir"]

#: Environment variable naming a local mirror of the public data sets (same layout as the cache).
MIRROR_ENV = "ONCORESIST_DATA_MIRROR"
#: Environment variable overriding the download cache directory.
CACHE_ENV = "ONCORESIST_CACHE_DIR"


def cache_dir() -> Path:
    """Directory where downloaded data sets are cached (created on demand)."""
    env = os.environ.get(CACHE_ENV)
    path = Path(env) if env else Path(platformdirs.user_cache_dir("oncoresist"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def mirror_dir() -> Path | None:
    """The local data mirror named by ``ONCORESIST_DATA_MIRROR``, or None when unset."""
    env = os.environ.get(MIRROR_ENV)
    if not env:
        return None
    return Path(env).expanduser().resolve()
