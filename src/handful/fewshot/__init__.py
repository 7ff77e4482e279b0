"""Few-shot learning: episodic N-way K-shot evaluation, prototypical networks trained on CPU
(``conv4.py`` encoder, ``protonet.py`` loop, ``gaussian.py`` variant, ``training.py`` to a
model directory), test-time fine-tuning and Lake's Omniglot one-shot runs.

Modules are imported directly (``from handful.fewshot.episodes import EpisodeSampler``);
nothing is imported here, because the backbone registry imports ``conv4`` early.
"""
