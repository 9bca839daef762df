"""lrspeech.pipeline"""
