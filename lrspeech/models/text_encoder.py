"""Raw text of a text dir -> the token ids a packed TTS reads, with one report of what was odd.

Usage: python -c "from lrspeech.models.packing import read_meta as m; \
from lrspeech.models.text_encoder import TextEncoder as E, TextReport as R; \
print(E('exp/packed/tts', m('exp/packed/tts')).encode({'u1': 'Habari yako'}, R()))"

Why: a TTS must read text exactly as its training text was tokenized (lrspeech's lang.yaml
tokenizer, pre-tokenized words, or ESPnet's own cleaner and tokenizer), or it speaks noise.
Blank lines, empty texts and tokens unknown to the model are counted and reported once per
text dir, not once per utterance.
"""

import collections
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Tuple, Union

import numpy as np

from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import MALFORMED, DataDirError
from lrspeech.models import packing
from lrspeech.models.jobs import InferenceError

logger = logging.getLogger(__name__)

PathLike = Union[str, Path]
UNK = "<unk>"
MAX_LISTED = 5


@dataclass
class TextReport:
    """Utterances skipped for empty text and tokens mapped to <unk>, reported once."""

    empty: List[str] = field(default_factory=list)
    blank_lines: List[int] = field(default_factory=list)
    unknown: collections.Counter = field(default_factory=collections.Counter)
    unknown_where: Dict[str, str] = field(default_factory=dict)
    details: str = ""

    def log(self, where: str) -> None:
        if self.blank_lines:
            logger.warning("%s/text: %d blank lines skipped (line %s)", where,
                           len(self.blank_lines), ", ".join(map(str, self.blank_lines[:10])))
        if self.empty:
            logger.warning("%s/text: %d utterances with empty text skipped (%s); fill or drop "
                           "them (utils/fix_data_dir.sh)", where, len(self.empty),
                           ", ".join(self.empty[:MAX_LISTED]))
        if self.details:
            logger.warning("%s/text: %s", where, self.details)
        elif self.unknown:
            shown = ", ".join(f"{t!r} x{n} (e.g. in {self.unknown_where[t]})"
                              for t, n in self.unknown.most_common(MAX_LISTED))
            logger.warning("%s/text: %d tokens unknown to the model were read as <unk>: %s",
                           where, sum(self.unknown.values()), shown)


def read_text_dir(text_dir: PathLike, report: TextReport) -> DataDir:
    """A text dir; blank lines and empty texts are skipped (reported), other problems raise."""
    if not (Path(text_dir) / "text").is_file():
        raise InferenceError(f"{text_dir}/text: missing; synthesis needs a text file")
    dd, problems = DataDir.read(Path(text_dir))
    blank = [p for p in problems if p.kind == MALFORMED and p.utt_id is None]
    fatal = [p for p in problems if p not in blank]
    if fatal:
        raise DataDirError(fatal)
    report.blank_lines = sorted(p.line for p in blank if p.line is not None)
    report.empty = sorted(u for u, t in dd.text.items() if not t.strip())
    return dd


class TextEncoder:
    """Raw text -> the model's token ids, as the model's training text was made.

    - `word` models with a lang.yaml (lrspeech's pre-tokenized phonemes/characters):
      lrspeech.text's Tokenizer with the packed lang.yaml and meta token_type;
    - `word` models read pre-tokenized input with `tokenized=True`;
    - ESPnet's own token types (char/phn/bpe): ESPnet's cleaner and tokenizer.
    Tokens outside the token list become <unk> and are counted in the report.
    """

    def __init__(self, model_dir: PathLike, meta: Mapping[str, Any], tokenized: bool = False):
        model_dir = Path(model_dir)
        config = packing.resolve_config(model_dir)
        self.token_list = [t.rstrip("\n") for t in
                           (model_dir / packing.TOKENS).read_text(encoding="utf-8").splitlines()]
        self.ids = {t: i for i, t in enumerate(self.token_list)}
        self.lrspeech_tokenizer = None
        self.espnet = None
        if str(config.get("token_type")) == "word" and not tokenized:
            self.lrspeech_tokenizer = self._lrspeech(model_dir, meta)
        elif str(config.get("token_type")) != "word":
            self.espnet = self._espnet(config)

    def _lrspeech(self, model_dir: Path, meta: Mapping[str, Any]) -> Any:
        from lrspeech.text.lang import LangConfig
        from lrspeech.text.tokenizer import Tokenizer

        if not (model_dir / packing.LANG).is_file():
            raise InferenceError(
                f"{model_dir}/{packing.LANG}: missing; this model reads lrspeech tokens. Repack "
                "it with --lang_config, or pass pre-tokenized text (--tokenized)")
        token_type = meta.get("token_type")
        token_type = token_type if token_type in ("char", "phn", "bpe") else None
        bpe = model_dir / "bpe.model"
        return Tokenizer(LangConfig.load(model_dir / packing.LANG), token_type=token_type,
                         bpemodel=bpe if bpe.is_file() else None, token_list=self.token_list)

    @staticmethod
    def _espnet(config: Mapping[str, Any]) -> Tuple[Any, Any]:
        from espnet2.text.build_tokenizer import build_tokenizer
        from espnet2.text.cleaner import TextCleaner

        tokenizer = build_tokenizer(
            token_type=config["token_type"], bpemodel=config.get("bpemodel"),
            non_linguistic_symbols=config.get("non_linguistic_symbols"),
            g2p_type=config.get("g2p"))
        return TextCleaner(config.get("cleaner")), tokenizer

    def tokens(self, texts: Mapping[str, str]) -> Dict[str, List[str]]:
        """Tokens of each utterance (as the model knows them: unknown ones are <unk>)."""
        utts = sorted(texts)
        if self.lrspeech_tokenizer is not None:
            raw = self.lrspeech_tokenizer.tokenize_batch([texts[u] for u in utts], utts)
        elif self.espnet is not None:
            cleaner, tokenizer = self.espnet
            raw = [tokenizer.text2tokens(cleaner(texts[u])) for u in utts]
        else:
            raw = [texts[u].split() for u in utts]
        return dict(zip(utts, raw))

    def encode(self, texts: Mapping[str, str], report: TextReport) -> Dict[str, List[str]]:
        """Tokens per utterance with unknown ones replaced by <unk> and counted in `report`."""
        out = {}
        for utt, toks in self.tokens(texts).items():
            known = []
            for tok in toks:
                if tok not in self.ids:
                    report.unknown[tok] += 1
                    report.unknown_where.setdefault(tok, utt)
                    tok = UNK
                known.append(tok)
            out[utt] = known
        tokenizer = self.lrspeech_tokenizer
        if tokenizer is not None:  # it maps unknown tokens to <unk> itself, and counts them
            report.unknown.update(tokenizer.report.oov_tokens)
            if not tokenizer.report.empty:
                report.details = tokenizer.report.summary()
        return out

    def to_ids(self, tokens: Sequence[str]) -> np.ndarray:
        return np.array([self.ids.get(t, self.ids.get(UNK, 1)) for t in tokens], dtype=np.int64)
