"""Copybook compiler: COBOL copybook text to an immutable record layout."""
