"""`python -m tui`: the backprop-tui command (how --serve starts the app for each tab)."""

import sys

from tui.cli import main

sys.exit(main())
