"""sentencepiece training: deterministic, atomic, clear errors."""

from pathlib import Path

import pytest

from lrspeech.text.bpe import BpeError, BpeModel, train_bpe

SENTENCES = [
    "nilitoka nyumbani jioni moja kwenda kuonana na rafiki",
    "huu ni wakati ambapo upepo wa matumaini unavuma kote afrika",
    "hakuna uhuru wa kujieleza kukusanyika na elimu",
] * 5


def test_training_is_deterministic(tmp_path: Path):
    a = train_bpe(SENTENCES, tmp_path / "a" / "bpe", vocab_size=40)
    b = train_bpe(SENTENCES, tmp_path / "b" / "bpe", vocab_size=40)
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "a" / "bpe.vocab").read_text(encoding="utf-8").splitlines()[0] == "<unk>\t0"


def test_encode_round_trip_and_pieces(tmp_path: Path):
    model = BpeModel(train_bpe(SENTENCES, tmp_path / "bpe", vocab_size=40, model_type="bpe"))
    pieces = model.encode("rafiki wa afrika")
    assert model.decode(pieces) == "rafiki wa afrika"
    assert len(model.pieces()) == 37  # 40 minus <unk>, <s>, </s>
    assert "<unk>" not in model.pieces()
    assert set("rafiki") <= model.chars


def test_vocab_too_large_says_the_limit(tmp_path: Path):
    with pytest.raises(BpeError) as e:
        train_bpe(SENTENCES, tmp_path / "bpe", vocab_size=5000, source="data/train/text")
    msg = str(e.value)
    assert msg.startswith("data/train/text: bpe_vocab_size 5000 is too large for this text")
    assert "(at most " in msg
    assert "lower bpe_vocab_size" in msg
    assert not (tmp_path / "bpe.model").exists()


def test_empty_text_and_missing_model(tmp_path: Path):
    with pytest.raises(BpeError, match=r"x.txt: no text to train a BPE model on"):
        train_bpe(["", "  "], tmp_path / "bpe", vocab_size=10, source="x.txt")
    with pytest.raises(BpeError, match=r"nope.model: BPE model not found; train one with"):
        BpeModel(tmp_path / "nope.model")
