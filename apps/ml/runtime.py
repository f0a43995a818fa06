"""One ONNX Runtime session per model and process, created on first use (after a worker's
fork, never at import time), on the CPU with an explicit thread count."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime


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
