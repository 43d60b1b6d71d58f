"""The synthetic jazz corpus: harmony, timbres, drums, arrangement, degradations, corpus writer."""

from training.data.synth.corpus import compose, perform, render_piece, write_corpus

__all__ = ["compose", "perform", "render_piece", "write_corpus"]
