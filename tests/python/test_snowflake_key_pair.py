"""Snowflake's key-pair login from the profile: the private key's PEM text (SNOWFLAKE_PRIVATE_KEY in
profiles.yml.example, which the stack's secret supplies), decrypted with its passphrase, is the key the
connector signs its login with; a key that cannot be read is a configuration error naming the fix."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from support import REPO, dbt

from shopwarehouse.errors import ConfigurationError
from shopwarehouse.warehouse import connect
from shopwarehouse.warehouse.profile import read_target
from shopwarehouse.warehouse.snowflake import SnowflakeClient, SnowflakeCredentials

PASSPHRASE = "correct horse battery staple"  # noqa: S105 (the test's own key's)
TARGET = {"account": "acme-prod", "user": "LOADER", "database": "ANALYTICS", "warehouse": "TRANSFORMING"}
WHERE = 'Snowflake account acme-prod (user "LOADER"): '


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey, passphrase: str | None) -> str:
    """The key as `openssl genrsa | openssl pkcs8 -topk8 [-nocrypt]` writes it: PKCS#8 PEM."""
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, encryption).decode()


def der_base64(key: rsa.RSAPrivateKey, passphrase: str) -> str:
    encryption = serialization.BestAvailableEncryption(passphrase.encode())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, encryption)
    return base64.b64encode(der).decode()


@pytest.mark.parametrize(
    ("form", "passphrase"),
    [("pem", PASSPHRASE), ("pem", ""), ("der_base64", PASSPHRASE), ("file", PASSPHRASE)],
    ids=["encrypted-pem", "plain-pem", "encrypted-der-base64", "encrypted-pem-file"],
)
def test_the_connector_gets_the_profiles_private_key_decrypted(
    key: rsa.RSAPrivateKey, form: str, passphrase: str, tmp_path: Path
) -> None:
    # GIVEN a profile target with the key's content (PEM, or base64 DER as dbt-snowflake also reads it) or,
    # as dbt also allows, a key file, and the passphrase ('' for none, as the example's default)
    if form == "file":
        (tmp_path / "rsa_key.p8").write_text(pem(key, passphrase))
        given: dict[str, Any] = {"private_key_path": str(tmp_path / "rsa_key.p8")}
    else:
        given = {"private_key": pem(key, passphrase) if form == "pem" else der_base64(key, passphrase)}
    credentials = SnowflakeCredentials.from_profile(TARGET | given | {"private_key_passphrase": passphrase})
    # WHEN the client builds the connector's arguments
    options = credentials.connect_options()
    # THEN the connector is given the same key, decrypted (DER, which it loads with no passphrase)
    assert set(options) == {"account", "user", "warehouse", "private_key"}
    received = serialization.load_der_private_key(options["private_key"], password=None)
    assert isinstance(received, rsa.RSAPrivateKey)
    assert received.private_numbers() == key.private_numbers()
    # AND neither the key nor its passphrase shows in the credentials' repr (a log line, a traceback)
    assert PASSPHRASE not in repr(credentials)
    assert "PRIVATE KEY" not in repr(credentials)
    assert "private_key=" not in repr(credentials)


def test_a_password_login_gives_the_connector_no_key() -> None:
    options = SnowflakeCredentials.from_profile(TARGET | {"password": "pw"}).connect_options()
    assert set(options) == {"account", "user", "warehouse", "password"}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong passphrase", "the private key in SNOWFLAKE_PRIVATE_KEY cannot be decrypted with "
         "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE: set it to the passphrase the key was encrypted with"),
        ("no passphrase", "the private key in SNOWFLAKE_PRIVATE_KEY is encrypted: set "
         "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE to its passphrase"),
        ("passphrase for a plain key", "the private key in SNOWFLAKE_PRIVATE_KEY is not encrypted: leave "
         "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE empty"),
        ("not a key", "the private key in SNOWFLAKE_PRIVATE_KEY is not a private key: set "
         "SNOWFLAKE_PRIVATE_KEY to the content of the key file (PEM)"),
        ("a path for a key", "the private key in SNOWFLAKE_PRIVATE_KEY is not a private key: set "
         "SNOWFLAKE_PRIVATE_KEY to the content of the key file (PEM)"),
        ("both key and file", "the profile target sets both private_key and private_key_path: keep one "
         "(profiles.yml.example reads the key itself from SNOWFLAKE_PRIVATE_KEY)"),
        ("missing file", "the private key file /nonexistent/rsa_key.p8 cannot be read (No such file or "
         "directory): set private_key_path to the key file (PEM)"),
    ],
)  # fmt: skip
def test_a_private_key_that_cannot_be_read_is_a_configuration_error(
    key: rsa.RSAPrivateKey, case: str, message: str
) -> None:
    # GIVEN a profile target whose key, passphrase or key file is wrong
    encrypted, plain = pem(key, PASSPHRASE), pem(key, None)
    given = {
        "wrong passphrase": {"private_key": encrypted, "private_key_passphrase": "not the passphrase"},
        "no passphrase": {"private_key": encrypted, "private_key_passphrase": ""},
        "passphrase for a plain key": {"private_key": plain, "private_key_passphrase": PASSPHRASE},
        "not a key": {"private_key": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----"},
        "a path for a key": {"private_key": "/home/loader/.ssh/rsa_key.p8"},
        "both key and file": {"private_key": encrypted, "private_key_path": "/nonexistent/rsa_key.p8"},
        "missing file": {"private_key_path": "/nonexistent/rsa_key.p8"},
    }[case]
    # WHEN the client connects: it fails before it reaches the network
    with pytest.raises(ConfigurationError) as raised:
        SnowflakeClient(SnowflakeCredentials.from_profile(TARGET | given))
    # THEN with one line that says what is wrong and what to set, and gives away neither key nor passphrase
    assert str(raised.value) == WHERE + message
    assert PASSPHRASE not in str(raised.value)
    assert encrypted not in str(raised.value)


@pytest.mark.slow
def test_the_production_profile_logs_in_with_the_key_from_the_environment(
    key: rsa.RSAPrivateKey, fakesnow_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN profiles.yml.example's snowflake target, pointed at the fakesnow server, and the environment a
    # task gets from the stack's secret: the key's PEM text and its passphrase
    outputs = yaml.safe_load((REPO / "profiles.yml.example").read_text())["shopwarehouse"]["outputs"]
    target = outputs["snowflake"] | {"host": "127.0.0.1", "port": fakesnow_port, "protocol": "http"}
    profiles = {"shopwarehouse": {"target": "snowflake", "outputs": {"snowflake": target}}}
    (tmp_path / "profiles.yml").write_text(yaml.safe_dump(profiles))
    secret = pem(key, PASSPHRASE)
    env = {"DBT_PROFILES_DIR": str(tmp_path), "SNOWFLAKE_ACCOUNT": "fakesnow", "SNOWFLAKE_USER": "LOADER",
           "SNOWFLAKE_PRIVATE_KEY": secret, "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": PASSPHRASE,
           "SNOWFLAKE_DATABASE": "SHOPWAREHOUSE", "SNOWFLAKE_WAREHOUSE": "COMPUTE_WH"}  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # WHEN the loaders' client connects through the profile, as `shopwarehouse load` does
    rendered = read_target("snowflake")
    assert rendered["private_key"] == secret  # the PEM's line breaks survive the rendering
    with connect("snowflake", rendered) as client:
        # THEN the connector logged in with the key pair and the session answers (fakesnow accepts any
        # login: this shows the path from the environment to the connector, not Snowflake's check of it)
        assert isinstance(client, SnowflakeClient)
        assert client.connection.auth_class.__class__.__name__ == "AuthByKeyPair"
        assert client.execute("select 1") == [(1,)]
    # AND dbt, which the build step runs, logs in with the same target and key
    debug = dbt("debug", env=env | {"SHOPWAREHOUSE_TARGET": "snowflake"}, tmp_path=tmp_path)
    assert "Connection test: [OK connection ok]" in debug.stdout
