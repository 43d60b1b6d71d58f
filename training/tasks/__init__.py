"""Training tasks: what each model brings to the shared trainer (`training.loop.trainer.Task`)."""
