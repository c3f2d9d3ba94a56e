"""``python -m bankseg``: the command line of :mod:`bankseg.cli`."""

from bankseg.cli import main

if __name__ == "__main__":
    main()
