"""``python -m asktell`` is the ``asktell`` command."""

from .entry import main

if __name__ == "__main__":
    main()
