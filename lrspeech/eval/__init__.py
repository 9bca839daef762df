"""lrspeech.eval: how good are the stage's TTS and ASR?

Usage: python -m lrspeech.bin.make_report --results exp/eval/*.json --out_dir exp/report

- `ir`, `judge`: intelligibility rate of synthesized speech judged by an ASR (ESPnet dir or
  pocketsphinx), with `scoring`/`align` (CER/WER, S/D/I) and `sclite` (result.txt);
- `attention`: WCR, ADR and focus rate of TTS attention (knowledge-distillation filter);
- `mos`, `dnsmos`, `nisqa`, `reference`: MOS proxies with 95% intervals (`stats`);
- `report`, `plots`: the per-stage Markdown/HTML report.

Heavy or optional packages (ESPnet, onnxruntime, pocketsphinx, pesq, ...) are imported by
the modules that need them, never here.
"""
