"""`python -m tui`: the backprop-tui command (how --serve starts the app for each tab)."""

import sys

from tui.start import main

sys.exit(main())
