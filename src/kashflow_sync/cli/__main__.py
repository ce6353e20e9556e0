"""``python -m kashflow_sync.cli``: the same as the ``kashflow-sync`` command."""

from . import main

if __name__ == "__main__":
    main()
