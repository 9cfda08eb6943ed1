import sys

from talkies.cli import main

sys.exit(main())
