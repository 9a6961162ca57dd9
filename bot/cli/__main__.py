"""`python -m bot.cli`: what the installed `modbot` script runs."""

import sys

from bot.cli.main import main

sys.exit(main())
