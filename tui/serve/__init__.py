"""`--serve`: the app in a browser tab, through textual-serve, with our own page and limits.

The server lives in tui.serve.server and the app-side driver in tui.serve.driver; this package
imports neither, so the app process started for each tab does not load the web server.
"""

SERVED_ENV = "BACKPROP_TUI_SERVED"  # set for each tab's app: tabs share a user, and keep no session
