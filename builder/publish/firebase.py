"""Firebase Hosting: a generated ``firebase.json`` and ``.firebaserc``, then the firebase CLI.

Runs after :func:`~builder.publish.base.check_site`. Firebase compresses responses itself, so the build's
``.br``/``.gz`` copies are ignored by the generated configuration.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from builder import interrupts
from builder.errors import DeployError
from builder.publish.base import check_site
from builder.site import hosting

# Firebase Hosting's per-file limit is 2 GB.
FIREBASE_FILE_LIMIT = 2 * 1000 * 1000 * 1000


@dataclass(frozen=True)
class FirebaseResult:
    config: Path  # the firebase.json written
    project: str | None
    deployed: bool
    command: list[str]  # the firebase CLI command that deploys, run in the site folder (run, or to run)
    reason: str | None = None  # why it was not run (--dry-run)
    url: str | None = None



def publish(site: Path, *, project: str | None = None, dry_run: bool = False,
             firebase_cli: str | None = None) -> FirebaseResult:
    """Write ``firebase.json``/``.firebaserc`` into ``site`` and, unless ``dry_run``, deploy
    with the firebase CLI when it is installed and logged in."""
    data = check_site(site, hosting.FIREBASE, FIREBASE_FILE_LIMIT)
    # Without --project: the build's --firebase-project, not whatever an earlier --project left in .firebaserc.
    project = (hosting.check_project(project, "--project") if project
               else data.options.get("firebase_project") or hosting.firebase_project(site))
    hosting.write_firebase_files(site, project)
    config = site / hosting.FIREBASE_JSON
    cli = firebase_cli or _firebase_cli()
    # As the user types it: the CLI beside browsernet (npm ci's) is not on PATH, so by its path.
    typed = cli if cli is not None and shutil.which("firebase") is None else "firebase"
    command = [typed, "deploy", "--only", "hosting", "--project", project or "YOUR_PROJECT_ID"]
    if dry_run:
        return FirebaseResult(config, project, False, command, reason="--dry-run")
    first = ""
    if not project:
        reason = "no Firebase project given (--project ID, or build with --firebase-project ID)"
    elif cli is None:
        reason, first = "the firebase CLI is not installed", "npm install -g firebase-tools && firebase login && "
    elif broken := _does_not_run(cli, site):
        # Installed afresh, it is on PATH as firebase: not the path that does not run.
        reason, first = f"the firebase CLI {cli} does not run ({broken})", "npm install -g firebase-tools && "
        command = ["firebase", *command[1:]]
    elif not _logged_in(cli, site):
        reason, first = "the firebase CLI is not logged in", f"{shlex.quote(typed)} login && "
    else:
        reason = None
    if reason:
        said = shlex.join(command)
        raise DeployError(f"{site}: not deployed: {reason}; firebase.json is written, so deploy with: "
                          f"cd {shlex.quote(str(site))} && {first}{said}")
    interrupts.raise_if_seen()
    done = subprocess.run([cli, *command[1:], "--non-interactive"], capture_output=True, text=True, cwd=site)
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if "Error" in line]
        raise DeployError(f"firebase deploy failed in {site}: {(lines or ['exit %d' % done.returncode])[-1].strip()}")
    url = re.search(r"Hosting URL: (\S+)", done.stdout)
    return FirebaseResult(config, project, True, command, url=url[1] if url else f"https://{project}.web.app/")


def _does_not_run(cli: str, site: Path) -> str | None:
    """Why ``cli --version`` fails (its first line of output, or the system's reason), or None when it runs: a
    CLI whose interpreter is gone (node uninstalled) is not one that only needs a login."""
    try:
        done = subprocess.run([cli, "--version"], capture_output=True, text=True, cwd=site, timeout=120)
    except subprocess.TimeoutExpired:
        return "'firebase --version' did not answer in 2 minutes"
    except OSError as e:
        return e.strerror or str(e)
    if done.returncode == 0:
        return None
    said = (done.stderr.strip() or done.stdout.strip()).splitlines()
    return said[0] if said else f"exit {done.returncode}"


def _logged_in(cli: str, site: Path) -> bool:
    done = subprocess.run([cli, "login:list", "--json"], capture_output=True, text=True, cwd=site)
    return done.returncode == 0 and '"email"' in done.stdout


def _firebase_cli() -> str | None:
    """The firebase CLI on PATH, else the one ``npm ci`` installs beside browsernet."""
    from builder.site.vendor import PROJECT_ROOT

    local = PROJECT_ROOT / "node_modules" / ".bin" / "firebase"
    return shutil.which("firebase") or (str(local) if local.is_file() else None)
