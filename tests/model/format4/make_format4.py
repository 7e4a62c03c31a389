"""How tests/model/format4/ was made: a tiny bot trained by malmoi at commit 8a58b84 (model format 4),
and that version's answers to a few utterances, which test_artifact.py expects from today's reader.

    git worktree add /tmp/old 8a58b84
    PYTHONPATH=/tmp/old/src python tests/model/format4/make_format4.py
"""

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # tests/, for the tiny bot of conftest.py

import malmoi  # noqa: E402
from tiny_bot import write_tiny_bot  # noqa: E402

TEXTS = ["내일 서울 날씨 알려줘", "부산 국밥 맛집 추천해줘", "안녕", "노래 틀어줘", "!!!", "제주 모레 비 와?"]

with tempfile.TemporaryDirectory() as work:
    bot = write_tiny_bot(Path(work) / "bot", encoder="{dim: 16, layers: 1, hash_buckets: 1024}",
                         training="{epochs: 8, patience: 8, batch_size: 16}")
    model = malmoi.train(bot, progress=False)
model.save(HERE / "model")
answers = [r.model_dump(mode="json") for r in model.parse_batch(TEXTS)]
expected = {"texts": TEXTS, "answers": answers, "in_domain": model.in_domain_scores(TEXTS).tolist()}
(HERE / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1), "utf-8")
