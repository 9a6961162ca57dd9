"""The console platform: posts as JSON Lines from a file, a folder or stdin, and actions written
to a JSON Lines log (for `modbot scan`, replays and feeds from other systems)."""
