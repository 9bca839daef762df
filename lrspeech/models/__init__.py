"""lrspeech.models"""
