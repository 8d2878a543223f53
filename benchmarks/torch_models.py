"""PyTorch twins of dynlp's tagger and word LM, for benchmarks/speed.py only.

Same architecture, sizes, data, optimiser, clipping and loss scale as the dynlp models:

    tagger  x_i = [E[w_i] ; charBiLSTM(w_i)] -> BiLSTM x layers -> W2 tanh(W1 h + b1) + b2
            (dropout on x, after every BiLSTM layer and in the MLP; word dropout alpha/(alpha+c);
            label smoothing epsilon over the real tags; `ensemble` K such networks trained on
            the same batches, the loss their sum, tagging by their mean probability)
    LM      h_t = LSTM(E[w_t], h_{t-1});  p(w_{t+1}) = softmax(W h_t + b)

Written the way a PyTorch user would (nn.LSTM with packed sequences, cross_entropy), not
tuned beyond that.  The loss is summed over tokens and divided by the number of sequences,
as dynlp's training loop does.  Vocabularies are dynlp's own (pure Python), so both sides
see exactly the same ids.
"""
import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class TorchTagger(nn.Module):
    def __init__(self, words, chars, tags, config, seed=1):
        super().__init__()
        c = config
        self.words, self.chars, self.tags, self.config = words, chars, tags, config
        self.E = nn.Embedding(len(words), c.emb_dim)
        self.C = nn.Embedding(len(chars), c.char_dim)
        self.char_lstm = nn.LSTM(c.char_dim, c.char_dim, bidirectional=True)
        self.lstm = nn.LSTM(c.emb_dim + 2 * c.char_dim, c.hidden_dim, num_layers=c.layers,
                            bidirectional=True, dropout=c.dropout)
        self.W1 = nn.Linear(2 * c.hidden_dim, c.mlp_dim)
        self.W2 = nn.Linear(c.mlp_dim, len(tags))
        self.drop = nn.Dropout(c.dropout)
        self.rng = np.random.default_rng(seed)

    def tensors(self, sentences):
        """Word ids (T, B), char ids of the batch's distinct forms, and where each word's is."""
        forms = sorted({f for s in sentences for f in s}, key=len)
        position = {f: i for i, f in enumerate(forms)}
        length = max(len(s) for s in sentences)
        key = str.lower if self.config.lowercase else str
        words = np.full((length, len(sentences)), self.words.pad, dtype=np.int64)
        where = np.zeros((length, len(sentences)), dtype=np.int64)
        for b, s in enumerate(sentences):
            ids = self.words.encode([key(f) for f in s])
            if self.training and self.config.word_dropout:
                alpha = self.config.word_dropout
                counts = np.array([self.words.count(key(f)) for f in s], dtype=np.float64)
                drop = self.rng.random(len(s)) < alpha / (alpha + counts)
                ids = [self.words.unk if d else i for i, d in zip(ids, drop)]
            words[:len(s), b] = ids
            where[:len(s), b] = [position[f] for f in s]
        seqs = [[self.chars.bos] + self.chars.encode(f[:15] + f[-15:] if len(f) > 30 else f)
                + [self.chars.eos] for f in forms]
        char_ids = np.full((max(map(len, seqs)), len(seqs)), self.chars.pad, dtype=np.int64)
        for i, s in enumerate(seqs):
            char_ids[:len(s), i] = s
        device = self.E.weight.device  # the lengths stay on the CPU, as packing wants them
        return (torch.from_numpy(words).to(device), torch.from_numpy(where).to(device),
                torch.from_numpy(char_ids).to(device),
                torch.tensor([len(s) for s in seqs]), torch.tensor([len(s) for s in sentences]))

    def forward(self, words, where, char_ids, char_lengths, lengths):
        packed = pack_padded_sequence(self.C(char_ids), char_lengths, enforce_sorted=False)
        _, (h, _) = self.char_lstm(packed)  # h: (2, forms, char_dim), each form's final states
        char_vectors = torch.cat([h[0], h[1]], dim=1)[where]  # (T, B, 2 char_dim)
        x = self.drop(torch.cat([self.E(words), char_vectors], dim=2))
        out, _ = self.lstm(pack_padded_sequence(x, lengths, enforce_sorted=False))
        out, _ = pad_packed_sequence(out)
        return self.W2(self.drop(torch.tanh(self.W1(self.drop(out)))))  # (T, B, tags)

    def loss(self, sentences, tag_ids):
        """Summed over words / sentences; with label smoothing epsilon, dynlp's
        -(1 - epsilon) log p(gold) - epsilon * mean over the real tags of log p(tag)."""
        logits = self(*self.tensors(sentences))
        gold = np.full(logits.shape[:2], -100, dtype=np.int64)
        for b, ids in enumerate(tag_ids):
            gold[:len(ids), b] = ids
        gold = torch.from_numpy(gold).to(logits.device).reshape(-1)
        log_p = torch.log_softmax(logits.reshape(-1, logits.shape[-1]), dim=1)
        nll = nn.functional.nll_loss(log_p, gold, reduction="none")
        epsilon = self.config.label_smoothing
        if epsilon:
            nll = (1 - epsilon) * nll - epsilon * log_p[:, 4:].mean(dim=1)
        return (nll * (gold != -100)).sum() / len(sentences)

    @torch.no_grad()
    def probabilities(self, sentences):
        logits = self(*self.tensors(sentences))
        logits[:, :, :4] = -float("inf")  # never a special token, as dynlp
        return torch.softmax(logits, dim=2)  # (T, B, tags)


class TorchEnsemble(nn.Module):
    """`config.ensemble` TorchTaggers, as dynlp's BiLSTMTagger: each its own weights and
    dropout, trained on the same batches (the loss is their sum), tagging by the mean of their
    probabilities.  With one member it is a TorchTagger."""

    def __init__(self, words, chars, tags, config):
        super().__init__()
        self.words, self.chars, self.tags, self.config = words, chars, tags, config
        self.members = nn.ModuleList(TorchTagger(words, chars, tags, config, seed=1 + k)
                                     for k in range(config.ensemble))

    def loss(self, sentences, tag_ids):
        return sum(member.loss(sentences, tag_ids) for member in self.members)

    @torch.no_grad()
    def predict_batch(self, sentences):
        mean = sum(member.probabilities(sentences) for member in self.members)  # same argmax
        best = mean.argmax(dim=2).cpu().numpy()
        return [self.tags.decode(best[:len(s), b]) for b, s in enumerate(sentences)]

    def architecture(self):
        """What the model is, read off its modules (tests compare it with dynlp's side)."""
        first = self.members[0]
        return {"networks": len(self.members), "emb_dim": first.E.embedding_dim,
                "char_dim": first.C.embedding_dim, "hidden_dim": first.lstm.hidden_size,
                "layers": first.lstm.num_layers, "mlp_dim": first.W1.out_features,
                "tags": first.W2.out_features, "dropout": first.drop.p,
                "word_dropout": self.config.word_dropout,
                "label_smoothing": self.config.label_smoothing,
                "lowercase": self.config.lowercase}


class TorchLM(nn.Module):
    def __init__(self, vocab_size, emb_dim, hidden_dim, layers):
        super().__init__()
        self.E = nn.Embedding(vocab_size, emb_dim)
        self.rnn = nn.LSTM(emb_dim, hidden_dim, num_layers=layers)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, inputs, state=None):
        output, state = self.rnn(self.E(inputs), state)
        return self.out(output), state

    def nll(self, inputs, targets, state):
        """Summed -log p over a (T, B) segment, and the final state (detached: truncated BPTT)."""
        logits, state = self(inputs, state)
        total = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                            targets.reshape(-1), reduction="sum")
        return total, tuple(s.detach() for s in state)


class TorchClassLM(nn.Module):
    """dynlp's LM with tied weights and a class-factored softmax (dynlp/models/softmax.py), written
    the same way: p(w | h) = p(class | h) p(w | class, h), one product per class present."""

    def __init__(self, vocab_size, emb_dim, hidden_dim, layers, class_of, dropout):
        super().__init__()
        self.E = nn.Embedding(vocab_size, emb_dim)  # also the output rows (tied)
        self.rnn = nn.LSTM(emb_dim, hidden_dim, num_layers=layers, dropout=dropout)
        self.drop = nn.Dropout(dropout)
        self.b = nn.Parameter(torch.zeros(vocab_size))
        self.U = nn.Linear(hidden_dim, int(class_of.max()) + 1)  # p(class | h)
        self.register_buffer("class_of", torch.as_tensor(class_of))
        self.members = [torch.as_tensor(np.flatnonzero(class_of == c))
                        for c in range(int(class_of.max()) + 1)]
        index = np.empty(len(class_of), dtype=np.int64)
        for words in self.members:
            index[words.numpy()] = np.arange(len(words))
        self.register_buffer("index_in_class", torch.as_tensor(index))
        # The words in class order, and each class's size: one gather of E's rows and one
        # split give every class its rows.  (A gather per class costs PyTorch a zeroed V x H
        # gradient per class in backward: 284 words/s on WikiText-2, a tenth of this.)
        self.register_buffer("by_class", torch.cat(self.members))
        self.sizes = [len(words) for words in self.members]

    def nll(self, inputs, targets, state):
        output, state = self.rnn(self.drop(self.E(inputs)), state)
        h = self.drop(output).reshape(-1, output.shape[-1])
        targets = targets.reshape(-1)
        classes = self.class_of[targets]
        total = nn.functional.cross_entropy(self.U(h), classes, reduction="sum")
        rows = torch.split(self.E.weight[self.by_class], self.sizes)
        biases = torch.split(self.b[self.by_class], self.sizes)
        for c in torch.unique(classes).tolist():
            positions = (classes == c).nonzero().squeeze(1)
            logits = h[positions] @ rows[c].t() + biases[c]
            total = total + nn.functional.cross_entropy(
                logits, self.index_in_class[targets[positions]], reduction="sum")
        return total, tuple(s.detach() for s in state)
