"""The daemon's parts that need no services: configuration errors, complete-file detection,
fair order, claims and take-over, receipts and the folders files end in."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest

from bridge.config import ConfigError
from bridge.daemon import receipts
from bridge.daemon.claims import Claims
from bridge.daemon.health import sd_notify
from bridge.daemon.inbox import Arrival, Scanner, fair_order
from bridge.daemon.settings import Inbox, http_settings, load_settings

ROOT = Path(__file__).resolve().parents[3]
MAPPING = ROOT / "schemas" / "acctmast.mapping.json"


@pytest.fixture(autouse=True)
def pii_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGE_PII_KEY", "daemon-unit-tests-pii-key-not-a-secret-00")


def write_config(tmp_path: Path, extra: str = "", inbox: str | None = None) -> Path:
    (tmp_path / "in").mkdir(exist_ok=True)
    body = inbox if inbox is not None else f'[[inbox]]\npath = "in"\nmapping = "{MAPPING}"\n'
    config = tmp_path / "bridge.toml"
    config.write_text(extra + body)
    return config


def test_a_valid_configuration_resolves_paths_beside_the_file(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, '[daemon]\nname = "x"\nsettle = 0.5\n'))
    (inbox,) = settings.inboxes
    assert inbox.path == (tmp_path / "in").resolve()
    assert inbox.trigger == ".done" and inbox.profile == "acctmast"
    assert settings.daemon.name == "x" and settings.daemon.settle == 0.5
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 9464)


@pytest.mark.parametrize(
    ("extra", "inbox", "key", "reason"),
    [
        ("", "", "inbox", "at least one [[inbox]]"),
        ("[daemon]\nsettle = -1\n", None, "daemon.settle", "seconds > 0"),
        ("[daemon]\nsetle = 1\n", None, "daemon.setle", "unknown key"),
        ('[daemon]\nname = "a b"\n', None, "daemon.name", "letters"),
        ('[http]\nlisten = "9464"\n', None, "http.listen", "HOST:PORT"),
        ("", '[[inbox]]\npath = "nowhere"\nmapping = "m.json"\n', "inbox[0].path", "not a dir"),
        ("", '[[inbox]]\npath = "in"\nmapping = "missing.json"\n', "inbox[0].mapping", "missing"),
        (
            "",
            f'[[inbox]]\npath = "in"\nmapping = "{MAPPING}"\ntrigger = "done"\n',
            "inbox[0].trigger",
            "suffix",
        ),
        (
            "",
            f'[[inbox]]\npath = "in"\nmapping = "{MAPPING}"\n' * 2,
            "inbox[1].path",
            "given twice",
        ),
    ],
)
def test_a_bad_configuration_names_file_key_and_reason(
    tmp_path: Path, extra: str, inbox: str | None, key: str, reason: str
) -> None:
    config = write_config(tmp_path, extra, inbox)
    with pytest.raises(ConfigError) as info:
        load_settings(config)
    assert info.value.key == key
    assert str(config) in str(info.value) and reason in str(info.value)


def test_bridge_check_reads_only_the_http_table(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[http]\nlisten = "127.0.0.1:9999"\n')
    assert http_settings(config).port == 9999


def inbox_at(tmp_path: Path, trigger: str = ".done") -> Inbox:
    path = tmp_path / "in"
    path.mkdir(exist_ok=True)
    return Inbox(path, MAPPING, None, trigger, "acctmast")  # type: ignore[arg-type]


def age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_a_file_is_ready_only_with_its_trigger_and_a_stable_size(tmp_path: Path) -> None:
    inbox = inbox_at(tmp_path)
    scanner = Scanner(settle=1.0)
    data = inbox.path / "a.dat"
    data.write_bytes(b"x" * 10)
    age(data, 5)
    (inbox.path / ".b.dat.part").write_bytes(b"hidden")  # a transfer before its rename
    now = time.time()
    assert scanner.ready(inbox, now) == []  # first sighting
    assert scanner.ready(inbox, now + 2) == []  # stable, but no trigger
    (inbox.path / "a.dat.done").touch()
    (ready,) = scanner.ready(inbox, now + 3)
    assert (ready.name, ready.size) == ("a.dat", 10)
    with open(data, "ab") as f:  # still growing: not ready again until it settles
        f.write(b"y")
    assert scanner.ready(inbox, now + 4) == []


def test_without_a_trigger_a_settled_file_is_ready(tmp_path: Path) -> None:
    inbox = inbox_at(tmp_path, trigger="")
    scanner = Scanner(settle=1.0)
    for name, seconds in (("old", 30), ("new", 20)):
        (inbox.path / name).write_bytes(b"z")
        age(inbox.path / name, seconds)
    now = time.time()
    scanner.ready(inbox, now)
    assert [a.name for a in scanner.ready(inbox, now + 1.5)] == ["old", "new"]  # arrival order


def test_inboxes_are_served_round_robin() -> None:
    def arrivals(tag: str, n: int) -> list[Arrival]:
        return [Arrival(None, f"{tag}{i}", float(i), 1) for i in range(n)]  # type: ignore[arg-type]

    order = [a.name for a in fair_order([arrivals("a", 3), arrivals("b", 1), arrivals("c", 2)])]
    assert order == ["a0", "b0", "c0", "a1", "c1", "a2"]


def test_one_claim_wins_and_a_silent_daemons_claims_are_taken_over(tmp_path: Path) -> None:
    inbox = inbox_at(tmp_path)
    one, two = Claims("one", takeover=10), Claims("two", takeover=10)
    one.prepare(inbox)
    two.prepare(inbox)
    (inbox.path / "f.dat").write_bytes(b"1")
    (inbox.path / "f.dat.done").touch()
    assert one.claim(inbox, "f.dat")
    assert not two.claim(inbox, "f.dat")
    assert one.held(inbox) == ["f.dat"] and two.held(inbox) == []
    assert (one.folder(inbox) / "f.dat.done").exists()
    assert two.take_over(inbox) == []  # one's heartbeat is fresh
    assert two.take_over(inbox, now=time.time() + 11) == ["f.dat"]
    assert two.held(inbox) == ["f.dat"] and one.held(inbox) == []
    assert (two.folder(inbox) / "f.dat.done").exists()


def test_receipts_never_overwrite_and_survive_a_crash_before_the_move(tmp_path: Path) -> None:
    inbox = inbox_at(tmp_path)
    claims = Claims("one", takeover=10)
    claims.prepare(inbox)
    (inbox.processed / "f.dat").write_bytes(b"earlier")
    (inbox.processed / "f.dat.receipt.json").write_text('{"sha256": "old"}')
    claimed = claims.folder(inbox) / "f.dat"
    claimed.write_bytes(b"new")
    (claims.folder(inbox) / "f.dat.done").touch()
    path = receipts.finish(inbox, claimed, {"sha256": "new"})
    assert path.name == "f.dat.1.receipt.json"
    assert (inbox.processed / "f.dat.1").read_bytes() == b"new"
    assert (inbox.processed / "f.dat.1.done").exists()
    assert (inbox.processed / "f.dat").read_bytes() == b"earlier"

    # A crash after the receipt was written and before the move: the next attempt keeps it.
    (inbox.processed / "g.dat.receipt.json").write_text(json.dumps({"sha256": "g", "n": 1}))
    claimed = claims.folder(inbox) / "g.dat"
    claimed.write_bytes(b"g")
    path = receipts.finish(inbox, claimed, {"sha256": "g", "n": 2})
    assert json.loads(path.read_text())["n"] == 1
    assert (inbox.processed / "g.dat").exists()


def test_a_failed_file_moves_with_its_reason(tmp_path: Path) -> None:
    inbox = inbox_at(tmp_path)
    claims = Claims("one", takeover=10)
    claims.prepare(inbox)
    claimed = claims.folder(inbox) / "bad.dat"
    claimed.write_bytes(b"?")
    path = receipts.fail(inbox, claimed, "cannot be read: Permission denied", None)
    assert path.read_text() == "cannot be read: Permission denied\n"
    assert (inbox.failed / "bad.dat").read_bytes() == b"?"
    assert not claimed.exists()


def test_the_sample_configuration_in_deploy_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGE_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("BRIDGE_REDIS_URL", "redis://redis:6379/0")
    text = (ROOT / "deploy" / "bridge.toml").read_text()
    text = text.replace("/srv/landing/accounts", str(tmp_path))
    text = text.replace("/opt/bridge/schemas/acctmast.mapping.json", str(MAPPING))
    config = tmp_path / "bridge.toml"
    config.write_text(text)
    settings = load_settings(config)
    assert settings.inboxes[0].path == tmp_path.resolve()
    assert settings.config.kafka.bootstrap == "kafka:9092"


def test_sd_notify_writes_to_systemds_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(address))
        monkeypatch.setenv("NOTIFY_SOCKET", str(address))
        sd_notify("READY=1")
        assert server.recv(100) == b"READY=1"
    monkeypatch.delenv("NOTIFY_SOCKET")
    sd_notify("READY=1")  # no socket: nothing to do, no error
