"""Teaching from a snapshot: the chain rule written out, the quiz, the loss landscape, axes."""
