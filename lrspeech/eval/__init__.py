"""lrspeech.eval"""
