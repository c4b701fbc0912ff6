"""A sentence classifier: token ids -> Embedding -> 2-layer bidirectional GRU -> Linear on the last states.

gru-tui trace --model examples/classifier.py:make_model --input 4x35:int64
"""

import torch
from torch import nn

VOCAB, EMBED, HIDDEN, CLASSES = 1000, 50, 64, 5


class SentenceClassifier(nn.Module):
    def __init__(self, vocab=VOCAB, embed=EMBED, hidden=HIDDEN, classes=CLASSES):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.gru = nn.GRU(embed, hidden, num_layers=2, batch_first=True, bidirectional=True)
        # h_n[-2] (last layer, forward) and h_n[-1] (last layer, backward), concatenated: 2 * hidden features
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, tokens):
        embedded = self.embedding(tokens)  # (batch, seq, embed)
        output, h_n = self.gru(embedded)  # output (batch, seq, 2*hidden), h_n (2*2, batch, hidden)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1)  # (batch, 2*hidden)
        return self.fc(last)


def make_model():
    return SentenceClassifier()
