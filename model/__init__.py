"""Local models (no user content leaves the machine): the profanity list scorer, the trained abuse and
spam-text heads over a bundled sentence encoder, claim matching, the Detoxify loader and the reply
drafter; trained artifacts live in `artifacts/`."""
