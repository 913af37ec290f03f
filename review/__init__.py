"""The reviewers' web tool: per-topic galleries of the bot's suggestions with one-click
accept, reject and undo, and the measured precision that the reviews feed back.

A Flask application on top of the bot's own store and configuration (`python -m review`
locally, Toolforge's webservice in production; toolforge/README.md). Reviewers log in
with the wiki's OAuth 2.0, and every decision is recorded with who made it and when. It
may import `bot` and `classifier`; they never import it (an import-linter contract).
The tool, like the bot, never edits a file page: reviews stay in the store.
"""
