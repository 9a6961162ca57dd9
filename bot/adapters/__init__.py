"""Platform adapters: each turns its platform's events into `Post`s for a sink and carries out outbox
actions; base.py is the contract between them and the runtime, and no adapter imports another."""
