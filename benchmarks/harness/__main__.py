"""``python -m talkies.benchmarks.harness --child JOB`` measures one bundle (the harness's own child
process); anything else is ``talkies bench``'s arguments."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"] and len(argv) == 2:
        from talkies.benchmarks.harness.child import child_main

        return child_main(argv[1])
    from talkies.cli import main as cli_main

    return cli_main(["bench", *argv])


if __name__ == "__main__":
    raise SystemExit(main())
