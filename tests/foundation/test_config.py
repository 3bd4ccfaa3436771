"""Settings: the TOML file, the environment, ``env:VAR`` secrets and readable errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from worker.config import load_settings
from worker.errors import ConfigError

CONFIG = """
database_url = "sqlite:///from-file.db"
public_url = "https://sync.example.com"

[picqer]
url = "https://example.picqer.com/api/v1"
api_key = "env:TEST_PICQER_API_KEY"
webhook_secret = "env:TEST_PICQER_HOOK_SECRET"

[[sources]]
name = "shop-nl"
platform = "shopify"
url = "https://shop-nl.myshopify.com"
access_token = "env:TEST_SHOP_TOKEN"
tags = ["{source}", "{platform}", "webshop"]
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "ADMIN_TOKEN", "PICQER_SYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TEST_PICQER_API_KEY", "key-from-env")
    monkeypatch.setenv("TEST_PICQER_HOOK_SECRET", "hook-secret-from-env")
    monkeypatch.setenv("TEST_SHOP_TOKEN", "shop-token-from-env")
    path = tmp_path / "picqer-sync.toml"
    path.write_text(CONFIG)
    return path


def test_the_file_is_read_and_env_references_resolved(config_file: Path) -> None:
    settings = load_settings(config_file)

    assert settings.database_url == "sqlite:///from-file.db"
    assert settings.picqer.url == "https://example.picqer.com/api/v1/"  # a slash is added for joining
    assert settings.picqer.api_key.get_secret_value() == "key-from-env"
    source = settings.source("shop-nl")
    assert source.access_token is not None
    assert source.access_token.get_secret_value() == "shop-token-from-env"
    assert source.on_cancel_processing == "pause"  # the safe default


def test_secrets_never_show_in_reprs(config_file: Path) -> None:
    text = repr(load_settings(config_file)) + str(load_settings(config_file).model_dump())
    for secret in ("key-from-env", "hook-secret-from-env", "shop-token-from-env"):
        assert secret not in text


def test_the_environment_overrides_the_file_and_overrides_win(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/picqer")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/0")
    assert load_settings(config_file).database_url == "postgresql+psycopg://db/picqer"
    assert load_settings(config_file).redis_url == "redis://cache:6379/0"
    assert load_settings(config_file, database_url="sqlite:///x.db").database_url == "sqlite:///x.db"


def test_the_config_file_may_come_from_the_environment(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PICQER_SYNC_CONFIG", str(config_file))
    assert load_settings().public_url == "https://sync.example.com"


def test_a_missing_env_variable_is_named_without_leaking_values(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TEST_SHOP_TOKEN")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    assert "TEST_SHOP_TOKEN" in str(caught.value)
    assert "key-from-env" not in str(caught.value)


@pytest.mark.parametrize(
    ("replace", "by", "complaint"),
    [
        ('platform = "shopify"', 'platform = "prestashop"', "sources[shop-nl].platform"),
        ('name = "shop-nl"', 'name = "picqer"', "reserved"),
        ('name = "shop-nl"', 'name = "shop nl!"', "sources[shop nl!].name"),
    ],
)
def test_invalid_values_are_refused_with_the_field_named(
    config_file: Path, replace: str, by: str, complaint: str
) -> None:
    config_file.write_text(CONFIG.replace(replace, by))
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    assert complaint in str(caught.value)


def test_duplicate_source_names_are_refused(config_file: Path) -> None:
    config_file.write_text(CONFIG + CONFIG[CONFIG.index("[[sources]]") :])
    with pytest.raises(ConfigError, match="repeated: shop-nl"):
        load_settings(config_file)


def test_a_missing_file_and_an_unknown_source_are_config_errors(tmp_path: Path, config_file: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="unknown source 'nope'"):
        load_settings(config_file).source("nope")


def test_tag_rules_fill_in_source_and_platform(config_file: Path) -> None:
    from worker.sync.shop_orders import mapping_rules

    rules = mapping_rules(load_settings(config_file).source("shop-nl"))
    assert rules.tag_titles() == ["shop-nl", "shopify", "webshop"]


def test_a_source_without_its_platform_credentials_is_refused(config_file: Path) -> None:
    config_file.write_text(
        CONFIG
        + """
[[sources]]
name = "shop-be"
platform = "woocommerce"
url = "https://shop-be.example"
consumer_key = "ck"
"""
    )
    with pytest.raises(ConfigError, match=r"missing sources\[shop-be\]\.consumer_secret"):
        load_settings(config_file)


def test_shipping_profiles_are_read_per_source(config_file: Path) -> None:
    config_file.write_text(CONFIG + 'shipping_profiles = { "Free Shipping" = 821, "express" = 822 }\n')
    source = load_settings(config_file).source("shop-nl")
    assert source.shipping_profiles == {"Free Shipping": 821, "express": 822}


def test_the_example_config_in_deploy_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parents[2] / "deploy" / "config.example.toml"
    for name in (
        "PICQER_SYNC_ADMIN_TOKEN",
        "PICQER_API_KEY",
        "PICQER_WEBHOOK_SECRET",
        "SHOP_NL_CLIENT_ID",
        "SHOP_NL_CLIENT_SECRET",
        "SHOP_BE_KEY",
        "SHOP_BE_SECRET",
        "SHOP_BE_WEBHOOK_SECRET",
        "SHOP_DE_CONSUMER_KEY",
        "SHOP_DE_CONSUMER_SECRET",
        "SHOP_DE_ACCESS_TOKEN",
        "SHOP_DE_ACCESS_TOKEN_SECRET",
    ):
        monkeypatch.setenv(name, f"value-of-{name}")
    for name in ("DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(example)
    assert [source.platform for source in settings.sources] == ["shopify", "woocommerce", "magento"]
    assert [source.auth_scheme() for source in settings.sources] == ["client_credentials", "auto", "oauth1"]


def test_a_reference_template_prefixes_picqer_references(config_file: Path) -> None:
    from adapters.shopify.mapper import map_order
    from tests.conftest import samples_dir
    from worker.sync.shop_orders import mapping_rules

    config_file.write_text(CONFIG + 'reference = "NL-{number}"\n')
    rules = mapping_rules(load_settings(config_file).source("shop-nl"))
    order = json.loads((samples_dir() / "shopify-order-1.json").read_text())["order"] | {
        "financial_status": "paid"
    }
    mapped = map_order(order, rules)
    assert mapped.draft is not None
    assert mapped.draft.reference == "NL-#1001"
    assert mapped.shop_order_number == "#1001"


@pytest.mark.parametrize("template", ["NL-{nummer}", "no number at all", "{number}-{0}"])
def test_a_reference_template_must_use_known_placeholders(config_file: Path, template: str) -> None:
    config_file.write_text(CONFIG + f'reference = "{template}"\n')
    with pytest.raises(ConfigError, match=r"sources\[shop-nl\]\.reference"):
        load_settings(config_file)


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        (
            'platform = "magento"\naccess_token = "at"',
            "sources[shop-x].consumer_key (auth oauth1), sources[shop-x].consumer_secret (auth oauth1), "
            "sources[shop-x].access_token_secret (auth oauth1)",
        ),
        ('platform = "shopify"\nclient_id = "id"', "sources[shop-x].client_secret (auth client_credentials)"),
        ('platform = "shopify"', "sources[shop-x].access_token (auth access_token)"),
        (
            'platform = "woocommerce"\nauth = "oauth1"\nconsumer_key = "ck"',
            "sources[shop-x].consumer_secret (auth oauth1)",
        ),
        (
            'platform = "shopify"\nauth = "oauth1"\naccess_token = "t"',
            "auth 'oauth1' is not one of shopify's",
        ),
        ('platform = "magento"\nauth = "basic"\naccess_token = "t"', "auth 'basic' is not one of magento's"),
    ],
)
def test_each_auth_scheme_names_the_credentials_it_lacks(
    config_file: Path, source: str, complaint: str
) -> None:
    config_file.write_text(
        CONFIG + f'\n[[sources]]\nname = "shop-x"\nurl = "http://shop-x.example"\n{source}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    assert complaint in str(caught.value)


@pytest.mark.parametrize(
    ("source", "scheme"),
    [
        ('platform = "magento"\nauth = "bearer"\naccess_token = "at"', "bearer"),
        ('platform = "shopify"\nclient_id = "id"\nclient_secret = "cs"', "client_credentials"),
        ('platform = "shopify"\naccess_token = "shpat"', "access_token"),
        ('platform = "woocommerce"\nconsumer_key = "ck"\nconsumer_secret = "cs"', "auto"),
    ],
)
def test_a_complete_set_of_credentials_is_taken(config_file: Path, source: str, scheme: str) -> None:
    config_file.write_text(
        CONFIG + f'\n[[sources]]\nname = "shop-x"\nurl = "http://shop-x.example"\n{source}\n'
    )
    assert load_settings(config_file).source("shop-x").auth_scheme() == scheme


@pytest.mark.parametrize(
    ("where", "typo", "complaint"),
    [
        (
            "[picqer]\n",
            'apikey = "leaked-if-echoed"\n',
            "picqer.apikey: unknown key (did you mean 'api_key'?)",
        ),
        (
            '\n[[sources]]\nname = "shop-nl"\n',
            'tagz = ["leaked-if-echoed"]\n',
            "sources[shop-nl].tagz: unknown key (did you mean 'tags'?)",
        ),
        (
            '\n[[sources]]\nname = "shop-nl"\n',
            'acces_token = "leaked-if-echoed"\n',
            "sources[shop-nl].acces_token: unknown key (did you mean 'access_token'?)",
        ),
        (
            'public_url = "https://sync.example.com"\n',
            'databse_url = "leaked-if-echoed"\n',
            "databse_url: unknown key (did you mean 'database_url'?)",
        ),
    ],
)
def test_an_unknown_key_at_any_level_is_refused_with_the_nearest_known_one(
    config_file: Path, where: str, typo: str, complaint: str
) -> None:
    assert where in CONFIG
    config_file.write_text(CONFIG.replace(where, where + typo, 1))

    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)

    assert complaint in str(caught.value)
    assert str(config_file) in str(caught.value)
    assert "leaked-if-echoed" not in str(caught.value)  # a typo'd key may hold a secret


def test_a_second_source_is_named_by_its_own_name(config_file: Path) -> None:
    second = CONFIG[CONFIG.index("[[sources]]") :].replace("shop-nl", "my-shop")
    config_file.write_text(CONFIG + second + "tagz = []\n")
    with pytest.raises(ConfigError, match=r"sources\[my-shop\]\.tagz: unknown key \(did you mean 'tags'\?\)"):
        load_settings(config_file)


def test_a_toml_syntax_error_names_the_file_line_and_column(config_file: Path) -> None:
    config_file.write_text('database_url = "sqlite:///x.db"\npublic_url = = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    assert str(caught.value) == f"{config_file} is not valid TOML: line 2, column 14: Invalid value"


def test_without_a_file_or_environment_there_is_no_configuration(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the session's REDIS_NAMESPACE (a tuning variable) does not make a configuration
    with pytest.raises(ConfigError, match="no configuration: give a config file with --config FILE"):
        load_settings()


def test_the_environment_alone_can_configure_nested_keys(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.config import picqer_url_given

    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("PICQER__URL", "https://acme.picqer.com/api/v1/")
    monkeypatch.setenv("PICQER__API_KEY", "key-from-env")

    settings = load_settings()

    assert settings.picqer.url == "https://acme.picqer.com/api/v1/"
    assert settings.picqer.api_key.get_secret_value() == "key-from-env"
    assert picqer_url_given(settings)


def test_only_a_given_picqer_url_counts_as_given(config_file: Path) -> None:
    from worker.config import picqer_url_given

    assert picqer_url_given(load_settings(config_file))
    config_file.write_text('database_url = "sqlite:///x.db"\n')
    assert not picqer_url_given(load_settings(config_file))
