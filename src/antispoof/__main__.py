"""``python -m antispoof`` (and ``torchrun ... -m antispoof train ...``): the command line."""

from antispoof.cli import main

if __name__ == "__main__":
    main()
