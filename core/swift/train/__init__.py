"""Training: the sft/pt pipeline, trainer, callbacks and output writing."""
