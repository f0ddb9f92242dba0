"""The `voicemock` command: the composition root that may import every layer."""
