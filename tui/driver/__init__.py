"""The terminal's output and its ending: only the cells that changed, --ascii's filter, and
every way the app ends (signals, a watchdog). Nothing here imports the panels or dialogs."""
