"""The Textual app over core: the app, its keys and command line at the top; panels, dialogs,
the terminal output driver and --serve in subpackages of their own."""
