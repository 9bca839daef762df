"""lrspeech.bin"""
