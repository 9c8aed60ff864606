"""The maths and the teaching of backpropagation in plain Python: no UI, nothing from tui.

Layers, each importing only those below it (pyproject.toml's import-linter contracts):
files (loading, saving, export, the headless trace) > teaching (explanations, quiz, the loss
landscape, plot axes) > stepping (the session and its history) > model (the network and its
maths) > text (how numbers are written, languages).
"""
