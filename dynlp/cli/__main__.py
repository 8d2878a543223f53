"""`python -m dynlp.cli ...`: the same as the `dynlp` command."""
import sys

from dynlp.cli.main import main

sys.exit(main())
