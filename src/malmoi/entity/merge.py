"""One rule for entities found twice: by the tagger and by an extractor.

The tagger's spans (learned from the bot's own data) come first; an extractor's span is added
where it overlaps none of them, and of overlapping extractor spans the longer (then the earlier,
then the first extractor's) wins. The result is sorted by position, without overlaps.
"""

from __future__ import annotations

from collections.abc import Sequence

from malmoi.parts import Found

__all__ = ["merge_entities"]


def merge_entities(tagged: Sequence[Found], extracted: Sequence[Found]) -> list[Found]:
    """The tagger's spans plus the extractors' spans that overlap none of the kept ones."""
    kept = list(tagged)
    ranked = sorted(enumerate(extracted), key=lambda item: (-(item[1].end - item[1].start), item[1].start, item[0]))
    for _, found in ranked:
        if all(found.end <= other.start or other.end <= found.start for other in kept):
            kept.append(found)
    return sorted(kept, key=lambda f: (f.start, f.end))
