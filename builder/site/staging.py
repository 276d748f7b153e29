"""The output directory: refuse to clobber foreign folders, build aside, swap in atomically.

A build writes into a fresh temporary directory next to the target, and only a
complete, self-checked build is renamed into place, so a failed build leaves the
previous site exactly as it was.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

from builder import interrupts, report
from builder.errors import OutputDirError, named

log = logging.getLogger(__name__)


Foreign = Callable[[Path], "list[str] | None"]


def foreign_to_build(folder: Path) -> list[str] | None:
    """The files in ``folder`` that the browsernet build there did not write (a ``.git/`` folder, notes),
    as paths relative to it; None when ``folder`` is no build. The hosts' files that ``deploy`` and
    ``serve`` add (``firebase.json``, ``.nojekyll``, ...) and the pre-compressed copies count as the build's."""
    data = report.read(folder)
    if data is None:
        return None
    from builder.site import hosting, precompress

    built = {*data.get("files", {}), *hosting.HOST_FILES, report.REPORT_FILE}
    return [path for path in (p.relative_to(folder).as_posix() for p in precompress.site_files(folder))
            if path not in built]


def check_target(out: Path, force: bool, foreign: Foreign = foreign_to_build,
                 kind: str = "browsernet build", inputs: Iterable[Path] = (), option: str = "--out") -> None:
    """Raise :class:`OutputDirError` unless ``out`` is absent, empty, a previous output of this kind that
    holds only what that run wrote (``foreign``: the other files in it, or None when it is no such output;
    ``kind`` names it in the errors), or ``force`` is set: replacing the folder deletes everything in it.
    Whatever ``force`` says, ``out`` may never hold the current directory, the home folder, or one of the
    command's ``inputs`` (the model, labels, base or photos it reads), nor lie inside an input folder (the
    calibration or a trained model's photos): replacing it would delete them.
    ``option`` names the command's option for ``out`` in the errors."""
    resolved = out.resolve()
    for precious in (Path.cwd().resolve(), Path.home().resolve(), Path(resolved.anchor)):
        if resolved == precious or resolved in precious.parents:
            raise OutputDirError(f"{out}: refusing to replace a directory that contains {precious}; "
                                 f"choose a dedicated {option} folder")
    for source in inputs:
        where = Path(source).resolve()
        if where == resolved or resolved in where.parents:
            raise OutputDirError(f"{out}: refusing to replace a directory that holds the input {source}; "
                                 f"choose another {option} (or move the input out of it)")
        if where.is_dir() and where in resolved.parents:  # a class folder of the photos, say
            holds = out.is_dir() and any(out.iterdir())
            raise OutputDirError(f"{out}: inside the input folder {source}, whose files the command reads: "
                                 + ("replacing it would delete them, and " if holds else "")
                                 + f"its own files would be read as photos; choose an {option} outside it")
    if not out.exists():
        check_writable(out.parent, option)
        return
    if not out.is_dir():
        raise OutputDirError(f"{out}: exists and is not a directory")
    check_writable(out.parent, option)
    if force or not any(out.iterdir()):
        return
    extra = foreign(out)
    if extra is None:
        raise OutputDirError(f"{out}: exists and is not a {kind}; "
                             f"choose another {option} or pass --force to replace it")
    if extra:
        raise OutputDirError(f"{out}: holds {named(extra)}, which the previous {kind} did not "
                             f"write; replacing the folder would delete them, so move them out, or pass --force")


def check_writable(parent: Path, option: str = "--out") -> None:
    """Raise :class:`OutputDirError` (naming ``option``) unless ``parent``, or its nearest existing ancestor,
    is a folder that can be written: an output is staged beside ``out`` and renamed into place, a cache is made
    inside its folder, and either is better known before the work than after it."""
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputDirError(f"{parent}: is a file, so no folder can be made in it; choose a {option} elsewhere")
    _require_writable(parent, option)


def _require_writable(folder: Path, option: str) -> None:
    """Raise :class:`OutputDirError` unless a folder can be made in the existing ``folder``: tried for real
    (and removed), since permission bits alone do not tell a read-only disk, /proc or a full quota."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".browsernet-probe-", dir=folder))
    except OSError as e:
        why = {errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied", errno.ENOSPC: "no space left on the device",
               errno.ENOENT: "the system makes no folders there"}.get(
            e.errno, e.strerror or str(e))
        raise OutputDirError(f"{folder}: cannot write there ({why}); choose a {option} elsewhere") from e


# In the names of the folders staging makes beside an output, so that only those are ever swept.
_TAG = "browsernet"


@contextmanager
def staging(out: Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``out``; it is removed unless :func:`swap` consumed it."""
    out = out.resolve()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-{os.getpid()}-{_TAG}-",
                                        dir=out.parent))
    except OSError as e:  # a folder the system does not let anyone write (/proc), a full or read-only disk
        raise OutputDirError(f"{out.parent}: cannot make the output there ({e.strerror or e}); "
                             "choose an --out elsewhere") from e
    try:
        yield tmp
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_abandoned(out: Path) -> None:
    """Remove the staging folders beside ``out`` (and, while ``out`` is there, previous outputs on their way out)
    whose build was killed outright (SIGKILL, a power cut) or stopped while removing them, so that it could not
    clean up: those named after a process that no longer runs."""
    # A previous output on its way out only beside a new one: without one (killed between the renames) it is the
    # only copy of the site, and stays.
    old = [*out.parent.glob(f".{out.name}.old-*-*")] if out.exists() else []
    for folder in [*out.parent.glob(f".{out.name}.building-*-*"), *old]:
        # Only the names this module makes (the process number, its tag, tempfile's 8 random characters): a
        # folder of the user's that looks alike (.site.old-2024-original) is theirs.
        made = re.fullmatch(rf"(?:building|old)-(\d+)-{_TAG}-[a-z0-9_]{{8}}", folder.name[len(f".{out.name}."):])
        if made is None or not folder.is_dir():
            continue
        pid = made.group(1)
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            log.info("removing %s, left by a build that was killed", folder)
            shutil.rmtree(folder, ignore_errors=True)
        except (PermissionError, OverflowError, ValueError):
            continue  # someone else's process, or no process number: leave it


def swap(staged: Path, out: Path, force: bool, foreign: Foreign = foreign_to_build,
         kind: str = "browsernet build", inputs: Iterable[Path] = ()) -> None:
    """Replace ``out`` with ``staged`` (two renames on the same filesystem), after :func:`check_target`; not after a
    stop signal (Ctrl-C), whatever swallowed its ``KeyboardInterrupt`` (:mod:`builder.interrupts`)."""
    interrupts.raise_if_seen()
    check_target(out, force, foreign, kind, inputs)  # again: the folder may have changed while we built
    out = out.resolve()
    os.chmod(staged, 0o755)  # mkdtemp makes 0700; a site must be readable by a web server
    old = None
    with interrupts.held():  # both renames or neither: never no output at all
        if out.exists():
            try:
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-{_TAG}-",
                                            dir=out.parent))
                old.rmdir()
                os.rename(out, old)
            except OSError as e:  # a folder the system will not let this user move (another user's, immutable)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
                raise OutputDirError(f"{out}: cannot move the previous output aside to replace it "
                                     f"({e.strerror or e}); it is as it was: choose an --out elsewhere") from e
        try:
            os.rename(staged, out)
        except OSError as e:
            if old is not None:
                try:
                    os.rename(old, out)
                except OSError as back:
                    raise OutputDirError(f"{out}: could not move the new build into place ({e.strerror or e}), nor "
                                         f"the previous one back ({back.strerror or back}): it is {old}") from e
            raise OutputDirError(f"{out}: could not move the new build into place: {e}") from e
    if old is not None:
        try:
            shutil.rmtree(old, ignore_errors=True)  # a stop signal may cut this short: the next build sweeps it
        except KeyboardInterrupt:
            log.warning("stopped while removing the previous output %s; the next build removes the rest", old)
            interrupts.note_late()
    log.info("replaced %s", out)
