"""Doc2Vec (gensim) over user-day documents: training with fixed seeds, inference for new days."""
from __future__ import annotations

import logging
import time

import numpy as np

log = logging.getLogger(__name__)


def train(documents: list[tuple[str, list[str]]], dims: int, epochs: int, seed: int, min_count: int = 1,
          workers: int = 1):
    """PV-DM over (tag, tokens); one worker thread by default so a rerun gives the same vectors."""
    from gensim.models.doc2vec import Doc2Vec, TaggedDocument

    corpus = [TaggedDocument(list(tokens), [tag]) for tag, tokens in documents if tokens]
    if not corpus:
        raise ValueError("no non-empty documents to train Doc2Vec on")
    started = time.perf_counter()
    model = Doc2Vec(vector_size=dims, window=5, min_count=min_count, epochs=epochs, seed=seed,
                    workers=workers, hs=0, negative=5, dm=1)
    model.build_vocab(corpus)
    model.train(corpus, total_examples=len(corpus), epochs=epochs)
    log.info("doc2vec: %d documents, %d words vocabulary, %d dims in %.1fs", len(corpus),
             len(model.wv), dims, time.perf_counter() - started)
    return model


def infer(model, documents: list, seed: int) -> np.ndarray:
    """Vectors of token lists (zero vector for empty ones); deterministic per document."""
    out = np.zeros((len(documents), model.vector_size), dtype=np.float32)
    model.random = np.random.RandomState(seed)  # gensim draws negative samples from it
    for i, tokens in enumerate(documents):
        known = [t for t in tokens if t in model.wv.key_to_index]
        if known:
            out[i] = model.infer_vector(known)
    return out


def panel_vectors(model, panel, seed: int) -> np.ndarray:
    """(U, D, dims) inferred vectors of every user-day document of the panel."""
    started = time.perf_counter()
    flat = [doc for per_day in panel.documents for doc in per_day]
    vectors = infer(model, flat, seed).reshape(len(panel.users), len(panel.days), -1)
    log.info("doc2vec: inferred %d user-day vectors in %.1fs", len(flat), time.perf_counter() - started)
    return vectors
