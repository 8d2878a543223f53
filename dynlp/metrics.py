"""Evaluation figures: perplexity and bits per token from summed negative log-likelihoods (nats),
and tagging accuracy."""
import math


def perplexity(nll, tokens):
    """exp(mean negative log-likelihood per token)."""
    return math.exp(nll / tokens) if tokens else math.nan


def bits_per_token(nll, tokens):
    """Mean negative log-likelihood per token in bits (bits per char for a character model)."""
    return nll / tokens / math.log(2) if tokens else math.nan


def accuracy(correct, total):
    return correct / total if total else math.nan
