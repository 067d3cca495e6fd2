from pathlib import Path

import pytest

from app.core.config import ConfigError, load_config

PRODUCTION = {
    "DATABASE_URL": "postgres://user:pw@db.internal:5432/shop",
    "REDIS_URL": "rediss://:pw@cache.internal:6380",
    "SECRET_KEY": "s", "ENCRYPTION_KEY": "k1, k2", "BASE_URL": "https://flows.example.com/",
}


def test_heroku_style_urls_are_accepted():
    config = load_config(PRODUCTION)
    assert config.database_url == "postgresql+psycopg://user:pw@db.internal:5432/shop"
    assert config.redis_url == "rediss://:pw@cache.internal:6380"
    assert config.encryption_keys == ("k1", "k2")  # first one current, the rest for rotation
    assert config.base_url == "https://flows.example.com"
    assert not config.embedded


def test_heroku_redis_self_signed_tls_is_encrypted_without_verification_only_when_asked():
    import redis

    unverified = load_config({**PRODUCTION, "REDIS_TLS_VERIFY": "0"}).redis_url
    assert unverified == "rediss://:pw@cache.internal:6380?ssl_cert_reqs=none"
    assert redis.Redis.from_url(unverified).connection_pool.connection_kwargs["ssl_cert_reqs"] == "none"
    plain = {**PRODUCTION, "REDIS_URL": "redis://cache.internal:6379", "REDIS_TLS_VERIFY": "0"}
    assert load_config(plain).redis_url == "redis://cache.internal:6379"


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ENCRYPTION_KEY", "REDIS_URL", "BASE_URL"])
def test_production_refuses_to_start_without_a_required_setting(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(env)


def test_without_a_database_url_it_runs_embedded_under_storeflow_home(tmp_path):
    config = load_config({"STOREFLOW_HOME": str(tmp_path), "PORT": "8123"})
    assert config.embedded
    assert config.home == Path(tmp_path)
    assert config.base_url == "http://localhost:8123"


@pytest.mark.parametrize("name,value", [("DATABASE_URL", "mysql://x"), ("PORT", "eighty"),
                                        ("REDIS_URL", "http://redis"),
                                        ("ADMIN_PASSWORD", "admin"),
                                        ("TRUSTED_PROXY_HOPS", "all")])
def test_malformed_values_are_named(name, value):
    with pytest.raises(ConfigError, match=name):
        load_config({**PRODUCTION, name: value})


def test_the_shopify_address_can_point_at_a_local_stub_only_with_a_shop_placeholder():
    assert load_config({}).shopify_api_base_url == "https://{shop}"
    stub = load_config({"SHOPIFY_API_BASE_URL": "http://127.0.0.1:8081/{shop}/"})
    assert stub.shopify_api_base_url == "http://127.0.0.1:8081/{shop}"
    with pytest.raises(ConfigError, match="SHOPIFY_API_BASE_URL"):
        load_config({"SHOPIFY_API_BASE_URL": "http://127.0.0.1:8081"})


def test_the_jobs_page_password_is_optional_and_read_as_given():
    assert load_config(PRODUCTION).admin_password is None
    password = "correct horse battery staple"
    assert load_config({**PRODUCTION, "ADMIN_PASSWORD": password}).admin_password == password


def test_a_command_outside_a_checkout_explains_itself_and_creates_nothing(tmp_path, monkeypatch):
    """No DATABASE_URL and no checkout here: say where to run it, not start a second install."""
    from click.testing import CliRunner

    from app.cli import cli

    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "STOREFLOW_HOME"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["login-link", "--store", "1"])
    assert result.exit_code == 1
    assert f"{tmp_path} is not a Storeflow checkout" in result.output
    assert list(tmp_path.iterdir()) == []
