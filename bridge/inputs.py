"""Why an input path cannot be read, said before anything opens it (a FIFO would block)."""

from __future__ import annotations

import errno
import os
import stat


def input_problem(path: str | os.PathLike[str]) -> str | None:
    """None when ``path`` is a readable regular file, else what is wrong with it in a few words:
    ``no such file``, ``symlink loop``, ``a directory``, ``not a regular file (a FIFO)``..."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "dangling symlink" if os.path.islink(path) else "no such file"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        return exc.strerror or str(exc)
    if stat.S_ISDIR(st.st_mode):
        return "a directory, not a file"
    if not stat.S_ISREG(st.st_mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(st.st_mode)
            else "a socket"
            if stat.S_ISSOCK(st.st_mode)
            else "a device"
        )
        return f"not a regular file ({kind})"
    if not os.access(path, os.R_OK):
        return "permission denied"
    return None
