"""Per-language configuration (`conf/lang/<iso>.yaml`) for the text frontend.

Usage: python -c "from lrspeech.text.lang import LangConfig as L;print(L.load('conf/lang/sw.yaml'))"

One small YAML file says how a language's text becomes tokens: which espeak-ng voice
phonemizes it (or `none` for a grapheme fallback), the token type, the cleaner policies and
the number normalizer. Loading checks every key and value, and each error names the yaml
file and lists the valid choices, because a typo here otherwise surfaces hours later as a
badly trained model.
"""

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import yaml

from lrspeech.data.atomic import atomic_write_text
from lrspeech.errors import LrspeechError

TOKEN_TYPES: Tuple[str, ...] = ("char", "phn", "bpe")
CASE_POLICIES: Tuple[str, ...] = ("lower", "keep")
PUNCTUATION_POLICIES: Tuple[str, ...] = ("keep", "strip")
UNICODE_FORMS: Tuple[str, ...] = ("NFC", "NFD")
STRESS_POLICIES: Tuple[str, ...] = ("keep", "drop")
NUMBER_NORMALIZERS: Tuple[str, ...] = ("sw", "en", "none")
BPE_MODEL_TYPES: Tuple[str, ...] = ("unigram", "bpe", "char", "word")
REQUIRED_KEYS: Tuple[str, ...] = ("language", "iso", "espeak_voice", "token_type")


class LangConfigError(LrspeechError, ValueError):
    """A language config is missing a key or has an invalid value."""


@dataclass(frozen=True)
class LangConfig:
    """How one language's text is cleaned and tokenized.

    `espeak_voice` is an espeak-ng language code (`espeak-ng --voices`) or None for languages
    espeak-ng lacks (tokens are then characters). `source` is the yaml the config came from;
    it only serves error messages and is not written back by `to_dict`.
    """

    language: str
    iso: str
    espeak_voice: Optional[str]
    token_type: str = "phn"
    unicode_form: str = "NFC"
    case: str = "lower"
    punctuation: str = "keep"
    number_normalizer: str = "none"
    stress: str = "drop"
    bpe_vocab_size: int = 500
    bpe_model_type: str = "unigram"
    source: Optional[Path] = dataclasses.field(default=None, compare=False)

    @classmethod
    def load(cls, path: Union[str, Path]) -> "LangConfig":
        """Read and validate a language yaml."""
        path = Path(path)
        if not path.is_file():
            raise LangConfigError(
                f"{path}: language config not found; copy conf/lang/TEMPLATE.yaml and fill it in"
            )
        with open(path, encoding="utf-8") as f:
            try:
                data = yaml.safe_load(f)
            except yaml.YAMLError as e:
                raise LangConfigError(f"{path}: not valid YAML ({e}); fix the syntax") from e
        if not isinstance(data, dict):
            raise LangConfigError(
                f"{path}: expected a mapping of keys (language, iso, ...), got "
                f"{type(data).__name__}; see conf/lang/TEMPLATE.yaml"
            )
        return cls.from_dict(data, source=path)

    @classmethod
    def from_dict(cls, data: Dict[str, Any], source: Optional[Path] = None) -> "LangConfig":
        """Build from a mapping (the yaml's content); `source` names it in error messages."""
        where = str(source) if source is not None else "<lang config>"
        names = [f.name for f in dataclasses.fields(cls) if f.name != "source"]
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise LangConfigError(
                f"{where}: unknown key(s) {unknown}; valid keys are {names}"
            )
        missing = [k for k in REQUIRED_KEYS if k not in data]
        if missing:
            raise LangConfigError(
                f"{where}: missing required key(s) {missing}; add them "
                f"(see conf/lang/TEMPLATE.yaml)"
            )
        values = dict(data)
        values["espeak_voice"] = _parse_voice(values["espeak_voice"], where)
        for key in ("language", "iso"):
            values[key] = _parse_str(values[key], key, where)
        cfg = cls(**values, source=source)
        cfg._check_choices(where)
        return cfg

    def to_dict(self) -> Dict[str, Any]:
        """The yaml content (espeak_voice None is written as `none`)."""
        names = [f.name for f in dataclasses.fields(self) if f.name != "source"]
        out = {name: getattr(self, name) for name in names}
        out["espeak_voice"] = self.espeak_voice if self.espeak_voice is not None else "none"
        return out

    def with_overrides(self, **changes: Any) -> "LangConfig":
        """A validated copy with some values changed; None values leave a key as it is."""
        data = self.to_dict()
        data.update({k: v for k, v in changes.items() if v is not None})
        return LangConfig.from_dict(data, source=self.source)

    def save(self, path: Union[str, Path]) -> None:
        """Write the yaml atomically (temp file in the same dir, then rename)."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        atomic_write_text(Path(path), text)

    @property
    def where(self) -> str:
        """How error messages name this config."""
        return str(self.source) if self.source is not None else f"<lang config {self.iso}>"

    def _check_choices(self, where: str) -> None:
        choices = {
            "token_type": TOKEN_TYPES,
            "case": CASE_POLICIES,
            "punctuation": PUNCTUATION_POLICIES,
            "unicode_form": UNICODE_FORMS,
            "stress": STRESS_POLICIES,
            "number_normalizer": NUMBER_NORMALIZERS,
            "bpe_model_type": BPE_MODEL_TYPES,
        }
        for key, valid in choices.items():
            value = getattr(self, key)
            if value not in valid:
                raise LangConfigError(
                    f"{where}: {key}: {value!r} is not valid; choose one of {list(valid)}"
                )
        if not isinstance(self.bpe_vocab_size, int) or self.bpe_vocab_size < 2:
            raise LangConfigError(
                f"{where}: bpe_vocab_size: {self.bpe_vocab_size!r} must be an integer >= 2"
            )


def _parse_voice(value: Any, where: str) -> Optional[str]:
    """`none` (or null) means no espeak-ng voice: tokens fall back to graphemes."""
    if isinstance(value, bool):
        raise LangConfigError(
            f"{where}: espeak_voice: YAML read {value!r} (a bare yes/no/on/off); quote the "
            f"voice code, e.g. espeak_voice: \"nb\", or write none"
        )
    if value is None or str(value).strip().lower() in ("none", "null", ""):
        return None
    return str(value).strip()


def _parse_str(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LangConfigError(
            f"{where}: {key}: must be a non-empty string, got {value!r}; quote it in the yaml "
            f"(YAML reads bare no/yes/on/off as booleans)"
        )
    return value.strip()
