"""Precision, recall and F1 from counts: the one definition that every malmoi figure uses.

Entity scores (:mod:`malmoi.entity.metrics`, and through it training's validation and the
benchmarks), the per-intent table and the out-of-domain figures of ``malmoi test``
(:mod:`malmoi.evaluate`) all call :func:`prf`. A leaf module: it imports nothing of malmoi.

**Convention for an undefined ratio.** Precision is ``correct / predicted`` and recall
``correct / gold``. When a denominator is zero the ratio is 0, as conlleval (CoNLL-2000) and
seqeval report it: predicting nothing while there is something to find has no precision worth
the name, and finding things where there is nothing has no recall. The one exception is when
there is nothing to find and nothing was predicted: all three figures are then 1.0, because
nothing was missed and nothing was wrong. (``conlleval.pl`` prints 0 there too; it only happens
for a test set without a single entity, where 0 would read as a broken tagger.) F1 is the
harmonic mean of precision and recall, 0 when both are 0.
"""

from __future__ import annotations

__all__ = ["prf"]


def prf(correct: int, gold: int, predicted: int) -> dict[str, float]:
    """Precision, recall and F1 of ``correct`` hits among ``predicted`` items and ``gold`` ones.

    Returns ``precision``, ``recall``, ``f1``, and the counts as ``support`` (gold),
    ``predicted`` and ``correct``.

    >>> prf(1, 2, 4)["f1"], prf(0, 3, 0)["precision"], prf(0, 0, 0)["f1"]
    (0.3333333333333333, 0.0, 1.0)
    """
    if not 0 <= correct <= min(gold, predicted):
        raise ValueError(f"{correct} correct of {gold} gold and {predicted} predicted; expected 0 <= correct <= both")
    nothing = gold == 0 and predicted == 0
    precision = correct / predicted if predicted else float(nothing)
    recall = correct / gold if gold else float(nothing)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": gold, "predicted": predicted,
            "correct": correct}
