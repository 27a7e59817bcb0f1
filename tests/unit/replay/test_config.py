"""The TOML configuration: defaults from the environment, ${NAME} substitution, secrets never
shown, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config import ConfigError, load_config, redact


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bridge.toml"
    path.write_text(text)
    return path


def test_no_file_takes_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"BRIDGE_KAFKA_BOOTSTRAP": "k:1", "BRIDGE_REDIS_URL": "redis://r:2/0"}
    config = load_config(None, env)
    assert config.source == "environment"
    assert config.kafka.properties == {"bootstrap.servers": "k:1"}
    assert config.redis.url == "redis://r:2/0"
    topics = config.topics.for_mapping("acctmast")
    assert topics.events == "bridge.acctmast.events"
    assert topics.progress == "bridge.acctmast.progress"
    assert config.replay.chunk_records > 0


def test_bridge_toml_in_the_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, '[topics]\nevents = "mine.{mapping}"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(None, {}).topics.for_mapping("m").events == "mine.m"


def test_kafka_table_is_passed_as_is_with_substitution(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[kafka]
"bootstrap.servers" = "${HOST}:9093"
"security.protocol" = "SASL_SSL"
"sasl.password" = "${PASS}"
"linger.ms" = 20
"enable.ssl.certificate.verification" = false
"client.id" = "cost$$center"
[replay]
chunk_records = 500
timeout = 2.5
""",
    )
    config = load_config(path, {"HOST": "b1", "PASS": "hunter2"})
    assert config.kafka.properties == {
        "bootstrap.servers": "b1:9093",
        "security.protocol": "SASL_SSL",
        "sasl.password": "hunter2",
        "linger.ms": "20",
        "enable.ssl.certificate.verification": "false",
        "client.id": "cost$center",
    }
    assert config.replay.chunk_records == 500
    assert config.replay.timeout == 2.5
    assert "hunter2" not in repr(config)
    assert redact(config.kafka.properties)["sasl.password"] == "***"


@pytest.mark.parametrize(
    ("text", "key", "what"),
    [
        ('[kafka]\n"sasl.password" = "${NOPE}"\n', "kafka.sasl.password", "NOPE is not set"),
        ('[kafka]\n"x" = "a$b"\n', "kafka.x", "write $$"),
        ("[replay]\nchunk_records = 0\n", "replay.chunk_records", "integer >= 1"),
        ('[replay]\nchunk_records = "many"\n', "replay.chunk_records", "integer >= 1"),
        ("[replay]\ntimeout = -1\n", "replay.timeout", "seconds > 0"),
        ("[replay]\nchunks = 1\n", "replay.chunks", "unknown key"),
        ('[topics]\nevent = "x"\n', "topics.event", "unknown key"),
        ('[topics]\nevents = "a b"\n', "topics.events", "not a Kafka topic name"),
        ('[topics]\ncreate = "yes"\n', "topics.create", "true or false"),
        ("[kafka.sub]\na = 1\n", "kafka.sub", "not a table"),
        ("[kakfa]\n", "kakfa", "unknown table"),
        ("kafka = 3\n", "kafka", "expected a table"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, key: str, what: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert caught.value.key == key
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: ")
    assert what in message


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "absent.toml", {})
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 1"):
        load_config(write(tmp_path, "[kafka\n"), {})


def test_redis_url_password_is_not_shown(tmp_path: Path) -> None:
    path = write(tmp_path, '[redis]\nurl = "redis://u:${P}@h:1/0"\nprefix = "x:"\n')
    config = load_config(path, {"P": "s3cret"})
    assert config.redis.url == "redis://u:s3cret@h:1/0"
    assert config.redis.options == {"prefix": "x:"}
    assert "s3cret" not in repr(config)
