"""A fingerprint representation that does not reward shared emptiness (issue 14).

The paper's canonical string is 20 ``name=value`` lines in a fixed order, missing attributes as
empty lines. When a deployment collects only part of the 20 (UA, screen, language is common),
that boilerplate dominates the ssdeep hash: two different iPhones score 91–99. Here instead:

* only **present** attributes take part, in the fixed (stable) order;
* each attribute is **weighted by how identifying it is**: its Shannon entropy over the store's
  present values (bits). Attributes below ``MIN_BITS`` (nearly constant in the store, e.g.
  ``sse2``, ``local_storage``) are left out of the fuzzy string; the others are repeated
  ``1 + bits // BITS_PER_COPY`` times (at most ``MAX_COPIES``), so an identifying attribute
  covers more of the hash than a common one;
* the **fuzzy hash is over that informative part** only (``informative_string``).

Per-value information (``surprisal``: −log2 of the share of stored visits with that value) lets
the hybrid linker tell "shares a rare font list" from "shares the most common phone": agreement
on common values carries few bits. The paper's exact method keeps its own canonical string
(:func:`attributes.canonical_string`) as the baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from transforms.fingerprint import attributes as attrs

MIN_BITS = 0.5
BITS_PER_COPY = 3.0
MAX_COPIES = 4
MIN_ROWS = 20  # fewer stored rows estimate no entropy: every present attribute then counts once


@dataclass
class EntropyWeights:
    """Per-attribute entropy (bits) over present values and coverage, estimated from a store."""

    bits: dict[str, float]
    coverage: dict[str, float]
    rows: int

    @classmethod
    def from_codes(cls, codes: dict[str, np.ndarray]) -> "EntropyWeights":
        """From factorised attribute codes (−1 = missing), as :class:`table.VisitTable` holds them."""
        bits, coverage, n = {}, {}, 0
        for name in attrs.ATTRIBUTES:
            column = codes.get(name, np.zeros(0, np.int64))
            n = len(column)
            present = column[column >= 0]
            coverage[name] = len(present) / n if n else 0.0
            if len(present) == 0:
                bits[name] = 0.0
                continue
            if n < MIN_ROWS:
                bits[name] = 1.0
                continue
            counts = np.bincount(present).astype(float)
            p = counts[counts > 0] / len(present)
            bits[name] = float(-(p * np.log2(p)).sum())
        return cls(bits, coverage, n)

    def copies(self, name: str) -> int:
        """Lines of this attribute in the informative string (0: not informative in this store)."""
        bits = self.bits.get(name, 0.0)
        if bits < MIN_BITS:
            return 0
        return int(min(MAX_COPIES, 1 + bits // BITS_PER_COPY))

    def weight(self, name: str) -> float:
        total = sum(self.bits.values())
        return self.bits.get(name, 0.0) / total if total else 0.0

    def table(self) -> list[dict]:
        return [{"attribute": n, "bits": round(self.bits[n], 3), "coverage": round(self.coverage[n], 4),
                 "copies": self.copies(n)} for n in attrs.ATTRIBUTES]


def informative_string(record: dict, weights: EntropyWeights) -> str:
    """Present, informative attributes only, in the fixed order, each repeated by its weight.
    A record with none of them gives "" (hashes to the empty-input ssdeep hash: scores 0 against
    everything but itself, which the linker treats as no evidence)."""
    lines = []
    for name in attrs.ATTRIBUTES:
        value = record.get(name)
        if value is None or value == "":
            continue
        lines.extend([f"{name}={value}"] * weights.copies(name))
    return "\n".join(lines)
