"""The Perspective-compatible scoring API: Perspective's wire format (comments:analyze,
comments:suggestscore, the discovery document) over modbot's own models, with keys and quotas."""
