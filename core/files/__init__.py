"""Files and printed output: scenarios loaded from TOML (the built-ins beside the loader), the
saved session, exports, the streamed trace, the headless run, and safe writes."""
