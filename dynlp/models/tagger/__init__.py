"""The BiLSTM tagger: its config, the word encoder (embedding and character BiLSTM, then a
stacked BiLSTM), one MLP head per column, and the network(s) that join them (`network`)."""
