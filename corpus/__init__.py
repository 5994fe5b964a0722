"""Corpora of real traffic made on this machine: our own pool, real miners, benign programs."""
