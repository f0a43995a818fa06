"""Seeded mutation fuzzing of every importer: DICOM, single images, export zips, and each CBC
format (Sysmex XN CSV, HL7 v2, generic CSV, auto-detection).

    .venv/bin/python bench/fuzz_importers.py [--count 10000] [--importer dicom ...] [--seed 0]
    .venv/bin/python bench/fuzz_importers.py --importer zip --only 1234 [--save out.bin]

The inputs, the importer calls and what counts as handled are tests/fuzzing.py, which the
suite runs too (fewer inputs). Prints per importer: inputs, accepted, rejected with a message,
unhandled (by exception type, with the first tracebacks), elapsed and the slowest input.
Exit status 1 when any input is unhandled. --only reruns one input by its index.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzzing import IMPORTERS, fuzz, generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="inputs per importer")
    parser.add_argument("--importer", action="append", choices=list(IMPORTERS),
                        help="one importer (repeatable); all by default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="index of the first input")
    parser.add_argument("--keep", type=int, default=3, help="tracebacks kept per importer")
    parser.add_argument("--max-seconds", type=float, default=20.0,
                        help="one input running longer is counted unhandled (TooSlow)")
    parser.add_argument("--only", type=int, help="rerun the input of this index and say why")
    parser.add_argument("--save", type=Path, help="with --only: write the input to this file")
    args = parser.parse_args()
    names = args.importer or list(IMPORTERS)

    if args.only is not None:
        for name in names:
            data = generate(name, args.only, seed=args.seed)
            if args.save:
                args.save.write_bytes(data)
            try:
                outcome = IMPORTERS[name].call(data)
            except BaseException:  # noqa: B036 - shown, then the run ends
                print(f"{name} #{args.only} ({len(data)} bytes): unhandled")
                traceback.print_exc()
                return 1
            print(f"{name} #{args.only} ({len(data)} bytes): {outcome}")
        return 0

    unhandled = 0
    for name in names:
        report = fuzz(name, args.count, seed=args.seed, start=args.start, keep=args.keep,
                      max_seconds=args.max_seconds)
        print(report.summary(), flush=True)
        if report.failures:
            print(report.details(), flush=True)
        unhandled += report.unhandled_count
    print(f"unhandled in all: {unhandled}")
    return 1 if unhandled else 0


if __name__ == "__main__":
    sys.exit(main())
