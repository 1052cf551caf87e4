"""ElastAlert2's transport options (timeout, CA, TLS check, proxy): typed, checked when the
rule loads, and read as ElastAlert2 2.19 reads them."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bitacora.errors import RuleError
from bitacora.rules.loader import read_rule, read_rule_text
from bitacora.rules.notify.destinations.email import EmailOptions, SmtpServer, smtp_server
from bitacora.rules.notify.transport import Transport
from bitacora.settings import Settings
from bitacora.stack import certs

HEAD = "name: r\ntype: any\nfilter: []\n"

# Every transport option ElastAlert2 2.19 gives an alerter Bitácora has, with a value.
OPTIONS = {
    "post": "http_post_url: https://h/x\nhttp_post_timeout: 3\nhttp_post_ca_certs: true\n"
    "http_post_ignore_ssl_errors: true\nhttp_post_proxy: http://p:3128\n",
    "slack": "slack_webhook_url: https://h/x\nslack_timeout: 3\nslack_ca_certs: true\n"
    "slack_ignore_ssl_errors: true\nslack_proxy: http://p:3128\n",
    "pagerduty": "pagerduty_service_key: k\npagerduty_ca_certs: true\n"
    "pagerduty_ignore_ssl_errors: true\npagerduty_proxy: http://p:3128\n",
    "alertmanager": "alertmanager_hosts: [https://h]\nalertmanager_timeout: 3\n"
    "alertmanager_ca_certs: true\nalertmanager_ignore_ssl_errors: true\n"
    "alertmanager_proxy: http://p:3128\n",
    "ms_teams": "ms_teams_webhook_url: https://h/x\nms_teams_ca_certs: true\n"
    "ms_teams_ignore_ssl_errors: true\nms_teams_proxy: http://p:3128\n",
    "rocketchat": "rocket_chat_webhook_url: https://h/x\nrocket_chat_timeout: 3\n"
    "rocket_chat_ca_certs: true\nrocket_chat_ignore_ssl_errors: true\n"
    "rocket_chat_proxy: http://p:3128\n",
    "mattermost": "mattermost_webhook_url: https://h/x\nmattermost_ignore_ssl_errors: true\n"
    "mattermost_proxy: http://p:3128\n",
    "opsgenie": "opsgenie_key: k\nopsgenie_proxy: http://p:3128\n",
    "telegram": "telegram_bot_token: t\ntelegram_room_id: '1'\ntelegram_proxy: http://p:3128\n"
    "telegram_proxy_login: u\ntelegram_proxy_pass: s\n",
    "discord": "discord_webhook_url: https://h/x\ndiscord_proxy: http://p:3128\n"
    "discord_proxy_login: u\ndiscord_proxy_password: s\n",
    "googlechat": "googlechat_webhook_url: https://h/x\ngooglechat_proxy: http://p:3128\n",
    "victorops": "victorops_api_key: a\nvictorops_routing_key: r\n"
    "victorops_message_type: CRITICAL\nvictorops_proxy: http://p:3128\n",
}


@pytest.mark.parametrize("alerter", list(OPTIONS))
def test_every_transport_option_loads_without_a_warning(alerter: str) -> None:
    read = read_rule_text(f"{HEAD}alert: [{alerter}]\n{OPTIONS[alerter]}")
    assert read.warnings == ()
    transport = read.rule.options_for(alerter).transport()
    assert transport.proxy == "http://p:3128"


def test_options_map_to_the_transport() -> None:
    read = read_rule_text(f"{HEAD}alert: [alertmanager]\n{OPTIONS['alertmanager']}")
    options = read.rule.options_for("alertmanager")
    assert options.transport() == Transport(3.0, True, "http://p:3128")
    read = read_rule_text(f"{HEAD}alert: [telegram]\n{OPTIONS['telegram']}")
    assert read.rule.options_for("telegram").transport() == Transport(
        10.0, True, "http://p:3128", "u", "s"
    )


@pytest.mark.parametrize(
    ("ca_certs", "ignore", "verify"),
    [
        (None, False, True),
        (None, True, False),
        (True, True, True),  # ca_certs first, as ElastAlert2's verify=ca_certs
        (False, True, False),  # false is "not set"
        ("/etc/ca.pem", True, "/etc/ca.pem"),
        ("/etc/ca.pem", False, "/etc/ca.pem"),
    ],
)
def test_verify_follows_elastalert2(
    ca_certs: bool | str | None, ignore: bool, verify: bool | str
) -> None:
    assert Transport.of(ca_certs=ca_certs, ignore_ssl_errors=ignore).verify == verify


def test_plain_http_takes_neither_proxy_nor_tls_options() -> None:
    transport = Transport(2.0, False, "http://p:3128", "u", "s")
    assert transport.request_options("http://h/x") == {"timeout": aiohttp.ClientTimeout(total=2.0)}
    assert transport.request_options("https://h/x") == {
        "timeout": aiohttp.ClientTimeout(total=2.0),
        "ssl": False,
        "proxy": "http://p:3128",
        "proxy_headers": {"Proxy-Authorization": "Basic dTpz"},
    }


def test_proxy_without_a_scheme_is_http() -> None:
    read = read_rule_text(f"{HEAD}alert: [slack]\nslack_webhook_url: x\nslack_proxy: p:3128\n")
    assert read.rule.options_for("slack").transport().proxy == "http://p:3128"


def _error(text: str) -> str:
    with pytest.raises(RuleError) as caught:
        read_rule_text(f"{HEAD}alert: [alertmanager]\nalertmanager_hosts: [https://h]\n{text}")
    return str(caught.value)


def test_a_missing_ca_file_is_refused_saying_what_to_give(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    assert _error(f"alertmanager_ca_certs: {missing}\n") == (
        f"<text>:6: key 'alertmanager_ca_certs': Value error, CA file {missing} not found: "
        "give the path of a PEM CA bundle (or of a folder of hashed certificates) that the "
        "alerting role can read, or true for the system's CAs"
    )


def test_a_file_without_certificates_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    assert _error(f"alertmanager_ca_certs: {junk}\n") == (
        f"<text>:6: key 'alertmanager_ca_certs': Value error, CA file {junk} holds no readable "
        "PEM certificate (SSLError): give a PEM CA bundle"
    )


def test_a_ca_bundle_and_a_folder_are_taken(tmp_path: Path) -> None:
    ca = certs.make_ca(tmp_path / "ca")
    for path in (ca.cert, tmp_path / "ca"):
        read = read_rule_text(
            f"{HEAD}alert: [post]\nhttp_post_url: https://h\nhttp_post_ca_certs: {path}\n"
        )
        assert read.rule.options_for("post").transport().verify == str(path)


@pytest.mark.parametrize(
    ("proxy", "message"),
    [
        (
            "socks5://u:secret@p:1080",
            "proxy socks5://p:1080 is not an HTTP proxy: give http://HOST:PORT "
            "(SOCKS proxies are not supported)",
        ),
        ("http://p:port", "proxy http://p:port has a bad port: give http://HOST:PORT"),
        ("http://u:secret@:3128", "proxy http://:3128 has no host: give http://HOST:PORT"),
    ],
)
def test_a_bad_proxy_is_refused_without_its_credentials(proxy: str, message: str) -> None:
    assert _error(f"alertmanager_proxy: '{proxy}'\n") == (
        f"<text>:6: key 'alertmanager_proxy': Value error, {message}"
    )


def test_a_timeout_must_be_positive() -> None:
    assert _error("alertmanager_timeout: 0\n") == (
        "<text>:6: key 'alertmanager_timeout': Input should be greater than 0"
    )


SHARED = Settings(smtp_host="relay", smtp_port=587, smtp_starttls=True, smtp_user="bitacora")


@pytest.mark.parametrize(
    ("options", "server"),
    [
        ({}, SmtpServer("relay", 587, False, "always", "settings")),
        ({"smtp_port": 2525}, SmtpServer("relay", 2525, False, "always", "settings")),
        ({"smtp_ssl": True}, SmtpServer("relay", 465, True, "never", "settings")),
        ({"smtp_host": "own"}, SmtpServer("own", 25, False, "offered", "none")),
        ({"smtp_host": "own", "smtp_ssl": True}, SmtpServer("own", 465, True, "never", "none")),
        (
            {"smtp_host": "own", "smtp_port": 1465, "smtp_ssl": True},
            SmtpServer("own", 1465, True, "never", "none"),
        ),
    ],
)
def test_the_rules_smtp_options_pick_the_server(
    options: dict[str, object], server: SmtpServer
) -> None:
    assert smtp_server(SHARED, EmailOptions.model_validate(options)) == server


def test_smtp_auth_file_logs_in_and_is_relative_to_the_rule(tmp_path: Path) -> None:
    (tmp_path / "account.yaml").write_text("user: a\npassword: b\n")
    rule = tmp_path / "rule.yaml"
    rule.write_text(f"{HEAD}alert: email\nemail: x@y\nsmtp_auth_file: account.yaml\n")
    options = read_rule(rule).rule.options_for("email")
    assert isinstance(options, EmailOptions)
    assert options.smtp_auth_file == str(tmp_path / "account.yaml")
    assert smtp_server(SHARED, options).login == "file"


def _email_error(tmp_path: Path, text: str) -> str:
    rule = tmp_path / "rule.yaml"
    rule.write_text(f"{HEAD}alert: email\nemail: x@y\n{text}")
    with pytest.raises(RuleError) as caught:
        read_rule(rule)
    return str(caught.value)


def test_a_bad_smtp_auth_file_is_refused_saying_what_to_write(tmp_path: Path) -> None:
    assert _email_error(tmp_path, "smtp_auth_file: nope.yaml\n") == (
        f"{tmp_path / 'rule.yaml'}:6: key 'smtp_auth_file': Value error, account file "
        f"{tmp_path / 'nope.yaml'} not found: give a YAML file with user and password "
        "(a relative path starts at the rule's folder)"
    )
    (tmp_path / "account.yaml").write_text("user: a\n")
    assert _email_error(tmp_path, "smtp_auth_file: account.yaml\n") == (
        f"{tmp_path / 'rule.yaml'}:6: key 'smtp_auth_file': Value error, smtp account file "
        f"needs user and password ({tmp_path / 'account.yaml'}): write `user: NAME` and "
        "`password: SECRET`"
    )


def test_a_client_certificate_must_load_with_its_key(tmp_path: Path) -> None:
    ca = certs.make_ca(tmp_path / "ca")
    other = certs.make_ca(tmp_path / "other")
    assert _email_error(tmp_path, f"smtp_key_file: {ca.key}\n") == (
        f"{tmp_path / 'rule.yaml'}:1: key '(rule)': Value error, smtp_key_file needs "
        "smtp_cert_file (the certificate it signs for)"
    )
    assert _email_error(tmp_path, f"smtp_cert_file: {ca.cert}\nsmtp_key_file: {other.key}\n") == (
        f"{tmp_path / 'rule.yaml'}:1: key '(rule)': Value error, smtp_cert_file {ca.cert} "
        "cannot be loaded with its key (SSLError): give a PEM certificate and its key in "
        "smtp_key_file, or one PEM file holding both"
    )
    read = read_rule_text(
        f"{HEAD}alert: email\nemail: x@y\nsmtp_cert_file: {ca.cert}\nsmtp_key_file: {ca.key}\n"
    )
    assert read.warnings == ()
