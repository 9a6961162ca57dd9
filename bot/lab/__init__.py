"""The offline lab: training recipes with cached stages (`training`, `spam_training`,
`claims_training`), the corpora they build, and `evaluation` on each public set's own test split.
Nothing here runs in the service."""
