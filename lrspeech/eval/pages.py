"""Pages of the run report: Markdown with linked files, and self-contained HTML.

Usage: python -m lrspeech.bin.make_report --results exp/eval/*.json --out_dir exp/report

Each shown sample gets its mel spectrogram (from the wav), its attention map (from the .npy)
and, in the HTML, an audio player. The HTML embeds all of them as base64 data URIs so the
page is one file that can be mailed or archived; the Markdown links PNGs under `img/`.
"""

import base64
import html
import io
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import soundfile as sf

from lrspeech.data.atomic import atomic_write_bytes
from lrspeech.data.audio import load_audio
from lrspeech.eval.attention import select_head
from lrspeech.eval.plots import attention_map, mel_spectrogram

logger = logging.getLogger(__name__)


@dataclass
class Sample:
    """One dev sentence shown in the report."""

    utt: str
    wav: Optional[Path] = None
    att: Optional[Path] = None
    text: str = ""


@dataclass
class RenderedSample:
    """A sample's figures (PNG bytes) and audio (WAV bytes), ready to embed or write."""

    stage: str
    sample: Sample
    figures: List[Tuple[str, bytes]] = field(default_factory=list)
    audio: Optional[bytes] = None


def render_sample(stage: str, sample: Sample) -> RenderedSample:
    """Mel spectrogram and audio from the wav, attention map from the .npy; missing files warn."""
    out = RenderedSample(stage, sample)
    if sample.wav is not None:
        try:
            x, sr = load_audio(str(sample.wav))
        except Exception as err:  # a broken sample must not sink the whole report
            logger.warning("%s: sample '%s' audio skipped (%s)", stage, sample.utt, err)
        else:
            out.figures.append(("mel", mel_spectrogram(x, sr, f"{stage}: {sample.utt}")))
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


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def markdown(
    title: str,
    header: List[str],
    rows: List[List[str]],
    bars: Optional[str],
    samples: List[Tuple[RenderedSample, List[str], Optional[str]]],
) -> str:
    """The Markdown page; images and audio are links (relative to the report dir)."""
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if bars:
        lines += ["", "## Metrics per stage", "", f"![metrics per stage]({bars})"]
    if samples:
        lines += ["", "## Samples"]
    for rs, images, audio in samples:
        lines += ["", f"### {rs.stage}: {rs.sample.utt}"]
        lines += ["", f"> {rs.sample.text}"] if rs.sample.text else []
        for img in images:
            lines += ["", f"![{rs.sample.utt}]({img})"]
        lines += ["", f"[audio]({audio})"] if audio else []
    return "\n".join(lines) + "\n"


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:75em}"
    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.3em .6em;text-align:right}"
    "td:first-child,td:nth-child(2),th{text-align:left}th{background:#eee}img{max-width:100%}"
    ".sample{margin:1em 0;padding:.5em;border-top:1px solid #ddd}"
)


def html_page(
    title: str,
    header: List[str],
    rows: List[List[str]],
    bars: Optional[bytes],
    samples: List[RenderedSample],
) -> str:
    """The self-contained HTML page: table, bar chart, and per-sample figures and players."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        "<html><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        "<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr>",
    ]
    parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows]
    parts.append("</table>")
    if bars:
        parts += [
            "<h2>Metrics per stage</h2>",
            f"<img alt='metrics per stage' src='{_data_uri('image/png', bars)}'>",
        ]
    if samples:
        parts.append("<h2>Samples</h2>")
    for rs in samples:
        parts.append(f"<div class='sample'><h3>{e(rs.stage)}: {e(rs.sample.utt)}</h3>")
        if rs.sample.text:
            parts.append(f"<p>{e(rs.sample.text)}</p>")
        if rs.audio:
            parts.append(f"<audio controls src='{_data_uri('audio/wav', rs.audio)}'></audio><br>")
        for kind, png in rs.figures:
            parts.append(
                f"<img alt='{e(kind)} {e(rs.sample.utt)}' src='{_data_uri('image/png', png)}'>"
            )
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_images(
    out_dir: Path, rendered: List[RenderedSample]
) -> List[Tuple[RenderedSample, List[str], Optional[str]]]:
    """Write each sample's PNGs under img/; return (sample, image links, audio link)."""
    linked = []
    for rs in rendered:
        images = []
        for kind, png in rs.figures:
            name = f"img/{_slug(rs.stage)}_{_slug(rs.sample.utt)}_{kind}.png"
            atomic_write_bytes(out_dir / name, png)
            images.append(name)
        audio = None
        if rs.audio and rs.sample.wav is not None:
            audio = os.path.relpath(Path(rs.sample.wav).resolve(), out_dir.resolve())
        linked.append((rs, images, audio))
    return linked
