"""The training loop, shared by every model: `trainer` (the loop and its `Task` protocol), `train_config`
(what a run may change), `optimizer` (schedule, parameter groups), `ema`, `stop` (signals and budgets),
`rng` (seeding and resumable RNG state), `distributed` (DDP under torchrun) and `checkpoint` (atomic saves,
resume, loading a run's model). What each model brings lives in `training/tasks/`.
"""
