"""lrspeech.data"""
