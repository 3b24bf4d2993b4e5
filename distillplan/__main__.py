import os
import signal


def _interrupted(signum: int, frame: object) -> None:  # ^C before the entry point runs: see main.py
    os.write(2, b"distillplan: interrupted\n")
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted)

from distillplan.main import main  # noqa: E402  (after the handler: ^C while importing is one line)

raise SystemExit(main())
