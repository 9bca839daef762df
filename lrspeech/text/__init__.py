"""lrspeech.text"""
