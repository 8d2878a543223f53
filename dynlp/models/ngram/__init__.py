"""Count-based n-gram language models: counting and Kneser-Ney estimates (`estimate`), the
model that scores and samples (`model`), and its ARPA file (`arpa`)."""
