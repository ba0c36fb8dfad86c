"""Configuration: env beats file, every problem named at once, secrets never printed."""

from pathlib import Path

import pytest

from podbot.core.errors import ConfigError
from podbot.server.config import load_settings, require_slack


def test_defaults_need_nothing() -> None:
    settings = load_settings({})
    assert settings.port == 3000 and settings.locale == "en" and settings.database_url.startswith("sqlite")
    assert settings.approvals.needs_approval("prod") and settings.approvals.expiry_seconds == 3600


def test_yaml_file_and_env_precedence(tmp_path: Path) -> None:
    config = tmp_path / "podbot.yaml"
    config.write_text("""
locale: zh_CN
port: 8080
approvals:
  approvers:
    - namespaces: [prod, "prod-*"]
      users: [U0BOB]
      usergroups: [S0SRE]
    - users: [U0ADMIN]
  no_approval_namespaces: ["dev-*"]
  expiry_seconds: 600
channels:
  - channel: "#ops"
    namespaces: [default, "team-*"]
    verbs: [get, describe, logs, delete]
    default_namespace: team-a
    locale: en
  - channel: "*"
    verbs: [get]
identity:
  enabled: true
  users: {U0ALICE: alice@example.com}
  groups: {S0SRE: [sre, oncall]}
""")
    settings = load_settings({"PORT": "9000", "SLACK_BOT_TOKEN": "xoxb-1"}, str(config))
    assert settings.port == 9000  # env wins
    assert settings.locale == "zh_CN"
    assert settings.approvals.rule_for("prod-eu").users == ("U0BOB",)  # type: ignore[union-attr]
    assert settings.approvals.rule_for("staging").users == ("U0ADMIN",)  # type: ignore[union-attr]
    assert not settings.approvals.needs_approval("dev-alice")
    ops = settings.channel_policy("C123", "ops")
    assert ops.default_namespace == "team-a" and "delete" in ops.verbs
    assert settings.channel_policy("C999", "random").verbs == ("get",)
    assert settings.locale_for("C123", "ops") == "en" and settings.locale_for("C9", "x") == "zh_CN"
    assert settings.identity.enabled and settings.identity.groups["S0SRE"] == ("sre", "oncall")


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("""
approvals:
  approvers:
    - namespaces: prod
  expiry_seconds: soon
channels:
  - namespaces: [x]
""")
    with pytest.raises(ConfigError) as info:
        load_settings({"PORT": "http", "SLACK_BOT_TOKEN": "not-a-token"}, str(config))
    message = str(info.value)
    for expected in (
        "PORT",
        "SLACK_BOT_TOKEN",
        "approvals.approvers[0]",
        "approvals.expiry_seconds",
        "channels[0]",
    ):
        assert expected in message


def test_missing_slack_credentials_are_named_and_secrets_never_printed() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        require_slack(load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}), socket_mode=False)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        require_slack(load_settings({"SLACK_BOT_TOKEN": "xoxb-1"}), socket_mode=True)
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-very-secret", "SLACK_SIGNING_SECRET": "sign-me"})
    assert "xoxb-very-secret" not in repr(settings) and "sign-me" not in repr(settings)


def test_unreadable_or_non_mapping_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings({}, str(tmp_path / "missing.yaml"))
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_settings({"PODBOT_CONFIG": str(listy)})


def test_display_time_zone_for_the_workspace_and_per_channel(tmp_path: Path) -> None:
    config = tmp_path / "podbot.yaml"
    config.write_text(
        "timezone: Asia/Shanghai\n"
        "channels:\n"
        "  - {channel: '#ops'}\n"
        "  - {channel: '#berlin', timezone: Europe/Berlin}\n"
    )
    settings = load_settings({}, str(config))
    assert settings.timezone == "Asia/Shanghai"
    assert settings.timezone_for("C1", "ops") == "Asia/Shanghai"  # the workspace's
    assert settings.timezone_for("C2", "berlin") == "Europe/Berlin"
    assert load_settings({"PODBOT_TIMEZONE": "UTC"}, str(config)).timezone == "UTC"  # env wins
    assert load_settings({}).timezone == "UTC"  # the default


def test_an_unknown_time_zone_is_named(tmp_path: Path) -> None:
    config = tmp_path / "podbot.yaml"
    config.write_text("timezone: Mars/Olympus\nchannels:\n  - {channel: '#ops', timezone: CST+8}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings({}, str(config))
    assert "timezone: unknown time zone 'Mars/Olympus'" in str(caught.value)
    assert "channels[0].timezone: unknown time zone 'CST+8'" in str(caught.value)


def test_serving_with_nothing_set_names_socket_mode_as_the_alternative() -> None:
    with pytest.raises(ConfigError) as caught:
        require_slack(load_settings({}), socket_mode=False)
    message = str(caught.value)
    assert "SLACK_BOT_TOKEN" in message and "SLACK_SIGNING_SECRET" in message
    assert "SLACK_APP_TOKEN" in message and "Socket Mode" in message
