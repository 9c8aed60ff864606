"""The panels of the main screen, each drawn from core's snapshot: network, chain rule,
training, loss, lesson (and their shared border titles)."""
