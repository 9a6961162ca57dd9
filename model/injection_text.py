"""The injection-text model: a post addressed to the reply assistant that reads like a prompt
injection or a jailbreak, from its words (`modbot train injection`). It stands beside the rules of
moderation/injection.py in front of the reply model: either stops the post, and the draft says
which and why. Trained and measured as bot/lab/injection_training.py describes.
"""

from __future__ import annotations

from model.text_classifier import NgramClassifier

SHIPPED = "injection-text.npz"
FLAG = 0.5
"""the score at which a post is held back from the model (`[reply] injection_threshold`)"""


class InjectionTextModel(NgramClassifier):
    shipped = SHIPPED
    default_name = "injection-text"

    def describe(self, text: str, score: float) -> str:
        """The reason a draft carries: the score and the words that weighed most."""
        words = ", ".join(repr(text[s:e]) for s, e, _ in self.explain(text))
        return f"the injection model scores it {score:.2f}" + (f" (words: {words})" if words else "")
