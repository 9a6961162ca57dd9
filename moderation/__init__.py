"""The filter layer, pure and without I/O: text normalisation, scoring contracts, spam rules over
counters, the policy that turns scores into outcomes, the Decider that runs it all for a batch,
and the action planner. It imports neither `bot` nor `model`."""
