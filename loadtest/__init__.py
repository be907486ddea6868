"""KarmaFeed's load bench: `python -m loadtest --help` (see docs/load-testing.md)."""
