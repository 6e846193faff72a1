"""The `consortia` command, run as a person runs it: a separate process.

Each test starts `python -m consortia.cli.main` (and one starts the installed
`consortia` console script) and checks the exit code and what a person reads: 0 and
a summary when all is well, 1 and line-numbered problems on stderr when a file is
wrong, 2 for a usage mistake, as argparse does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from consortia import __version__
from tests.conftest import REPO

pytestmark = pytest.mark.component

NETWORKS = REPO / "network-config"
MINIMAL = NETWORKS / "minimal.yaml"
TIMEOUT = 120


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consortia.cli.main", *args],
        capture_output=True, text=True, cwd=cwd or REPO, timeout=TIMEOUT, check=False,
    )


def line_of(path: Path, fragment: str, occurrence: int = 1) -> int:
    found = [n for n, text in enumerate(path.read_text().splitlines(), 1) if fragment in text]
    return found[occurrence - 1]


def trading_policy_line(path: Path) -> int:
    """The line of the trading channel's endorsement_policy (the one bad_carbon_market spoils)."""
    return line_of(path, "OutOf(1, 'ExchangMSP.peer'") - 1


def bad_carbon_market(folder: Path, *, raft: bool = False) -> Path:
    """carbon-market.yaml with 'ExchangeMSP' misspelt in the trading endorsement policy."""
    text = (NETWORKS / "carbon-market.yaml").read_text()
    typo = "OutOf(1, 'ExchangeMSP.peer'"
    assert text.count(typo) == 1
    text = text.replace(typo, "OutOf(1, 'ExchangMSP.peer'")
    if raft:
        assert text.count("  type: solo\n") == 1
        text = text.replace("  type: solo\n", "  type: raft\n")
    # The copy lives elsewhere, so its chaincode folders must not be relative to network-config/.
    text = text.replace("path: ../chaincode/", f"path: {REPO / 'chaincode'}/")
    text = text.replace("collections_config: collections/", f"collections_config: {NETWORKS / 'collections'}/")
    bad = folder / "bad.yaml"
    bad.write_text(text)
    return bad


def ca_cert(out: Path) -> bytes:
    return (out / "peerOrganizations" / "org1.example.com" / "ca" / "ca.org1.example.com-cert.pem").read_bytes()


# --- config check ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        ("carbon-market", "network 'carbon-market' is valid: 11 organizations, 11 nodes, 2 channels (data-sharing, trading)"),
        ("minimal", "network 'minimal' is valid: 1 organizations, 2 nodes, 1 channels (mychannel)"),
        ("two-orgs", "network 'two-orgs' is valid: 2 organizations, 3 nodes, 1 channels (mychannel)"),
    ],
)
def test_config_check_accepts_shipped_networks(name: str, summary: str) -> None:
    result = run("config", "check", f"network-config/{name}.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"network-config/{name}.yaml: {summary}\n"
    assert result.stderr == ""


def test_config_check_reports_the_line_of_the_problem(tmp_path: Path) -> None:
    bad = bad_carbon_market(tmp_path)
    result = run("config", "check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    where = trading_policy_line(bad)
    assert result.stderr.splitlines() == [
        f"bad.yaml:{where} channels[1].endorsement_policy: unknown org 'ExchangMSP'; did you mean 'ExchangeMSP'?",
        "bad.yaml: 1 problem",
    ]


def test_config_check_reports_every_problem_in_line_order(tmp_path: Path) -> None:
    bad = bad_carbon_market(tmp_path, raft=True)
    result = run("config", "check", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"bad.yaml:{line_of(bad, 'type: raft')} consensus.type: raft consensus is not available yet; use solo",
        f"bad.yaml:{trading_policy_line(bad)} channels[1].endorsement_policy: "
        "unknown org 'ExchangMSP'; did you mean 'ExchangeMSP'?",
        "bad.yaml: 2 problems",
    ]


def test_config_check_on_a_missing_file(tmp_path: Path) -> None:
    result = run("config", "check", "absent.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "absent.yaml: cannot read: No such file or directory",
        "absent.yaml: 1 problem",
    ]
    assert "Traceback" not in result.stderr


# --- crypto generate ------------------------------------------------------------------


def test_crypto_generate_then_again_then_force(tmp_path: Path) -> None:
    out = tmp_path / "crypto"
    first = run("crypto", "generate", str(MINIMAL), "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == f"{out}: 7 created, 0 kept for network 'minimal' (2 organizations)"
    assert "created  peerOrganizations/org1.example.com/users/User1@org1.example.com" in first.stdout.splitlines()
    original_ca = ca_cert(out)

    again = run("crypto", "generate", str(MINIMAL), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{out}: 0 created, 7 kept for network 'minimal' (2 organizations)\n"
    assert ca_cert(out) == original_ca

    forced = run("crypto", "generate", str(MINIMAL), "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.splitlines()[-1] == f"{out}: 7 created, 0 kept for network 'minimal' (2 organizations)"
    assert ca_cert(out) != original_ca


def test_crypto_generate_default_output_folder(tmp_path: Path) -> None:
    result = run("crypto", "generate", str(MINIMAL), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "crypto-config" / "peerOrganizations" / "org1.example.com" / "msp").is_dir()


def test_crypto_generate_with_a_bad_network_writes_nothing(tmp_path: Path) -> None:
    bad = bad_carbon_market(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    result = run("crypto", "generate", "bad.yaml", "--out", str(out), cwd=tmp_path)
    assert result.returncode == 1
    where = trading_policy_line(bad)
    assert result.stderr == (
        f"error: bad.yaml:{where} channels[1].endorsement_policy: unknown org 'ExchangMSP'; did you mean 'ExchangeMSP'?\n"
    )
    assert list(out.iterdir()) == []
    fresh = tmp_path / "never-made"
    assert run("crypto", "generate", "bad.yaml", "--out", str(fresh), cwd=tmp_path).returncode == 1
    assert not fresh.exists()


def test_crypto_generate_with_a_missing_network_file(tmp_path: Path) -> None:
    result = run("crypto", "generate", "absent.yaml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "error: absent.yaml: cannot read: No such file or directory\n"
    assert not (tmp_path / "out").exists()


# --- usage ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("config", "lint", "x.yaml"), "invalid choice: 'lint'"),
        (("config",), "the following arguments are required: ACTION"),
        (("crypto", "generate"), "the following arguments are required: file"),
        ((), "the following arguments are required: COMMAND"),
    ],
)
def test_usage_mistakes_exit_2(args: tuple[str, ...], complaint: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert complaint in result.stderr
    assert "usage: consortia" in result.stderr


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout == f"consortia {__version__}\n"


def test_installed_console_script() -> None:
    script = shutil.which("consortia")
    if script is None:
        pytest.skip("the consortia console script is not on PATH (package not installed)")
    checked = subprocess.run(
        [script, "config", "check", str(MINIMAL)], capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert "network 'minimal' is valid" in checked.stdout
    version = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert version.stdout == f"consortia {__version__}\n"


def test_crypto_generate_into_a_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    result = run("crypto", "generate", str(REPO / "network-config" / "minimal.yaml"), "--out", str(target))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {target}: File exists")
    assert "Traceback" not in result.stderr
