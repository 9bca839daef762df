"""lrspeech: bootstrap TTS and ASR for low-resource languages on ESPnet2.

Usage: python -c "import lrspeech; print(lrspeech.__version__)"
"""

__version__ = "0.1.0"
