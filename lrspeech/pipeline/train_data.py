"""What a model step reads from its data dirs, built in memory: the combined dir and its text.

Usage: python -c "from lrspeech.pipeline.train_data import asr_targets; \
from lrspeech.text.lang import LangConfig; \
print(list(asr_targets(['dump/raw/paired_hq'], LangConfig.load('conf/lang.yaml')).items())[:2])"

ASR targets are the `normalize_for_scoring` text of every transcript (lower case, no
punctuation, numbers as words), so that Speech2Text prints plain text; TTS inputs are
lrspeech's own tokens (phonemes or characters, `<space>` between words). Both are read from
each source dir's `text`, so that an error names its file and line; nothing is written.
"""

import dataclasses
import logging
from pathlib import Path
from typing import Dict, List, Sequence

from lrspeech.data.datadir import DataDir
from lrspeech.data.ops import combine
from lrspeech.errors import InputError
from lrspeech.text.cleaners import normalize_for_scoring
from lrspeech.text.lang import LangConfig
from lrspeech.text.textfile import read_text, tokenize_lines
from lrspeech.text.token_list import read_token_list
from lrspeech.text.tokenizer import Tokenizer

logger = logging.getLogger(__name__)


def load_combined(dirs: Sequence[Path]) -> DataDir:
    """The data dirs as one, in memory (utterance ids must be unique across them)."""
    if len(dirs) == 1:
        return DataDir.load(Path(dirs[0]))
    dd = combine([DataDir.load(Path(d)) for d in dirs])
    return dataclasses.replace(dd, path=Path(" + ".join(str(d) for d in dirs)))


def asr_targets(dirs: Sequence[Path], cfg: LangConfig) -> Dict[str, str]:
    """Every transcript of the dirs in the scoring normalization, by utterance id."""
    out: Dict[str, str] = {}
    for d in dirs:
        source = Path(d) / "text"
        for line in read_text(source):
            norm = normalize_for_scoring(line.text, cfg)
            if not norm:
                raise InputError(
                    f"{source}:{line.lineno}: utterance '{line.utt_id}' is empty after "
                    f"normalization ({line.text!r}); fix or drop it (utils/fix_data_dir.sh)"
                )
            out[line.utt_id] = norm
    return out


def tts_tokens(dirs: Sequence[Path], cfg: LangConfig, token_type: str,
               token_list: Path) -> Dict[str, List[str]]:
    """lrspeech's TTS tokens of every transcript of the dirs, by utterance id."""
    tokenizer = Tokenizer(cfg, token_type=token_type, token_list=read_token_list(token_list))
    out: Dict[str, List[str]] = {}
    for d in dirs:
        source = Path(d) / "text"
        for line, tokens in tokenize_lines(tokenizer, read_text(source), str(source)):
            out[line.utt_id] = list(tokens)
    if not tokenizer.report.empty:
        logger.warning("%s: %s", ", ".join(map(str, dirs)), tokenizer.report.summary())
    return out
