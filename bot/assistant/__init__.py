"""The reply assistant at run time: which posts get a draft (`triggers`), how a draft is written
and gated (`writer`), and the loop that does it off the event loop (`drafting_loop`).

Questions and moderators' requests are written by the model, grounded on the community's knowledge
folder. Context replies to misinformation and rule reminders use the community's templates unless
configured otherwise: they state facts about a fact-check or a rule, which a template states
exactly and a small model garbles (measured: the bundled 135M model invented statistics when asked
for a context note). Every draft, templated or not, passes the same gates before anyone sees it.
"""
