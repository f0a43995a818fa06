"""The one model-session base of the runtime: a model folder's card, one ONNX Runtime session
per model and process created on first use (after a worker's fork, never at import time) on
the CPU with an explicit thread count, the model file's sha256 checked against its card once,
when the session is created, and one instance per folder and process (``load_cached``).

The cell model (``apps.ml.cells.CellModel``), the CBC model (``apps.ml.scores.mds_cbc``) and
the fused model (``apps.ml.scores.fused``) all build on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from apps.ml.cards import CardError, sha256_file

if TYPE_CHECKING:
    import onnxruntime


def check_sha256(path: Path, expected: str) -> None:
    """Results carry the card's sha256 as provenance: never run a different file."""
    digest = sha256_file(path)
    if digest != expected:
        raise CardError(f"sha256 of {path} is {digest}, the card says {expected}")


class LazySession:
    def __init__(self, path: Path, *, threads: int = 1,
                 before_load: Callable[[], None] | None = None) -> None:
        self.path = path
        self.threads = threads
        self._before_load = before_load
        self._lock = threading.Lock()
        self._session: onnxruntime.InferenceSession | None = None

    def get(self) -> onnxruntime.InferenceSession:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                if self._before_load is not None:
                    self._before_load()  # e.g. check the file against its card's sha256
                opts = ort.SessionOptions()
                opts.intra_op_num_threads = self.threads
                opts.inter_op_num_threads = 1
                opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                self._session = ort.InferenceSession(
                    str(self.path), opts, providers=["CPUExecutionProvider"])
            return self._session


class OnnxModel:
    """A model folder with one ONNX file: subclasses set ``card`` and call this."""

    def __init__(self, *, model_path: Path, model_sha256: str, threads: int = 1) -> None:
        if threads < 1:
            raise ValueError("threads must be >= 1")
        self.threads = threads
        self._session = LazySession(model_path, threads=threads,
                                    before_load=lambda: check_sha256(model_path, model_sha256))

    def session(self) -> onnxruntime.InferenceSession:
        return self._session.get()


M = TypeVar("M")


@lru_cache(maxsize=16)
def _cached(factory: Callable[..., Any], model_dir: Path, threads: int) -> Any:
    return factory(model_dir, threads=threads)


def load_cached(factory: Callable[..., M], model_dir: Path, *, threads: int = 1) -> M:
    """``factory(model_dir, threads=...)`` once per (factory, folder, threads) and process."""
    return _cached(factory, Path(model_dir).resolve(), threads)  # type: ignore[no-any-return]


def clear_cache() -> None:
    """Forget every cached model (tests; a worker reload)."""
    _cached.cache_clear()
