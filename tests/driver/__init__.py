"""The terminal driver's own tests: only the changed cells sent, and every way the app ends."""
