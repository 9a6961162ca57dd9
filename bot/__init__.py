"""modbot's runtime around the filter layer: `runtime` (the service, its pipeline and the composition
root), `adapters` (platform I/O), `storage`, `review` (moderator verdicts), `assistant` (reply drafts),
`web` (the dashboard), `cli`, `config`, `ops` (install, logs, metrics, fact-check import) and `lab`
(training and evaluation, never on the serving path)."""
