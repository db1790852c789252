"""Exports of run, study and search folders into the formats other tools read: TensorBoard event files
(`tensorboard_events`) and an Optuna study (`optuna_study`). Each needs its optional extra and says so in one
sentence without it; each is deterministic: the same folders give the same output.
"""
