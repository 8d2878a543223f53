"""The models: recurrent language models (lm), count-based n-gram models (ngram/), the BiLSTM
tagger (tagger/), the layers they share, and `registry`, which says which class a saved
model directory holds.  Models build graphs and compute; they never read files of data, never
renew the graph (the training loop does) and never import training, runtime, serve or cli.
"""
