"""Pages of the run report: Markdown with linked files, and self-contained HTML.

Usage: python -m lrspeech.bin.make_report --results exp/eval/*.json --out_dir exp/report

A page is a list of sections (a table, an image, a note) and the samples. Samples are grouped
by sentence: the real recording of the dev sentence beside each stage's synthesized speech,
every clip with its mel spectrogram on one time axis per sentence, so that lengths and
pauses compare at a glance, and its player. The HTML embeds all of it as base64 data URIs so
the page is one file that opens from disk, can be mailed or archived; the Markdown links PNGs
under `img/` and WAVs under `audio/` of the report folder, which is then whole by itself.
"""

import base64
import html
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

from lrspeech.data.atomic import atomic_write_bytes
from lrspeech.data.audio import load_audio
from lrspeech.eval.attention import select_head
from lrspeech.eval.plots import attention_map, mel_spectrogram

logger = logging.getLogger(__name__)

REAL = "real recording"
SAMPLES_NOTE = (
    "Dev sentences the models never trained on: each stage's synthesized speech beside the "
    "speaker's real recording of the same sentence, the mel spectrograms of one sentence on "
    "one time axis.")


@dataclass
class Sample:
    """One dev sentence shown in the report: a stage's clip and the real recording of it."""

    utt: str
    wav: Optional[Path] = None
    att: Optional[Path] = None
    text: str = ""
    real_wav: Optional[Path] = None


@dataclass
class RenderedSample:
    """A clip's figures (PNG bytes) and audio (WAV bytes), ready to embed or write."""

    stage: str
    sample: Sample
    figures: List[Tuple[str, bytes]] = field(default_factory=list)
    audio: Optional[bytes] = None


@dataclass
class SampleGroup:
    """One sentence: its real recording (if known) and each stage's rendering of it."""

    utt: str
    text: str
    real: Optional[RenderedSample]
    stages: List[RenderedSample]


@dataclass
class Section:
    """A titled part of the page: a note, a table (`ref_rows`: rows shown as reference), and
    an image (file name under img/, PNG bytes)."""

    title: str
    note: str = ""
    header: List[str] = field(default_factory=list)
    rows: List[List[str]] = field(default_factory=list)
    ref_rows: Sequence[int] = ()
    image: Optional[Tuple[str, bytes]] = None


def _load(stage: str, utt: str, wav: Optional[Path]) -> Optional[Tuple[np.ndarray, int]]:
    if wav is None:
        return None
    try:
        return load_audio(str(wav))
    except Exception as err:  # a broken sample must not sink the whole report
        logger.warning("%s: sample '%s' audio skipped (%s)", stage, utt, err)
        return None


def _render(stage: str, sample: Sample, clip: Optional[Tuple[np.ndarray, int]],
            xmax: Optional[float]) -> RenderedSample:
    out = RenderedSample(stage, sample)
    if clip is not None:
        x, sr = clip
        out.figures.append(("mel", mel_spectrogram(x, sr, f"{stage}: {sample.utt}", xmax)))
        buf = io.BytesIO()
        sf.write(buf, np.clip(x, -1, 1), sr, format="WAV", subtype="PCM_16")
        out.audio = buf.getvalue()
    if sample.att is not None:
        try:
            att = select_head(np.load(sample.att))
        except (OSError, ValueError) as err:
            logger.warning("%s: sample '%s' attention skipped (%s)", stage, sample.utt, err)
        else:
            out.figures.append(("attention", attention_map(att, f"{stage}: {sample.utt}")))
    return out


def render_sample(stage: str, sample: Sample, xmax: Optional[float] = None) -> RenderedSample:
    """Mel spectrogram and audio from the wav, attention map from the .npy; missing files warn."""
    return _render(stage, sample, _load(stage, sample.utt, sample.wav), xmax)


def render_group(utt: str, entries: Sequence[Tuple[str, Sample]]) -> SampleGroup:
    """One sentence's clips (stage label, sample), the real recording first, on one time axis."""
    real_wav = next((s.real_wav for _, s in entries if s.real_wav is not None), None)
    real_clip = _load(REAL, utt, real_wav)
    clips = [_load(stage, utt, s.wav) for stage, s in entries]
    seconds = [len(c[0]) / c[1] for c in clips + [real_clip] if c is not None and c[1] > 0]
    xmax = max(seconds, default=None)
    real = None if real_wav is None else _render(REAL, Sample(utt, real_wav), real_clip, xmax)
    text = next((s.text for _, s in entries if s.text), "")
    stages = [_render(stage, s, c, xmax) for (stage, s), c in zip(entries, clips)]
    return SampleGroup(utt, text, real, stages)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


Links = Dict[int, Tuple[List[str], Optional[str]]]


def write_files(out_dir: Path, groups: Sequence[SampleGroup]) -> Links:
    """Write each clip's PNGs under img/ and its WAV under audio/ of the report folder, so the
    Markdown links stay inside it; returns id(rendered clip) -> (image links, audio link)."""
    links: Links = {}
    for g in groups:
        for rs in ([g.real] if g.real else []) + g.stages:
            base = f"{_slug(rs.stage)}_{_slug(g.utt)}"
            images = []
            for kind, png in rs.figures:
                images.append(f"img/{base}_{kind}.png")
                atomic_write_bytes(out_dir / images[-1], png)
            audio = None
            if rs.audio:
                audio = f"audio/{base}.wav"
                atomic_write_bytes(out_dir / audio, rs.audio)
            links[id(rs)] = (images, audio)
    return links


def _md_cell(rs: Optional[RenderedSample], links: Links) -> str:
    if rs is None or id(rs) not in links:
        return "–"
    images, audio = links[id(rs)]
    parts = [f"![{kind}]({img})" for (kind, _), img in zip(rs.figures, images)]
    return " ".join(parts + ([f"[audio]({audio})"] if audio else [])) or "–"


def _md_table(header: List[str], rows: List[List[str]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(title: str, sections: Sequence[Section], groups: Sequence[SampleGroup],
             links: Links) -> str:
    """The Markdown page; images and audio are links inside the report folder."""
    lines = [f"# {title}"]
    for sec in sections:
        lines += ["", f"## {sec.title}"]
        lines += ["", sec.note] if sec.note else []
        lines += [""] + _md_table(sec.header, sec.rows) if sec.header else []
        lines += ["", f"![{sec.title}](img/{sec.image[0]})"] if sec.image else []
    if groups:
        lines += ["", f"## Samples: the {REAL} and each stage's speech", "", SAMPLES_NOTE]
    for g in groups:
        lines += ["", f"### {g.utt}"] + (["", f"> {g.text}"] if g.text else [])
        rows = [[rs.stage, _md_cell(rs, links), _md_cell(g.real, links) if i == 0 else ""]
                for i, rs in enumerate(g.stages)]
        lines += [""] + _md_table(["stage", "synthesized", REAL], rows)
    return "\n".join(lines) + "\n"


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:80em}.scroll{overflow-x:auto}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:right}"
    "td{white-space:nowrap}td:nth-child(2){white-space:normal;min-width:10em}"
    "td:first-child,td:nth-child(2),th{text-align:left}th{background:#eee}img{max-width:100%}"
    "tr.ref td{background:#fbeaea;font-style:italic}.note{color:#444;max-width:60em}"
    ".cmp{width:100%;margin:.5em 0 2em}.cmp td{text-align:left;vertical-align:top;width:46%}"
    ".cmp td:first-child{width:8%;font-weight:bold}.cmp .real{background:#fbeaea}"
    ".cmp .real div{position:sticky;top:0}audio{width:100%}"
)


def _html_clip(rs: RenderedSample) -> str:
    e = html.escape
    parts = []
    if rs.audio:
        parts.append(f"<audio controls src='{_data_uri('audio/wav', rs.audio)}'></audio>")
    for kind, png in rs.figures:
        parts.append(f"<img alt='{e(kind)} {e(rs.sample.utt)}' "
                     f"src='{_data_uri('image/png', png)}'>")
    return "<br>".join(parts) or "–"


def _html_section(sec: Section) -> List[str]:
    e = html.escape
    parts = [f"<h2>{e(sec.title)}</h2>"]
    parts += [f"<p class='note'>{e(sec.note)}</p>"] if sec.note else []
    if sec.header:
        parts.append("<div class='scroll'><table><tr>"
                     + "".join(f"<th>{e(h)}</th>" for h in sec.header) + "</tr>")
        for i, row in enumerate(sec.rows):
            cls = " class='ref'" if i in sec.ref_rows else ""
            parts.append(f"<tr{cls}>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
        parts.append("</table></div>")
    if sec.image:
        parts.append(f"<p><img alt='{e(sec.title)}' src='{_data_uri('image/png', sec.image[1])}'>")
    return parts


def _html_group(g: SampleGroup) -> List[str]:
    e = html.escape
    parts = [f"<h3>{e(g.utt)}</h3>"] + ([f"<p>{e(g.text)}</p>"] if g.text else [])
    parts.append(f"<table class='cmp'><tr><th>stage</th><th>synthesized</th><th>{REAL}</th></tr>")
    for i, rs in enumerate(g.stages):
        real = ""
        if i == 0:
            cell = _html_clip(g.real) if g.real else "–"
            real = f"<td class='real' rowspan='{len(g.stages)}'><div>{cell}</div></td>"
        parts.append(f"<tr><td>{e(rs.stage)}</td><td>{_html_clip(rs)}</td>{real}</tr>")
    return parts + ["</table>"]


def html_page(title: str, sections: Sequence[Section], groups: Sequence[SampleGroup]) -> str:
    """The self-contained HTML page: sections, then per sentence the real and synthesized
    clips side by side (figures and players)."""
    e = html.escape
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
             f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(title)}</h1>"]
    for sec in sections:
        parts += _html_section(sec)
    if groups:
        parts.append(f"<h2>Samples: the {REAL} and each stage's speech</h2>")
        parts.append(f"<p class='note'>{e(SAMPLES_NOTE)}</p>")
    for g in groups:
        parts += _html_group(g)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
