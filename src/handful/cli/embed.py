"""``handful embed``: embeddings of a folder streamed to a .npy file (work in progress)."""

from __future__ import annotations
