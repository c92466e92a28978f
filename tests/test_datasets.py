import numpy as np
import pytest

from microgradrnn import datasets as data


def test_sine_to_cosine_shapes_and_values():
    x, y = data.sine_to_cosine(batch=3, steps=5, dt=0.1, seed=1)
    assert x.shape == y.shape == (5, 3, 1)
    np.testing.assert_allclose(x**2 + y**2, 1.0)
    # consecutive steps advance the angle by dt
    np.testing.assert_allclose(np.arctan2(x[1], y[1]) - np.arctan2(x[0], y[0]),
                               0.1, atol=1e-12)


def test_binary_addition_is_lsb_first_and_correct():
    x, y, (a, b) = data.binary_addition(batch=50, bits=8, seed=2)
    assert x.shape == (8, 50, 2) and y.shape == (8, 50)
    np.testing.assert_array_equal(data.bits_to_int(x[..., 0]), a)
    np.testing.assert_array_equal(data.bits_to_int(x[..., 1]), b)
    np.testing.assert_array_equal(data.bits_to_int(y), a + b)
    assert a.max() < 128 and b.max() < 128


def test_same_seed_same_data():
    assert np.array_equal(data.sine_to_cosine(4, seed=7)[0], data.sine_to_cosine(4, seed=7)[0])


def test_source_corpus_and_vocab_round_trip():
    text = data.source_corpus()
    assert "class Tensor" in text and len(text) > 10_000
    vocab = data.CharVocab(text)
    ids = vocab.encode(text[:500])
    assert vocab.decode(ids) == text[:500]
    h = vocab.unigram_entropy(vocab.encode(text))
    assert 0 < h < np.log(len(vocab))
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("\x00")
