"""Text: how numbers and formulas are written, and the languages (gettext catalogs in locale/)."""
