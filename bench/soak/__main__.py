"""`python -m bench.soak [--minutes M] [--users U] [--connections C] [--kill-every S]
[--term-during-uploads]`: see bench/soak/run.py and ADR 0034."""

from bench.soak.run import main

raise SystemExit(main())
