"""Text-specific glue: contrastive fine-tuning (SetFit) and word2vec pretraining."""
