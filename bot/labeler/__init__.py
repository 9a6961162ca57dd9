"""modbot as a Bluesky labeler in its own right: the signing key and label encoding (`signing`),
the labels policy emits (`issuer`), the XRPC endpoints that serve them and take reports
(`server`, `frames`), and the account's declaration (`declare`)."""
