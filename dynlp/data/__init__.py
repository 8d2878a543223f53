"""Reading data: vocabularies, text lines and tokens, CoNLL-U treebanks, and minibatches.

Nothing here knows DyNet: these are plain Python and numpy, so they can be read, tested and
reused on their own.
"""
