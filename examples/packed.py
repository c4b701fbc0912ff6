"""A model that packs its batch by length inside its forward; example_inputs gives the tokens and the lengths.

gru-tui trace --model examples/packed.py:make_model --inputs examples/packed.py:example_inputs
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

VOCAB, EMBED, HIDDEN, CLASSES = 500, 16, 24, 3


class PackedClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED, padding_idx=0)
        self.lstm = nn.LSTM(EMBED, HIDDEN, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * HIDDEN, CLASSES)

    def forward(self, tokens, lengths):
        packed = pack_padded_sequence(self.embedding(tokens), lengths, batch_first=True, enforce_sorted=False)
        output, (h_n, c_n) = self.lstm(packed)
        padded, _ = pad_packed_sequence(output, batch_first=True)  # zeros past each sequence's length
        # the last real step of each sequence, not padded[:, -1]
        last = padded[torch.arange(len(lengths)), lengths - 1]
        return self.fc(last)


def make_model():
    return PackedClassifier()


def example_inputs():
    lengths = torch.tensor([7, 5, 2])
    tokens = torch.randint(1, VOCAB, (3, 7))
    for row, n in enumerate(lengths.tolist()):
        tokens[row, n:] = 0  # padding
    return tokens, lengths
