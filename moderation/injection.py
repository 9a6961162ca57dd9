"""Prompt-injection detection for text that will be shown to the reply model.

User text reaches the model only fenced as data, but a fence is a convention a small model may not
keep, so text that tries to steer the assistant is caught before it gets that far. Each rule is a
family of phrasings with a sentence a moderator can read; the score is the strongest rule that
matched. Plain questions and requests ("recommend a book") are not injections here: asking the bot
something is what a mention is for. What is caught is text that addresses the assistant's own
instructions, identity, hidden prompt or the shape of its reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from moderation.normalise import normalise

_REPLY = (
    r"(?:response|reply|replies|answer|answers|output|message|messages|code|implementation|solution|"
    r"program|codebase|algorithm|script|function|text|summary|project|application)"
)
_VERB = (
    r"(?:add|include|integrate|insert|append|prepend|embed|incorporate|inject|modify|alter|change|encode|"
    r"encrypt|translate|render|rewrite|write|use|reverse|shift|format|convert|transform|end|start|begin|"
    r"mention|promote|highlight|enhance|augment|ensure|make|put|weave|blend|feature|place|attach|respond|"
    r"reply|answer|present|express|deliver|provide|substitute|replace|upgrade|employ|utili[sz]e|validate|"
    r"develop|hone|elevate|fortify|enrich|accompany|construct|build|apply|invert|display|show|suggest)"
)


@dataclass(frozen=True, slots=True)
class InjectionRule:
    name: str
    description: str
    score: float
    pattern: re.Pattern[str]


RULES: tuple[InjectionRule, ...] = (
    InjectionRule(
        "override",
        "tells the assistant to ignore or replace its instructions",
        0.95,
        re.compile(
            r"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon)\b[^.?!\n]{0,40}?"
            r"\b(?:previous|prior|above|earlier|preceding|original|initial|all|your|system|any|these|those)\b"
            r"[^.?!\n]{0,20}?\b(?:instructions?|prompts?|rules|directions|guidelines|directives|commands|"
            r"programming|guardrails|restrictions|policies)\b"
        ),
    ),
    InjectionRule(
        "new_instructions",
        "announces new instructions or a new role for the assistant",
        0.9,
        re.compile(
            r"\b(?:new|updated|real|actual|secret)\s+(?:instructions?|system prompt|directives?)\s*[:\-]"
            r"|\byou are now\b|\bfrom now on,? (?:you|your|respond|reply|answer|act)\b"
            r"|\b(?:developer|god|jailbreak|unrestricted|dan) mode\b|\bdo anything now\b"
            r"|\bact as (?:an? |the )?(?:unfiltered|unrestricted|uncensored|evil|jailbroken)\b"
            r"|\byou (?:have|are under) no (?:rules|restrictions|guidelines|filters)\b"
        ),
    ),
    InjectionRule(
        "exfiltrate",
        "asks for the assistant's hidden prompt or instructions",
        0.9,
        re.compile(
            r"\b(?:reveal|show|print|repeat|output|tell me|leak|display|share|dump|recite)\b[^.?!\n]{0,30}?"
            r"\b(?:your|the)\s+(?:system prompt|(?:initial|hidden|original|secret|full|exact) "
            r"(?:prompt|instructions)|instructions you were given|prompt above|text above)"
        ),
    ),
    InjectionRule(
        "reply_shape",
        "tells the assistant what its reply must contain or how to encode it",
        0.8,
        re.compile(
            r"(?:^|[.!?:\n]\s*|\band\s+|\bto\s+|\bplease\s+"
            r"|\b(?:you\s+(?:can|could|should|must)|(?:can|could|would|will) you)\s+)"
            rf"(?:also\s+|now\s+|always\s+)?{_VERB}\b[^?!\n]{{0,120}}?\byour\s+(?:\w+\s+)?{_REPLY}\b"
            rf"|\b(?:in|into|within|to) your\s+(?:\w+\s+)?{_REPLY}\b,?\s*(?:please\s+)?(?:{_VERB}|suggest|tell|"
            r"ask|recommend|state|claim|say)\b"
            r"|\b(?:reply|respond|answer|write back)\s+(?:only\s+)?(?:in|using|with)\s+(?:reverse|base\s?\d+|"
            r"emojis?|a cipher|cipher|code|all caps|uppercase|morse|binary|hex|[a-z]+ encoding|german|french|"
            r"spanish|italian|portuguese|chinese|japanese|russian|arabic|hindi|dutch|korean)\b"
        ),
    ),
    InjectionRule(
        "payload",
        "asks the assistant to carry supplied code or text into its reply",
        0.85,
        re.compile(
            r"\b(?:following|below|subsequent)\s+(?:\w+\s+)?(?:code|snippet|block|excerpt|section)\b"
            r"[^?!\n]{0,80}?\byour\s+(?:\w+\s+)?" + _REPLY + r"\b"
            r"|\byour\s+(?:\w+\s+)?" + _REPLY + r"\b[^?!\n]{0,80}?\b(?:following|below|subsequent)\s+"
            r"(?:\w+\s+)?(?:code|snippet|block|excerpt|section)\b"
            r"|\b" + _VERB + r"\b[^?!\n]{0,40}\b(?:following|below|subsequent)\s+(?:\w+\s+)?(?:code|snippet|"
            r"block|excerpt|section)\b"
        ),
    ),
    InjectionRule(
        "markup",
        "carries chat-template or role markers meant for the model",
        0.95,
        re.compile(
            r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id)\|>|\[/?inst\]"
            r"|<</?sys>>|^\s*#{2,}\s*(?:system|instruction|assistant)\b|^\s*(?:system|assistant)\s*:",
            re.MULTILINE,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class InjectionMatch:
    rule: InjectionRule
    excerpt: str

    def describe(self) -> str:
        return f'{self.rule.description} ("{self.excerpt}")'


def detect(text: str) -> list[InjectionMatch]:
    """Every rule that matches the text (normalised first, so `ｉｇｎｏｒｅ` and `i-g-n-o-r-e` count)."""
    folded = normalise(text).text.lower()
    matches = []
    for rule in RULES:
        found = rule.pattern.search(folded)
        if found:
            matches.append(InjectionMatch(rule, found.group(0).strip()[:120]))
    return matches


def injection_score(matches: list[InjectionMatch]) -> float:
    return max((m.rule.score for m in matches), default=0.0)
