"""The learned half of the disclosure classifier: does a sentence state an analytics purpose?

:class:`PurposeModel` scores one policy sentence: "the site collects or analyses usage /
interaction data for analytics, measurement or improvement" (1) or anything else (0: generic
cookie explanations, negated statements, advertising, security, collection without an aim,
vendor lists, the rest of a policy). It is a logistic regression over TF-IDF-weighted word uni-
and bigrams; English words and Japanese lemmas (fugashi) come from
:func:`transforms.survey.policy_text.tokens`, which marks every token in the scope of a negation.

Training data: ``data/disclosure_sentences.tsv``, sentences written for this project (no policy
text, and nothing from OPP-115, whose research-only terms do not allow shipping it or a model
derived from it; see docs/survey.md). Rows are split deterministically into a training part and a
held-out part (:func:`split`); the registry stores the model with its held-out metrics.

Offline: ``python -m transforms.survey.policy_model train`` trains on the shipped sentences,
saves the model in the lake's registry (``models/survey_disclosure_purpose/``) and runs the gate.
The survey stage loads the promoted version (:func:`load_promoted`), and trains it the same way on
first use when a lake has none yet.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from transforms.common.models import GateRule, Model, ModelRegistry

log = logging.getLogger(__name__)

TRAINING_PATH = Path(__file__).with_name("data") / "disclosure_sentences.tsv"
HELD_OUT_SHARE = 0.2
GATE = GateRule("f1", higher_is_better=True, tolerance=0.02, floors={"f1": 0.75, "precision": 0.75})


def _identity(features):  # module level: the fitted vectorizer pickles a reference to it
    return features


def features(text: str, language: str | None = None) -> list[str]:
    """Word unigrams and bigrams of one sentence (negation-marked tokens)."""
    from transforms.survey.policy_text import tokens

    words = tokens(text, language)
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


class PurposeModel(Model):
    """Sentence → probability that it states the site's analytics / improvement purpose."""

    name = "survey_disclosure_purpose"

    def __init__(self, C: float = 4.0, threshold: float = 0.5, min_df: int = 1):
        self.params = {"C": C, "threshold": threshold, "min_df": min_df}
        self._vectorizer = None
        self._classifier = None

    @staticmethod
    def _features(data: pd.DataFrame) -> list[list[str]]:
        languages = data["language"] if "language" in data else [None] * len(data)
        return [features(text, lang) for text, lang in zip(data["text"], languages)]

    def fit(self, data: pd.DataFrame) -> "PurposeModel":
        """``data``: columns ``text``, ``label`` (0/1) and optionally ``language``."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self._vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=self.params["min_df"])
        x = self._vectorizer.fit_transform(self._features(data))
        self._classifier = LogisticRegression(C=self.params["C"], class_weight="balanced", max_iter=2000)
        self._classifier.fit(x, data["label"].astype(int).to_numpy())
        return self

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        """Probability of the purpose class per row (column ``text``, optional ``language``)."""
        if self._classifier is None:
            raise RuntimeError("PurposeModel is not fitted")
        if len(data) == 0:
            return np.zeros(0)
        return self._classifier.predict_proba(self._vectorizer.transform(self._features(data)))[:, 1]

    def score(self, sentences: list[str], languages: list[str]) -> np.ndarray:
        return self.predict(pd.DataFrame({"text": sentences, "language": languages}))

    def evaluate(self, data: pd.DataFrame) -> dict[str, float]:
        """Sentence-level precision / recall / F1 / accuracy at the model's threshold."""
        predicted = self.predict(data) >= self.params["threshold"]
        truth = data["label"].astype(int).to_numpy() == 1
        tp = float(np.sum(predicted & truth))
        precision = tp / max(float(predicted.sum()), 1.0)
        recall = tp / max(float(truth.sum()), 1.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"f1": f1, "precision": precision, "recall": recall,
                "accuracy": float(np.mean(predicted == truth)), "n": float(len(data))}


# ---------------------------------------------------------------------------------------------
# shipped training data, registry
# ---------------------------------------------------------------------------------------------
def load_sentences(path: Path = TRAINING_PATH) -> pd.DataFrame:
    """The shipped sentences: ``label``, ``kind``, ``text``, ``language`` (ja when it has kana/kanji)."""
    frame = pd.read_csv(path, sep="\t", comment="#", dtype={"label": int, "kind": str, "text": str},
                        quoting=3, keep_default_na=False)
    frame["language"] = [("ja" if any("\u3040" <= ch <= "\u9fff" for ch in t) else "en") for t in frame["text"]]
    return frame


def split(frame: pd.DataFrame, share: float = HELD_OUT_SHARE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, held out): each sentence's part is fixed by a hash of its text, so adding sentences
    never moves an old one across the line."""
    bucket = frame["text"].map(lambda t: int(hashlib.sha256(t.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF)
    held = bucket < share
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)


def train_and_register(lake, path: Path = TRAINING_PATH, **params):
    """Fit on the shipped training part, measure on its held-out part, save and gate.
    Returns ``(version, GateDecision)``."""
    train, held_out = split(load_sentences(path))
    model = PurposeModel(**params).fit(train)
    metrics = model.evaluate(held_out)
    registry = ModelRegistry(lake, PurposeModel.name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    version = registry.save(model, None, {"training_file": path.name, "sha256": digest, "train_rows": len(train),
                                          "held_out_rows": len(held_out)}, metrics)
    current = registry.current_version()
    current_metrics = registry.load(current).evaluate(held_out) if current else None
    return version, registry.gate(version, GATE, current_metrics)


def load_promoted(lake) -> tuple[PurposeModel, str]:
    """The promoted purpose model and its version; trained from the shipped sentences first when
    the lake has no promoted model (a fresh deployment), refused loudly if that one fails the gate."""
    registry = ModelRegistry(lake, PurposeModel.name)
    if registry.current_version() is None:
        log.info("no promoted %s model in the lake: training it from %s", PurposeModel.name, TRAINING_PATH.name)
        version, decision = train_and_register(lake)
        if not decision.promoted:
            raise RuntimeError(f"the purpose model trained from the shipped data failed its gate: {decision.reason}")
    version = registry.current_version()
    return registry.load(version), version


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["train"])
    parser.add_argument("--training-file", default=str(TRAINING_PATH))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from transforms.common.settings import Settings

    version, decision = train_and_register(Settings().lake, Path(args.training_file))
    print(f"{PurposeModel.name} {version}: {'promoted' if decision.promoted else 'refused'} ({decision.reason})")


if __name__ == "__main__":
    main()
