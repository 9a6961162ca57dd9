"""Operating modbot: installing the systemd unit, logging, Prometheus metrics, and importing the
fact-checks that claim matching reads."""
