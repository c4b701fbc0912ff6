"""The sentence classifier with the classic bug: a Linear of hidden_size after a bidirectional GRU.

    gru-tui trace --model examples/classifier_bug.py:make_model --input 4x35:int64

The GRU is bidirectional, so the last forward and backward states concatenated have
2 * hidden features; nn.Linear(hidden, classes) expects hidden.
"""

import torch
from torch import nn

VOCAB, EMBED, HIDDEN, CLASSES = 1000, 50, 64, 5


class SentenceClassifier(nn.Module):
    def __init__(self, vocab=VOCAB, embed=EMBED, hidden=HIDDEN, classes=CLASSES):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.gru = nn.GRU(embed, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(hidden, classes)  # the bug: 2 * hidden features arrive

    def forward(self, tokens):
        embedded = self.embedding(tokens)
        output, h_n = self.gru(embedded)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)
        return self.fc(last)


def make_model():
    return SentenceClassifier()
