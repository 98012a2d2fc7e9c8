"""MMVAE's CUB files: caption reader, vocabulary, feature files (.ft and .npy), the folder loader."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from image_builders import write_cub

from specvae.datasets.cub import (
    EOS,
    EXC,
    PAD,
    Vocabulary,
    find_cub_root,
    load_cub,
    read_captions,
    read_features,
    tokenize,
)
from specvae.errors import InputError


def test_tokenize_splits_words_and_punctuation():
    assert tokenize("The bird's beak, short.") == ["the", "bird", "'s", "beak", ",", "short", "."]


def test_vocabulary_keeps_words_seen_more_than_three_times():
    caps = [["a", "b"], ["a", "b"], ["a", "b"], ["a", "c"]]
    vocab = Vocabulary.build(caps)
    assert vocab.words == ["<exc>", "<pad>", "<eos>", "a"]  # b occurs 3 times: not more than min_occ = 3
    tokens = vocab.encode([["a", "c"], ["a"] * 40])
    assert tokens.shape == (2, 32) and tokens.dtype == np.int64
    assert tokens[0, :4].tolist() == [3, EXC, EOS, PAD]
    assert tokens[1, 30:].tolist() == [3, EOS]  # at most 31 words, then <eos>
    assert vocab.decode(tokens[0]) == "a <exc>"


def test_vocabulary_json_round_trip(tmp_path):
    vocab = Vocabulary(["<exc>", "<pad>", "<eos>", "bird", "beak"])
    path = tmp_path / "cub.vocab"
    path.write_text(json.dumps(vocab.to_json()))
    assert Vocabulary.read(path).words == vocab.words
    path.write_text(json.dumps({"w2i": {}}))
    with pytest.raises(InputError, match="not an MMVAE vocabulary"):
        Vocabulary.read(path)


def test_real_caption_file(shared_data):
    caps = read_captions(shared_data / "cub_captions" / "text_testclasses.txt")
    assert len(caps) == 29330 == 2933 * 10
    assert caps[0][:4] == ["the", "medium", "sized", "bird"] and caps[0][-1] == "."
    tokens = Vocabulary.build(caps).encode(caps)
    assert (tokens == EOS).sum(1).tolist() == [1] * len(caps)


@pytest.mark.parametrize("fmt", ["ft", "npy"])
def test_load_cub_folder(tmp_path, fmt):
    write_cub(tmp_path, n_train=5, n_test=3, dim=2048, features=fmt)
    assert find_cub_root(tmp_path) == tmp_path / "cub" == find_cub_root(tmp_path / "cub")
    train, test, vocab = load_cub(tmp_path)
    assert train.features.shape == (5, 2048) and train.features.dtype == np.float32
    assert train.tokens.shape == (50, 32) and test.tokens.shape == (30, 32)
    assert train.image_of[:12].tolist() == [0] * 10 + [1, 1]
    assert vocab.words[:3] == ["<exc>", "<pad>", "<eos>"]


def test_cub_count_mismatch_and_bad_features(tmp_path):
    write_cub(tmp_path, n_train=3, n_test=2, dim=8)
    torch.save(torch.zeros(4, 8), tmp_path / "cub" / "resnet101_2048" / "test.ft")
    with pytest.raises(InputError, match="20 captions for 4 images"):
        load_cub(tmp_path)
    torch.save({"not": "a tensor"}, tmp_path / "bad.ft")
    with pytest.raises(InputError, match="expected a tensor"):
        read_features(tmp_path / "bad.ft")
    (tmp_path / "junk.ft").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a torch-saved"):
        read_features(tmp_path / "junk.ft")
    with pytest.raises(FileNotFoundError, match="cub.zip"):
        find_cub_root(tmp_path / "nowhere")
