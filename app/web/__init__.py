"""Blueprints. Handlers stay thin: verify, store, enqueue, answer."""
