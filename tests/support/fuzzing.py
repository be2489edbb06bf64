"""Seeded byte-level fuzzing shared by the reader fuzz tests: damaged copies of a real file, and
the rule every reader must follow (read it, or raise DataError naming the file)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from framework.errors import DataError


def mutants(data: bytes, seed: int, count: int, edge_values: Sequence[bytes],
            alphabet: bytes | None = None) -> Iterator[bytes]:
    """``count`` damaged copies of ``data``: 1-3 of overwritten bytes, cuts, deletions,
    insertions (drawn from ``alphabet`` when given), repeated spans and fields set to one of
    ``edge_values`` (lengths and counts at their most telling values)."""
    rng = random.Random(seed)
    for _ in range(count):
        out = bytearray(data)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(out) + 1)
            kind = rng.randrange(6)
            if kind == 0 and out:
                out[min(at, len(out) - 1)] = rng.randrange(256)
            elif kind == 1:
                del out[at:]
            elif kind == 2:
                del out[at:at + rng.randint(1, 64)]
            elif kind == 3:
                size = rng.randint(1, 16)
                out[at:at] = (bytes(rng.choices(alphabet, k=size)) if alphabet
                              else rng.randbytes(size))
            elif kind == 4:
                out[at:at] = out[at:at + rng.randint(1, 64)]
            else:
                value = rng.choice(edge_values)
                out[at:at + len(value)] = value
        yield bytes(out)


def outcomes(cases: Iterator[bytes], path: Path, read: Callable[[Path], object]) -> Counter:
    """Write each case to ``path`` and read it; count 'ok' and 'DataError'. Any other exception
    fails the test, and so does a DataError that does not name the file."""
    seen: Counter = Counter()
    for number, case in enumerate(cases):
        path.write_bytes(case)
        try:
            read(path)
            seen["ok"] += 1
        except DataError as error:
            assert str(path) in str(error), f"case {number}: {error} does not name the file"
            seen["DataError"] += 1
    return seen
