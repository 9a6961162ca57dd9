"""The Bluesky platform through the atproto SDK: posts from a repo firehose or the bot's notifications
in, the moderation actions of the bot account out."""
