"""Where notifications go, from ``RICHNESS_ALERT_*`` environment variables: the same receivers for
Grafana's contact point and for Alertmanager.

Always a webhook (``RICHNESS_ALERT_WEBHOOK_URL``); Slack (``RICHNESS_ALERT_SLACK_WEBHOOK_URL``, an
incoming-webhook URL) and e-mail (``RICHNESS_ALERT_EMAIL_TO``, comma-separated, with
``RICHNESS_ALERT_SMTP_*``) only when set. Grafana refuses an integration whose address is empty and
Alertmanager reads no environment variables, so both configurations are written from these
settings (``richness alerts configure``; docker-compose.yml runs it before either starts).

Grafana's contact point refers to the variables (``$RICHNESS_ALERT_SLACK_WEBHOOK_URL``: Grafana
replaces them when it loads the file, so the secret is never written down); Alertmanager's
configuration has to carry the values. The route tree of Alertmanager is Grafana's policy tree
(grafana/provisioning/alerting/notification-policies.yaml), converted: one tree, two engines.
"""
from __future__ import annotations

import copy
from typing import Annotated, Any, Mapping

from pydantic import AnyHttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.alerting.routing import Route, alertmanager_route

CONTACT_POINT = "richness"
TEMPLATE_FILE = "richness.tmpl"
TITLE = '{{ template "richness.title" . }}'
MESSAGE = '{{ template "richness.message" . }}'


class ConfigError(ValueError):
    """Settings or provisioning files that cannot make a working configuration."""


class AlertSettings(BaseSettings):
    """``RICHNESS_ALERT_*``: where alerts go, and where Grafana is (for links)."""

    model_config = SettingsConfigDict(env_prefix="RICHNESS_ALERT_", extra="ignore")

    webhook_url: AnyHttpUrl | None = None
    slack_webhook_url: SecretStr | None = None
    email_to: Annotated[list[str], NoDecode] = []
    smtp_host: str | None = None          # host:port of the mail relay
    smtp_from: str | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_require_tls: bool = True
    # Grafana's root URL, for the links in notifications. Grafana's always ends with a slash.
    grafana_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:3000/")

    @field_validator("email_to", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("slack_webhook_url", "smtp_password", "smtp_host", "smtp_from", "smtp_user", "webhook_url",
                     mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # docker compose passes an unset variable as "" (${VAR:-}): that means "not configured".
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _email_needs_a_relay(self) -> "AlertSettings":
        if self.email_to and not (self.smtp_host and self.smtp_from):
            raise ValueError("RICHNESS_ALERT_EMAIL_TO is set: also set RICHNESS_ALERT_SMTP_HOST (host:port) "
                             "and RICHNESS_ALERT_SMTP_FROM")
        return self

    @property
    def external_url(self) -> str:
        url = str(self.grafana_url)
        return url if url.endswith("/") else url + "/"

    @property
    def channels(self) -> list[str]:
        """The integrations these settings give, in order."""
        return ["webhook"] + (["slack"] if self.slack_webhook_url else []) + (["email"] if self.email_to else [])


# --- Grafana --------------------------------------------------------------------------------------------

def grafana_contact_points(base: Mapping[str, Any], settings: AlertSettings) -> dict[str, Any]:
    """grafana/provisioning/alerting/contact-points.yaml (the webhook) plus Slack and e-mail when set."""
    document = copy.deepcopy(dict(base))
    points = [p for p in document.get("contactPoints", []) if p.get("name") == CONTACT_POINT]
    if len(points) != 1:
        raise ConfigError(f"contact-points.yaml must define the contact point {CONTACT_POINT!r} once")
    receivers = points[0]["receivers"]
    if [r["type"] for r in receivers] != ["webhook"]:
        raise ConfigError("the provisioned contact point must hold just its webhook; Slack and e-mail are added here")
    if settings.slack_webhook_url:
        receivers.append({"uid": "richness-slack", "type": "slack", "disableResolveMessage": False,
                          "settings": {"url": "$RICHNESS_ALERT_SLACK_WEBHOOK_URL", "title": TITLE, "text": MESSAGE}})
    if settings.email_to:
        # Grafana sends through its own SMTP settings (GF_SMTP_*, set from RICHNESS_ALERT_SMTP_* by compose).
        receivers.append({"uid": "richness-email", "type": "email", "disableResolveMessage": False,
                          "settings": {"addresses": "$RICHNESS_ALERT_EMAIL_TO", "singleEmail": True,
                                       "subject": TITLE, "message": MESSAGE}})
    return document


# --- Alertmanager ---------------------------------------------------------------------------------------

def alertmanager_config(policy: Route, settings: AlertSettings, webhook_url: str | None = None) -> dict[str, Any]:
    """Alertmanager's configuration: Grafana's policy tree, the same receivers, the same message
    template (written beside it as ``richness.tmpl``). ``webhook_url`` overrides the setting (the
    local Alertmanager posts to the local watcher's receiver); with neither, the receiver has no
    integration and alerts are only listed by Alertmanager itself."""
    url = webhook_url or (str(settings.webhook_url) if settings.webhook_url else None)
    receiver: dict[str, Any] = {"name": CONTACT_POINT}
    if url:
        receiver["webhook_configs"] = [{"url": url, "send_resolved": True}]
    if settings.slack_webhook_url:
        receiver["slack_configs"] = [{"api_url": settings.slack_webhook_url.get_secret_value(),
                                      "send_resolved": True, "title": TITLE, "text": MESSAGE}]
    config: dict[str, Any] = {"global": {"resolve_timeout": "5m"}}
    if settings.email_to:
        config["global"].update({"smtp_smarthost": settings.smtp_host, "smtp_from": settings.smtp_from,
                                 "smtp_require_tls": settings.smtp_require_tls})
        if settings.smtp_user:
            config["global"]["smtp_auth_username"] = settings.smtp_user
        if settings.smtp_password:
            config["global"]["smtp_auth_password"] = settings.smtp_password.get_secret_value()
        receiver["email_configs"] = [{"to": ", ".join(settings.email_to), "send_resolved": True,
                                      "headers": {"Subject": TITLE}, "text": MESSAGE,
                                      "html": "<pre>" + MESSAGE + "</pre>"}]
    if policy.receiver != CONTACT_POINT or any(r.receiver != CONTACT_POINT for r in _routes(policy)):
        raise ConfigError(f"every policy must send to the contact point {CONTACT_POINT!r}")
    config["route"] = alertmanager_route(policy)
    config["receivers"] = [receiver]
    config["templates"] = [TEMPLATE_FILE]  # relative to the configuration file
    return config


def _routes(route: Route):
    for child in route.routes:
        yield child
        yield from _routes(child)


def template_text(document: Mapping[str, Any]) -> str:
    """The text of the ``richness`` notification template in a Grafana templates file."""
    found = [t["template"] for t in document.get("templates", []) if t.get("name") == CONTACT_POINT]
    if len(found) != 1:
        raise ConfigError(f"notification-templates.yaml must define the template {CONTACT_POINT!r} once")
    return found[0]
