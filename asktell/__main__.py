"""``python -m asktell`` is the ``asktell`` command."""

from .cli import main

if __name__ == "__main__":
    main()
