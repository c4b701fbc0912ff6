"""An LSTM tagger with proj_size: one tag per token; h is projected to proj_size, c is not.

gru-tui trace --model examples/tagger.py:make_model --input 2x20:int64
"""

from torch import nn

VOCAB, EMBED, HIDDEN, PROJ, TAGS = 1200, 40, 64, 16, 9


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, EMBED)
        self.lstm = nn.LSTM(EMBED, HIDDEN, num_layers=2, batch_first=True, bidirectional=True, proj_size=PROJ)
        self.tags = nn.Linear(2 * PROJ, TAGS)  # the output's features are D*proj_size

    def forward(self, tokens):
        output, (h_n, c_n) = self.lstm(self.embedding(tokens))  # h_n (4, batch, PROJ), c_n (4, batch, HIDDEN)
        return self.tags(output)  # (batch, seq, TAGS)


def make_model():
    return Tagger()
