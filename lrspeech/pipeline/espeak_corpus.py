"""Multi-speaker synthetic speech from any text with espeak-ng, as a Kaldi-style data dir.

Usage:
    python -m lrspeech.bin.make_espeak_corpus --text <(printf 'Habari yako?\\nAsante sana.\\n') \\
        --lang sw --num_speakers 2 --fs 16000 --out /tmp/rich_sw

Why: rich-resource pretraining needs many speakers and many hours in some language; espeak-ng
speaks ~130 languages offline. Each synthetic speaker is a voice variant (+m1..+m8, +f1..+f5,
then other listed variants) with its own pitch (-p) and speed (-s), drawn from the seed so the
corpus is reproducible. Pitch and speed are stratified over their ranges so that speakers differ
audibly rather than by chance. The output dir holds wav.scp (absolute paths of 16-bit wavs
under <out>/wav, or under --wav_dir when the dir will be moved), text, utt2spk, spk2utt,
utt2dur, utt2lang and spk2voice (the espeak-ng arguments per speaker); it appears under its
final name only when complete. espeak-ng speech is for pretraining and
tests, never an evaluation reference.
"""

import difflib
import io
import logging
import random
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import soundfile as sf

from lrspeech.data.atomic import atomic_dir
from lrspeech.data.audio import resample, to_mono, write_wav
from lrspeech.data.datadir import DataDir, datadir_files
from lrspeech.data.sentences import SAFE_ID, Sentence, SentenceFileError, read_sentences
from lrspeech.errors import InputError, LrspeechError
from lrspeech.progress import progress

logger = logging.getLogger(__name__)

MALE_VARIANTS = tuple(f"m{i}" for i in range(1, 9))
FEMALE_VARIANTS = tuple(f"f{i}" for i in range(1, 6))
# Listed variants that whisper, croak, sound robotic or play at a fixed odd speed.
EFFECT_VARIANTS = frozenset(
    {"whisper", "whisperf", "Demonic", "fast", "announcer", "croak", "UniRobot", "anikaRobot",
     "Tweaky"} | {"robosoft"} | {f"robosoft{i}" for i in range(2, 9)}
)
SILENCE_PEAK = 1e-3  # espeak-ng renders text without speakable words as silence
VOICE_HELP = "list them with `espeak-ng --voices` (languages) and `espeak-ng --voices=variant`"


class EspeakError(LrspeechError, RuntimeError):
    """espeak-ng is missing, lacks the voice, or failed on an utterance."""


@dataclass(frozen=True)
class SpeakerVoice:
    """One synthetic speaker: espeak-ng voice variant, pitch 0-99 and speed in words/min."""

    spk_id: str
    variant: str
    pitch: int
    speed: int

    def voice(self, lang: str) -> str:
        return f"{lang}+{self.variant}"

    def describe(self, lang: str) -> str:
        return f"{self.voice(lang)} -p {self.pitch} -s {self.speed}"


@dataclass
class EspeakCorpusConfig:
    lang: str
    num_speakers: int = 4
    num_utts: Optional[int] = None  # None: every sentence of the text file
    fs: int = 16000
    seed: int = 0
    nj: int = 1
    pitch_range: Tuple[int, int] = (30, 70)
    speed_range: Tuple[int, int] = (145, 185)
    spk_prefix: Optional[str] = None  # default "espeak-<lang>-"
    min_duration: float = 0.1  # shorter output (e.g. text of punctuation only) is skipped

    def __post_init__(self) -> None:
        checks = [
            (self.num_speakers >= 1, f"--num_speakers must be at least 1, got {self.num_speakers}"),
            (self.num_utts is None or self.num_utts >= 1,
             f"--num_utts must be at least 1, got {self.num_utts}"),
            (self.fs >= 8000, f"--fs must be a sample rate of at least 8000 Hz, got {self.fs}"),
            (self.nj >= 1, f"--nj must be at least 1, got {self.nj}"),
            (0 <= self.pitch_range[0] <= self.pitch_range[1] <= 99,
             f"pitch range {self.pitch_range} must lie in espeak-ng's 0..99, low first"),
            (80 <= self.speed_range[0] <= self.speed_range[1] <= 450,
             f"speed range {self.speed_range} must lie in espeak-ng's 80..450 words/min"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)

    @property
    def prefix(self) -> str:
        return self.spk_prefix if self.spk_prefix is not None else f"espeak-{self.lang}-"


def espeak_binary() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        raise EspeakError("espeak-ng is not on PATH; install it (e.g. apt-get install espeak-ng)")
    return path


def _espeak_listing(arg: str) -> List[List[str]]:
    out = subprocess.run([espeak_binary(), arg], capture_output=True, text=True, check=True)
    return [line.split() for line in out.stdout.splitlines()[1:] if line.strip()]


@lru_cache(maxsize=1)
def list_voices() -> Set[str]:
    """Every name espeak-ng accepts for -v: language codes, other codes, names, voice files."""
    names: Set[str] = set()
    for fields in _espeak_listing("--voices"):
        names.update(fields[1:2] + fields[3:5])
        names.update(re.findall(r"\(([^ )]+) \d+\)", " ".join(fields[5:])))
    return names


@lru_cache(maxsize=1)
def list_variants() -> Dict[str, str]:
    """Variant id (as in `-v en+f2`) -> gender 'M'/'F'/'-', from `espeak-ng --voices=variant`."""
    variants = {}
    for fields in _espeak_listing("--voices=variant"):
        files = [f for f in fields if f.startswith("!v/")]
        if files:
            gender = fields[2].split("/")[-1] if len(fields) > 2 else "-"
            variants[files[0][3:]] = gender
    return variants


def check_voice(lang: str) -> None:
    """Raise EspeakError naming the voice, close matches and how to list voices."""
    voices = list_voices()
    if lang in voices:
        return
    close = difflib.get_close_matches(lang, sorted(voices), n=3)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    raise EspeakError(f"espeak-ng has no voice {lang!r}{hint}; {VOICE_HELP}")


def choose_sentences(
    sentences: Sequence[Sentence], num_utts: Optional[int], seed: int, path: Path
) -> List[Sentence]:
    """A seeded sample of `num_utts` sentences, kept in file order (all when None)."""
    if num_utts is None or num_utts == len(sentences):
        return list(sentences)
    if num_utts > len(sentences):
        raise SentenceFileError(
            f"{path}: has {len(sentences)} sentences, {num_utts} utterances asked; lower "
            "--num_utts or give a longer text file"
        )
    picked = random.Random(f"{seed}-sentences").sample(range(len(sentences)), num_utts)
    return [sentences[i] for i in sorted(picked)]


def _stratified(n: int, bounds: Tuple[int, int], rng: random.Random) -> List[int]:
    """One value from the middle half of each of n equal bins over `bounds`, in random order."""
    lo, hi = bounds
    width = (hi - lo) / n
    values = [round(lo + width * (k + 0.25 + 0.5 * rng.random())) for k in range(n)]
    rng.shuffle(values)
    return values


def variant_pool(available: Dict[str, str], rng: random.Random) -> List[str]:
    """Variants in the order speakers take them: standard f/m alternating, then the others."""
    females = [v for v in FEMALE_VARIANTS if v in available]
    males = [v for v in MALE_VARIANTS if v in available]
    rng.shuffle(females)
    rng.shuffle(males)
    first, second = (females, males) if rng.random() < 0.5 else (males, females)
    pool = [v for pair in zip(first, second) for v in pair]
    pool += first[len(second):] + second[len(first):]
    others = sorted(set(available) - set(pool) - EFFECT_VARIANTS)
    rng.shuffle(others)
    return pool + others


def make_speakers(cfg: EspeakCorpusConfig, available: Dict[str, str]) -> List[SpeakerVoice]:
    """`cfg.num_speakers` voices drawn deterministically from `cfg.seed`."""
    rng = random.Random(f"{cfg.seed}-speakers")
    pool = variant_pool(available, rng)
    if not pool:
        raise EspeakError(f"espeak-ng lists no voice variants; {VOICE_HELP}")
    if not SAFE_ID.match(cfg.prefix):
        raise InputError(
            f"speaker prefix {cfg.prefix!r} is not usable in ids and file names; use letters, "
            "digits, '.', '_' and '-' only"
        )
    pitches = _stratified(cfg.num_speakers, cfg.pitch_range, rng)
    speeds = _stratified(cfg.num_speakers, cfg.speed_range, rng)
    width = max(2, len(str(cfg.num_speakers)))
    return [
        SpeakerVoice(f"{cfg.prefix}{k + 1:0{width}d}", pool[k % len(pool)], pitches[k], speeds[k])
        for k in range(cfg.num_speakers)
    ]


@dataclass(frozen=True)
class UttPlan:
    utt_id: str
    text: str
    speaker: SpeakerVoice


def assign_speakers(
    sentences: Sequence[Sentence], speakers: Sequence[SpeakerVoice], seed: int
) -> List[UttPlan]:
    """Shuffle the sentences (seeded) and deal them to the speakers in turn; sorted by id."""
    order = list(range(len(sentences)))
    random.Random(f"{seed}-assign").shuffle(order)
    plans = []
    for rank, i in enumerate(order):
        spk = speakers[rank % len(speakers)]
        plans.append(UttPlan(f"{spk.spk_id}-{sentences[i].id}", sentences[i].text, spk))
    return sorted(plans, key=lambda p: p.utt_id)


def synthesize(text: str, voice: str, pitch: int, speed: int, fs: int) -> np.ndarray:
    """espeak-ng speech for `text` at `fs` Hz (float32 mono). Text goes via stdin, so a
    leading '-' is not read as an option."""
    cmd = [espeak_binary(), "-v", voice, "-p", str(pitch), "-s", str(speed), "--stdin", "--stdout"]
    proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True)
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise EspeakError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {err}")
    audio, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    return resample(to_mono(audio), sr, fs)


def _render(plan: UttPlan, lang: str, fs: int, wav_dir: Path) -> float:
    """Write one utterance's wav; return its duration in seconds (0 for silence, not written)."""
    spk = plan.speaker
    try:
        audio = synthesize(plan.text, spk.voice(lang), spk.pitch, spk.speed, fs)
    except EspeakError as err:
        raise EspeakError(f"utterance {plan.utt_id!r}: {err}") from err
    if len(audio) == 0 or float(np.abs(audio).max()) < SILENCE_PEAK:
        return 0.0
    write_wav(wav_dir / f"{plan.utt_id}.wav", audio, fs)
    return len(audio) / fs


def render_all(plans: Sequence[UttPlan], cfg: EspeakCorpusConfig, wav_dir: Path) -> List[float]:
    """Synthesize every plan with `cfg.nj` espeak-ng processes at a time; durations in order."""
    wav_dir.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, cfg.nj)) as pool:
        jobs = pool.map(lambda p: _render(p, cfg.lang, cfg.fs, wav_dir), plans)
        return list(progress(jobs, total=len(plans), desc=f"espeak-ng {cfg.lang}", unit="utt"))


def build_datadir(
    plans: Sequence[UttPlan], durations: Sequence[float], cfg: EspeakCorpusConfig, final_wav: Path
) -> DataDir:
    """The data dir of the kept utterances; wav paths point into the final output dir."""
    dd = DataDir()
    for plan, dur in zip(plans, durations):
        if dur < cfg.min_duration:
            logger.warning(
                "utterance %r: espeak-ng made no speech (%.3f s) for %r; skipped",
                plan.utt_id, dur, plan.text,
            )
            continue
        dd.wav_scp[plan.utt_id] = str(final_wav / f"{plan.utt_id}.wav")
        dd.text[plan.utt_id] = plan.text
        dd.utt2spk[plan.utt_id] = plan.speaker.spk_id
        dd.utt2dur[plan.utt_id] = dur
        dd.utt2lang[plan.utt_id] = cfg.lang
    if not dd.wav_scp:
        raise EspeakError(f"espeak-ng made no usable audio for any of {len(plans)} sentences")
    return dd


def render_corpus(
    plans: Sequence[UttPlan], cfg: EspeakCorpusConfig, work_wav: Path, final_wav: Path
) -> DataDir:
    """Synthesize into `work_wav`, drop silent/short output, describe it with `final_wav` paths."""
    durations = render_all(plans, cfg, work_wav)
    dd = build_datadir(plans, durations, cfg, final_wav)
    for plan, dur in zip(plans, durations):
        if dur > 0 and plan.utt_id not in dd.wav_scp:
            (work_wav / f"{plan.utt_id}.wav").unlink()
    return dd


def write_corpus_files(tmp: Path, dd: DataDir, speakers: Sequence[SpeakerVoice], lang: str) -> None:
    """The data dir's Kaldi files (formatted by lrspeech.data) and spk2voice, into `tmp`."""
    for name, content in datadir_files(dd).items():
        (tmp / name).write_text(content, encoding="utf-8")
    kept = set(dd.speakers)
    lines = [f"{s.spk_id} {s.describe(lang)}\n" for s in speakers if s.spk_id in kept]
    (tmp / "spk2voice").write_text("".join(lines), encoding="utf-8")


def make_espeak_corpus(
    text_path: Path, out_dir: Path, cfg: EspeakCorpusConfig, wav_dir: Optional[Path] = None
) -> DataDir:
    """Build the corpus in `out_dir` (replaced atomically) and return its DataDir.

    The wavs go to `<out_dir>/wav`, or to `wav_dir` when given: wav.scp holds absolute paths,
    so a data dir that will be moved (or written under a temp name first) needs its wavs in a
    place that stays. `wav_dir` is replaced atomically before the data dir is written.
    """
    out_dir = Path(out_dir).absolute()
    if wav_dir is not None and Path(wav_dir).absolute().is_relative_to(out_dir):
        raise InputError(
            f"--wav_dir {wav_dir} lies inside --out {out_dir}; leave --wav_dir out to keep the "
            "wavs in <out>/wav, or give a folder outside it"
        )
    check_voice(cfg.lang)
    sentences = choose_sentences(read_sentences(text_path), cfg.num_utts, cfg.seed, text_path)
    if len(sentences) < cfg.num_speakers:
        raise InputError(
            f"{text_path}: {len(sentences)} sentences for {cfg.num_speakers} speakers; every "
            "speaker needs one: raise --num_utts or lower --num_speakers"
        )
    speakers = make_speakers(cfg, list_variants())
    plans = assign_speakers(sentences, speakers, cfg.seed)
    for spk in speakers:
        logger.info("speaker %s: %s", spk.spk_id, spk.describe(cfg.lang))
    if wav_dir is None:
        with atomic_dir(out_dir, carry_over=False) as tmp:
            dd = render_corpus(plans, cfg, tmp / "wav", out_dir / "wav")
            write_corpus_files(tmp, dd, speakers, cfg.lang)
    else:
        final_wav = Path(wav_dir).absolute()
        with atomic_dir(final_wav, carry_over=False) as wav_tmp:
            dd = render_corpus(plans, cfg, wav_tmp, final_wav)
        with atomic_dir(out_dir, carry_over=False) as tmp:
            write_corpus_files(tmp, dd, speakers, cfg.lang)
    hours = sum(dd.utt2dur.values()) / 3600
    logger.info("%s: %d utterances, %d speakers, %.2f h", out_dir, len(dd.wav_scp),
                len(dd.speakers), hours)
    dd.path = out_dir
    return dd
