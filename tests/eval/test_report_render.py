"""The report opens from disk in a real browser: headless Chromium renders report.html to a
screenshot, with the embedded plots and the real-recording reference visible.

Skipped where Chromium is absent (Debian: apt-get install chromium).
"""

import json
import shutil
import subprocess

import numpy as np
import pytest

from lrspeech.eval.plots import PACKED
from lrspeech.eval.report_page import ReportInputs, write_report

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
REF_ROW = (0xFB, 0xEA, 0xEA)  # the real recordings' row (pages.STYLE)


def _rgb(hex_color: str) -> tuple:
    return tuple(int(hex_color[i:i + 2], 16) for i in (1, 3, 5))


def _has(pixels: np.ndarray, rgb: tuple, tol: int = 6, least: int = 200) -> bool:
    close = np.all(np.abs(pixels[..., :3].astype(int) - np.array(rgb)) <= tol, axis=-1)
    return int(close.sum()) >= least


@pytest.mark.skipif(BROWSER is None, reason="chromium is not installed")
def test_report_renders_in_headless_chromium(tmp_path, sw_rows):
    from PIL import Image

    real = {"judge": "j", "ir": 0.8, "judge_cer": 0.1}
    paths = []
    for label, ir in (("finetune", 0.05), ("kd", 0.1)):
        paths.append(tmp_path / f"{label}.json")
        paths[-1].write_text(json.dumps({
            "stage": label, "ir": ir, "judge_cer": 0.6, "asr_cer": 0.2, "real": real,
            "samples": [{"utt": "u1", "text": "habari", "wav": sw_rows[0]["audio"],
                         "real_wav": sw_rows[1]["audio"]}]}))
    out = tmp_path / "report"
    _, page = write_report(paths, out, "render check",
                           extra=ReportInputs(packed={"asr": "kd", "tts": "kd"}))
    moved = tmp_path / "moved"  # one folder: it still opens after a move
    shutil.move(str(out), moved)
    shot = tmp_path / "shot.png"
    subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1200,2600",
                    (moved / "report.html").as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (2600, 1200, 3)
    assert _has(pixels, REF_ROW)  # the reference row is drawn
    assert _has(pixels, _rgb(PACKED))  # the plot (an embedded image) shows the packed bar
    mel_rows = (pixels.mean(axis=-1) < 60).sum()  # dark mel spectrogram pixels of the samples
    assert mel_rows > 20000
