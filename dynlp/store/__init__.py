"""Model directories on disk: JSON plus one parameter file, written atomically, checksummed and
checked value by value when read.  Knows parameter collections and vocabularies, never models.
"""
