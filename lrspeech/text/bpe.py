"""sentencepiece subword models for ASR: deterministic training, tokenization.

Usage: python -m lrspeech.bin.train_bpe --lang_config conf/lang/sw.yaml --text data/x --out bpe

Training uses the identity normalization rule (the cleaners already normalized the text;
sentencepiece's default NFKC would rewrite tone-marked letters), full character coverage
(low-resource alphabets are small and every letter matters) and one thread, so the same text
and settings give the same model, byte for byte. The model is written atomically, so a
half-written model never sits under the final name.
"""

import io
import logging
import re
from pathlib import Path
from typing import Iterable, List, Set, Union

from lrspeech.data.atomic import atomic_write_bytes, atomic_write_text
from lrspeech.errors import LrspeechError

logger = logging.getLogger(__name__)

UNK = "<unk>"
_TOO_HIGH = re.compile(r"Vocabulary size too high \((\d+)\).*<= (\d+)", re.DOTALL)


class BpeError(LrspeechError, ValueError):
    """A BPE model cannot be trained or loaded as asked."""


def train_bpe(
    sentences: Iterable[str],
    model_prefix: Union[str, Path],
    vocab_size: int,
    model_type: str = "unigram",
    source: str = "<text>",
) -> Path:
    """Train `<model_prefix>.model` (+ `.vocab`) on cleaned sentences; return the model path.

    The same sentences and settings give a byte-identical model (training reads an iterator
    and writes to memory, so no temporary path ends up inside the model).
    """
    import sentencepiece as spm

    corpus = [s.strip() for s in sentences if s.strip()]
    if not corpus:
        raise BpeError(f"{source}: no text to train a BPE model on; give a non-empty text")
    buf = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(corpus),
            model_writer=buf,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=1.0,
            normalization_rule_name="identity",
            input_sentence_size=0,
            shuffle_input_sentence=False,
            num_threads=1,
            unk_surface=UNK,
            minloglevel=2,
        )
    except RuntimeError as e:
        raise BpeError(_explain(str(e), source, vocab_size)) from e
    model = Path(f"{model_prefix}.model")
    atomic_write_bytes(model, buf.getvalue())
    atomic_write_text(Path(f"{model_prefix}.vocab"), _vocab_text(buf.getvalue()))
    logger.info("trained %s BPE model %s (vocab %d) on %d sentences",
                model_type, model, vocab_size, len(corpus))
    return model


def _vocab_text(model_bytes: bytes) -> str:
    """The `.vocab` listing (piece TAB score) that spm_train writes next to the model."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model_bytes)
    return "".join(
        f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}\n" for i in range(sp.get_piece_size())
    )


def _explain(message: str, source: str, vocab_size: int) -> str:
    m = _TOO_HIGH.search(message)
    if m:
        return (
            f"{source}: bpe_vocab_size {vocab_size} is too large for this text (at most "
            f"{m.group(2)}); lower bpe_vocab_size in the language config or pass --vocab_size"
        )
    return f"{source}: sentencepiece training failed: {message.strip()}"


class BpeModel:
    """A trained sentencepiece model; unknown pieces come out as `<unk>`."""

    def __init__(self, path: Union[str, Path]) -> None:
        import sentencepiece as spm

        self.path = Path(path)
        if not self.path.is_file():
            raise BpeError(
                f"{self.path}: BPE model not found; train one with "
                f"`python -m lrspeech.bin.train_bpe` or fix --bpemodel"
            )
        self._sp = spm.SentencePieceProcessor(model_file=str(self.path))
        self.chars: Set[str] = {c for p in self.pieces() for c in p if c != "\u2581"}

    def encode(self, text: str) -> List[str]:
        """Pieces of `text` ("▁" marks a word start)."""
        ids = self._sp.encode(text)
        return [UNK if self._sp.is_unknown(i) else self._sp.id_to_piece(i) for i in ids]

    def decode(self, pieces: List[str]) -> str:
        return self._sp.decode_pieces([p for p in pieces if p != UNK])

    def pieces(self) -> List[str]:
        """All ordinary pieces in model order (no `<unk>`, `<s>`, `</s>`)."""
        sp = self._sp
        return [
            sp.id_to_piece(i)
            for i in range(sp.get_piece_size())
            if not (sp.is_unknown(i) or sp.is_control(i) or sp.is_unused(i))
        ]
