"""The review dashboard: pages and a JSON API over the review desk, behind logins, roles and CSRF
tokens (`app` assembles it from `routes`)."""
