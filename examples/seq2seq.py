"""A GRU encoder and a GRU decoder (seq2seq): the encoder's h_n is the decoder's h0.

gru-tui trace --model examples/seq2seq.py:Seq2Seq --input 4x12:int64 --input 4x9:int64
"""

from torch import nn

SOURCE_VOCAB, TARGET_VOCAB, EMBED, HIDDEN, LAYERS = 800, 600, 32, 48, 2


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(SOURCE_VOCAB, EMBED)
        self.gru = nn.GRU(EMBED, HIDDEN, num_layers=LAYERS, batch_first=True)

    def forward(self, source):
        output, h_n = self.gru(self.embedding(source))
        return output, h_n  # h_n: (LAYERS, batch, HIDDEN), batch_first or not


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(TARGET_VOCAB, EMBED)
        self.gru = nn.GRU(EMBED, HIDDEN, num_layers=LAYERS, batch_first=True)
        self.out = nn.Linear(HIDDEN, TARGET_VOCAB)

    def forward(self, target, h0):
        output, h_n = self.gru(self.embedding(target), h0)  # h0 laid out as h_n: (LAYERS, batch, HIDDEN)
        return self.out(output), h_n


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = Decoder()

    def forward(self, source, target):
        _, h_n = self.encoder(source)
        logits, _ = self.decoder(target, h_n)
        return logits  # (batch, target seq, TARGET_VOCAB)
