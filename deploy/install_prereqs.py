#!/usr/bin/env python3
"""Install what the build needs beside Python when missing: Maven, a JDK, make (and Chromium)."""

# One installer for `make up`, `make test` and `.ci/run`: with apt-get when it may (as root, or
# with passwordless `sudo -n`), otherwise it stops with the exact command to run. Standard
# library only, and no newer syntax than the interpreter allows: it runs before `.venv` exists.

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# The command each need is known by, and the Debian package that provides it.
REQUIRED = (("mvn", "maven"), ("java", "default-jdk-headless"), ("make", "make"))
# The web UI's tests drive Debian's Chromium; without it they skip with that reason, so a
# failed install of it never fails the build.
BROWSER = ("chromium", "chromium")
CHROMIUM = Path("/usr/bin/chromium")
# Through `env`: sudo does not pass the caller's environment on.
APT_ENV = ("env", "DEBIAN_FRONTEND=noninteractive")


@dataclass(frozen=True)
class Machine:
    """The facts the decision rests on: commands present, and the right to install."""

    present: frozenset[str]
    root: bool
    sudo: bool
    apt: bool


@dataclass(frozen=True)
class Step:
    """One command to run; a fatal step's failure stops the installer."""

    argv: tuple[str, ...]
    fatal: bool


@dataclass(frozen=True)
class Decision:
    """What to run, what to tell the user, and the exit status when all steps succeed."""

    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()
    status: int = 0


def missing_packages(machine: Machine, browser: bool) -> tuple[list[str], list[str]]:
    """The required and the optional packages whose command is not on this machine."""
    required = [package for command, package in REQUIRED if command not in machine.present]
    optional = []
    if browser and BROWSER[0] not in machine.present:
        optional.append(BROWSER[1])
    return required, optional


def _install(prefix: tuple[str, ...], packages: list[str], fatal: bool) -> tuple[Step, ...]:
    return (
        Step((*prefix, "apt-get", "update", "-qq"), fatal),
        Step((*prefix, *APT_ENV, "apt-get", "install", "-y", "-qq", *packages), fatal),
    )


def manual_command(packages: Sequence[str]) -> str:
    """The command a user with sudo rights runs by hand."""
    return f"sudo apt-get update && sudo apt-get install -y {' '.join(packages)}"


def decide(machine: Machine, browser: bool) -> Decision:
    """The installer's whole judgement: pure, so every case is tested without installing."""
    required, optional = missing_packages(machine, browser)
    wanted = required + optional
    if not wanted:
        return Decision()
    if not machine.apt:
        needs = ", ".join(wanted)
        return Decision(
            notes=(f"missing: {needs}; install them with this system's package manager",),
            status=1 if required else 0,
        )
    if not (machine.root or machine.sudo):
        return Decision(
            notes=(f"missing: {' '.join(wanted)}; run:", f"  {manual_command(wanted)}"),
            status=1 if required else 0,
        )
    prefix = () if machine.root else ("sudo", "-n")
    steps: tuple[Step, ...] = ()
    if required:
        steps += _install(prefix, required, fatal=True)
    if optional:
        steps += _install(prefix, optional, fatal=False)
    return Decision(steps=steps, notes=(f"installing {' '.join(wanted)}",))


def _sudo_works() -> bool:
    try:
        probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def probe(browser: bool) -> Machine:
    """This machine's facts; sudo is asked only when something is missing and we are not root."""
    present = {command for command, _ in REQUIRED if shutil.which(command)}
    if os.access(CHROMIUM, os.X_OK) or shutil.which(BROWSER[0]):
        present.add(BROWSER[0])
    root = os.geteuid() == 0
    machine = Machine(frozenset(present), root, sudo=False, apt=bool(shutil.which("apt-get")))
    required, optional = missing_packages(machine, browser)
    if (required or optional) and not root:
        machine = Machine(machine.present, root, sudo=_sudo_works(), apt=machine.apt)
    return machine


def _run(step: Step) -> bool:
    return subprocess.run(step.argv, check=False).returncode == 0


def main(
    argv: Sequence[str] | None = None,
    machine: Machine | None = None,
    run: Callable[[Step], bool] = _run,
) -> int:
    """Decide, say it, and (unless --dry-run) run the steps; the exit status for make."""
    parser = argparse.ArgumentParser(description="Install what the build needs beside Python.")
    parser.add_argument("--browser", action="store_true", help="Chromium too, for browser tests")
    parser.add_argument("--dry-run", action="store_true", help="print the steps, run none")
    args = parser.parse_args(argv)
    decision = decide(machine or probe(args.browser), args.browser)
    for note in decision.notes:
        print(f"install-prereqs: {note}", file=sys.stderr)
    for step in decision.steps:
        if args.dry_run:
            print(" ".join(step.argv))
        elif not run(step):
            if step.fatal:
                print(f"install-prereqs: failed: {' '.join(step.argv)}", file=sys.stderr)
                return 1
            print("install-prereqs: chromium not installed; browser tests skip", file=sys.stderr)
            break
    return decision.status


if __name__ == "__main__":
    sys.exit(main())
