"""lrspeech.text: the text frontend (cleaners, numbers, tokenizers, token lists, token map).

Usage: python -m lrspeech.bin.tokenize_text --lang_config conf/lang/sw.yaml --in data/x/text --out t

Modules: `lang` (conf/lang/*.yaml), `cleaners` + `numbers*` (what models see and what
scoring compares), `g2p` (espeak-ng phonemes via phonemizer, cached per word), `graphemes`
(character tokens that keep tone marks), `bpe` (sentencepiece), `tokenizer` + `textfile`
(ESPnet `utt_id tok ...` files), `token_list` (ESPnet token lists), `ipa` + `token_map`
(cross-lingual token map). Nothing is imported here, so `import lrspeech.text.cleaners`
does not load phonemizer or sentencepiece.
"""
