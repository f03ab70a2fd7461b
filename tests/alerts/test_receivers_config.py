"""Receivers from RICHNESS_ALERT_*: Grafana's contact point and Alertmanager's configuration as
`richness alerts configure` writes them, the latter checked by Alertmanager's own amtool."""
from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from services.alerts import alertmanager, provisioned
from services.alerts.configure import configure
from shared.alerting.receivers import AlertSettings, ConfigError
from tests.alerts.amtool import amtool

SLACK = "https://hooks.slack.example/services/T0/B0/secret"
SMTP = {"email_to": "ops@example.org, product@example.org", "smtp_host": "smtp.example.org:587",
        "smtp_from": "richness@example.org", "smtp_user": "richness", "smtp_password": "pw"}
COMBINATIONS = {
    "webhook only": {},
    "webhook and slack": {"slack_webhook_url": SLACK},
    "webhook and e-mail": SMTP,
    "all three": {"slack_webhook_url": SLACK, **SMTP},
}


def settings(**values) -> AlertSettings:
    return AlertSettings(webhook_url="http://alert-log:9095/", **values)


@pytest.mark.parametrize("values", COMBINATIONS.values(), ids=list(COMBINATIONS))
def test_configure_writes_what_each_engine_accepts(values, tmp_path):
    written = configure(settings(**values), provisioned.alerting_dir(), tmp_path / "grafana", tmp_path / "am")
    check = amtool("check-config", str(tmp_path / "am" / "alertmanager.yml"))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "1 templates" in check.stdout

    channels = ["webhook"] + (["slack"] if "slack_webhook_url" in values else []) + (["email"] if SMTP.keys() <= values.keys() else [])
    config = yaml.safe_load((tmp_path / "am" / "alertmanager.yml").read_text())
    [receiver] = config["receivers"]
    assert [key.removesuffix("_configs") for key in receiver if key != "name"] == channels
    assert all(c["send_resolved"] for key, configs in receiver.items() if key != "name" for c in configs)

    grafana = yaml.safe_load((tmp_path / "grafana" / "contact-points.yaml").read_text())
    [point] = grafana["contactPoints"]
    assert [r["type"] for r in point["receivers"]] == channels
    # Grafana reads the addresses from its environment: no secret is written for it.
    assert SLACK not in (tmp_path / "grafana" / "contact-points.yaml").read_text()
    # Everything else is the project's alerting folder as it is.
    copied = sorted(p.name for p in written if p.parent.name == "grafana" and p.name != "contact-points.yaml")
    assert copied == sorted(p.name for p in provisioned.alerting_dir().glob("*.yaml") if p.name != "contact-points.yaml")
    for name in copied:
        assert (tmp_path / "grafana" / name).read_text() == (provisioned.alerting_dir() / name).read_text()


def test_alertmanager_sends_the_same_message_as_grafana(tmp_path):
    configure(settings(slack_webhook_url=SLACK, **SMTP), provisioned.alerting_dir(), None, tmp_path)
    assert (tmp_path / "richness.tmpl").read_text() == provisioned.templates()
    [receiver] = yaml.safe_load((tmp_path / "alertmanager.yml").read_text())["receivers"]
    assert receiver["slack_configs"][0]["text"] == '{{ template "richness.message" . }}'
    assert receiver["email_configs"][0]["headers"]["Subject"] == '{{ template "richness.title" . }}'


def test_a_second_run_removes_files_that_left_the_source(tmp_path):
    out = tmp_path / "grafana"
    out.mkdir()
    (out / "deleted-rule.yaml").write_text("apiVersion: 1\n")
    configure(settings(), provisioned.alerting_dir(), out, None)
    assert not (out / "deleted-rule.yaml").exists()


def test_amtool_refuses_a_broken_configuration(tmp_path):
    path = alertmanager.write_config(tmp_path, settings())
    path.write_text(path.read_text().replace("receiver: richness", "receiver: nobody", 1))
    result = amtool("check-config", str(path))
    assert result.returncode != 0 and "nobody" in result.stdout + result.stderr


def test_the_webhook_is_required_for_compose(tmp_path):
    with pytest.raises(ConfigError, match="RICHNESS_ALERT_WEBHOOK_URL"):
        configure(AlertSettings(), provisioned.alerting_dir(), tmp_path / "g", tmp_path / "am")


def test_e_mail_without_a_relay_is_refused():
    with pytest.raises(ValidationError, match="RICHNESS_ALERT_SMTP_HOST"):
        settings(email_to="ops@example.org")


def test_blank_variables_mean_not_configured(monkeypatch):
    # docker compose passes ${RICHNESS_ALERT_SLACK_WEBHOOK_URL:-} as "" when it is unset.
    monkeypatch.setenv("RICHNESS_ALERT_WEBHOOK_URL", "http://alert-log:9095/")
    monkeypatch.setenv("RICHNESS_ALERT_SLACK_WEBHOOK_URL", "")
    monkeypatch.setenv("RICHNESS_ALERT_EMAIL_TO", "")
    assert AlertSettings().channels == ["webhook"]


def test_the_local_alertmanager_configuration_is_private(tmp_path):
    path = alertmanager.write_config(tmp_path, settings(slack_webhook_url=SLACK))
    assert path.stat().st_mode & 0o077 == 0
