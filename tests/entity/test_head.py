"""The entity head: its numpy twin decodes what the torch head scores; the intent tag bias is one-way."""

import itertools

import numpy as np
import torch

from malmoi.entity.head import EntityHead
from malmoi.entity.tagger import EntityTagger
from malmoi.intent.head import IntentHead
from malmoi.settings import EntitySettings, IntentSettings

TAGS = ["O", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]


def test_the_intent_tag_bias_never_lets_the_tagging_loss_move_the_intent_space():
    """With entity.intent_tag_bias the sentence vector biases the tags, but the entity loss sends
    it no gradient, so only the intent loss shapes where utterances sit relative to the centres."""
    torch.manual_seed(0)
    intent = IntentHead(8, 3, IntentSettings())
    entity = EntityHead(8, 8, TAGS, EntitySettings(intent_tag_bias=True))
    tokens = torch.randn(2, 4, 8, requires_grad=True)
    mask = torch.ones(2, 4, dtype=torch.bool)
    sentence = intent.sentence(tokens, mask, None)
    emissions = entity(tokens, sentence)
    entity.loss(emissions, torch.zeros(2, 4, dtype=torch.long), mask).backward()
    assert intent.project.weight.grad is None or not intent.project.weight.grad.any()
    assert entity.sentence_tags is not None and entity.sentence_tags.weight.grad.any()
    assert entity.emissions.weight.grad.any()  # the tagger itself did learn from it


def test_the_numpy_tagger_scores_and_decodes_like_the_torch_head():
    torch.manual_seed(1)
    head = EntityHead(8, 8, TAGS, EntitySettings(intent_tag_bias=True)).eval()
    with torch.no_grad():
        head.crf.transitions.normal_()
    tagger = EntityTagger(EntitySettings(intent_tag_bias=True), *head.export())
    assert tagger.num_tags == len(TAGS)
    tokens, sentence = torch.randn(5, 8), torch.randn(8)
    with torch.no_grad():
        expected = head(tokens[None], sentence[None])[0].numpy()
    emissions = tagger.emissions(tokens.numpy(), sentence.numpy())
    assert np.allclose(emissions, expected, atol=1e-5)
    path = tagger.decode(emissions)
    # The reference: the best of every tag sequence the scheme allows, by brute force.
    from itertools import product

    transitions, start, end = head.crf.decode_numpy()
    best = max(product(range(len(TAGS)), repeat=5),
               key=lambda p: start[p[0]] + sum(emissions[i, t] for i, t in enumerate(p))
               + sum(transitions[a, b] for a, b in itertools.pairwise(p)) + end[p[-1]])
    assert path == list(best)
