import sys

from imgstudio.cli import main

sys.exit(main())
