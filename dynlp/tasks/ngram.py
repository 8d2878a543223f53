"""The count-based n-gram model's task: one pass of counting over the training lines, dev
perplexity, the model directory (its tables as an ARPA file).  Its corpus is read as the
recurrent model's is (tasks.lm.read_lm_corpus), and it samples and scores through the same
calls (tasks.lm.sample_text, the model's `score_batch`)."""
import json
import os
import time

from dynlp.metrics import bits_per_token, perplexity
from dynlp.models.ngram.model import NgramLanguageModel
from dynlp.store.checkpoint import METRICS_FILE, make_output_dir, write_lines_atomically


def train_ngram_model(train, dev, config, out_dir):
    """Train on `train` (token lists), score `dev`, save to `out_dir`; returns (model, metrics)."""
    make_output_dir(out_dir)
    began = time.time()
    model = NgramLanguageModel.train(train, config)
    metrics = {"seconds": round(time.time() - began, 1), "ngrams": model.table_sizes()}
    if dev:
        metrics.update(dev_metrics(model, dev))
    model.save(out_dir, extra={"metrics": metrics})
    write_lines_atomically(os.path.join(out_dir, METRICS_FILE), [json.dumps(metrics)])
    return NgramLanguageModel.load(out_dir), metrics


def dev_metrics(model, dev):
    """Perplexity and bits per token of `dev` (token lists), line by line."""
    scored = model.score_batch(dev)
    nll = -sum(total for total, _ in scored)
    tokens = sum(len(per_token) for _, per_token in scored)
    return {"dev_ppl": perplexity(nll, tokens), "dev_bits_per_token": bits_per_token(nll, tokens),
            "dev_tokens": tokens}
