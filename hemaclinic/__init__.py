import os

# NumPy's BLAS runs the small matrix products of the analysis (the domain check's projection,
# a few dozen cells by 1280 features) on every core by default; its threads spin beside the
# model's own onnxruntime threads (ML_THREADS) and the decode threads, and cost more CPU than
# the products (bench/bench_cells.py: the domain check 5-10 ms of CPU per cell on 2 BLAS
# threads, 0.08 ms on one). Set before anything imports NumPy; an operator's value wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from .celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
