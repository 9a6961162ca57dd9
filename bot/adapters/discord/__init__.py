"""The Discord platform through discord.py: messages and AutoMod events in, outbox actions out,
and the review desk as slash commands and case buttons."""
