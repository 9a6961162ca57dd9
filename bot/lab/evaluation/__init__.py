"""Evaluation on public benchmarks: the datasets under ../shared/datasets (`datasets`, `corpora`),
the figures each one measures (`runner`, `abuse`, `retrieval`), and replay of stored decisions
under a candidate policy (`live`)."""
