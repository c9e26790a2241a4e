"""The installer's decision (deploy/install_prereqs.py): root, sudo or neither; none installs."""

from __future__ import annotations

import re

import pytest

from deploy.install_prereqs import Machine, Step, decide, main, manual_command
from tests.factories import REPO

EVERYTHING = frozenset({"mvn", "java", "make", "chromium"})
BARE = frozenset({"make"})


def machine(present: frozenset[str], *, root: bool = False, sudo: bool = False) -> Machine:
    return Machine(present=present, root=root, sudo=sudo, apt=True)


def commands(present: frozenset[str], *, root: bool = False, sudo: bool = False) -> list[str]:
    decision = decide(machine(present, root=root, sudo=sudo), browser=True)
    return [" ".join(step.argv) for step in decision.steps]


def test_nothing_missing_runs_nothing_and_says_nothing() -> None:
    decision = decide(machine(EVERYTHING), browser=True)
    assert (decision.steps, decision.notes, decision.status) == ((), (), 0)


def test_as_root_it_installs_what_is_missing_with_apt_get() -> None:
    assert commands(BARE, root=True) == [
        "apt-get update -qq",
        "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven default-jdk-headless",
        "apt-get update -qq",
        "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
    ]


def test_with_passwordless_sudo_it_installs_through_sudo() -> None:
    assert commands(BARE - {"make"} | {"java"}, sudo=True) == [
        "sudo -n apt-get update -qq",
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven make",
        "sudo -n apt-get update -qq",
        "sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
    ]


def test_chromium_is_optional_its_steps_are_not_fatal() -> None:
    decision = decide(machine(EVERYTHING - {"chromium"}, root=True), browser=True)
    assert [step.fatal for step in decision.steps] == [False, False]
    assert decision.status == 0
    assert decide(machine(EVERYTHING - {"chromium"}, root=True), browser=False).steps == ()


def test_without_rights_it_stops_with_the_exact_command() -> None:
    decision = decide(machine(BARE), browser=False)
    assert decision.steps == ()
    assert decision.status == 1
    assert decision.notes[-1].strip() == (
        "sudo apt-get update && sudo apt-get install -y maven default-jdk-headless"
    )
    assert manual_command(["maven"]) == "sudo apt-get update && sudo apt-get install -y maven"


def test_without_rights_a_missing_browser_only_gets_a_hint() -> None:
    decision = decide(machine(EVERYTHING - {"chromium"}), browser=True)
    assert decision.steps == ()
    assert decision.status == 0
    assert "sudo apt-get install -y chromium" in decision.notes[-1]


def test_without_apt_it_names_what_is_missing() -> None:
    decision = decide(Machine(BARE, root=True, sudo=False, apt=False), browser=False)
    assert decision.steps == ()
    assert decision.status == 1
    assert "maven, default-jdk-headless" in decision.notes[0]


def test_dry_run_prints_the_steps_and_runs_none(capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[Step] = []

    def run(step: Step) -> bool:
        ran.append(step)
        return True

    status = main(["--dry-run"], machine(BARE, root=True), run)
    assert (status, ran) == (0, [])
    out = capsys.readouterr()
    assert out.out.splitlines()[-1].endswith("apt-get install -y -qq maven default-jdk-headless")
    assert "installing maven default-jdk-headless" in out.err


def test_a_failed_required_step_stops_a_failed_browser_step_does_not() -> None:
    def fail_installs(step: Step) -> bool:
        return "install" not in step.argv

    assert main([], machine(BARE, root=True), fail_installs) == 1
    assert main(["--browser"], machine(EVERYTHING - {"chromium"}, root=True), fail_installs) == 0


def test_make_and_ci_use_this_one_installer() -> None:
    makefile = (REPO / "Makefile").read_text()
    for target in ("up", "test"):
        assert re.search(rf"^{target}: .*\bprereqs\b", makefile, re.M), target
    assert "python3 deploy/install_prereqs.py" in (REPO / ".ci" / "run").read_text()
    assert "apt-get" not in (REPO / ".ci" / "run").read_text()
