"""Evaluation of trained models: metrics, reports and listening examples."""
