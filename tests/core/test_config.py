"""Rules as configuration: the example file is valid and states the defaults; bad keys get clear errors."""

from pathlib import Path

import pytest

from paymatch.config import Config, load_config
from paymatch.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_example_is_the_defaults():
    assert load_config(EXAMPLE) == Config()


def test_yaml_and_errors(tmp_path):
    y = tmp_path / "rules.yaml"
    y.write_text("match:\n  amount_tolerance_fen: 5\n  key_scope: [merchant_id]\n", encoding="utf-8")
    c = load_config(y)
    assert c.match.amount_tolerance_fen == 5 and c.match.key_scope == ["merchant_id"]
    bad = tmp_path / "bad.toml"
    bad.write_text('timezone = "Mars/Olympus"\n[report]\ngroup_by = ["colour"]\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(bad)
    msg = str(e.value)
    assert "bad.toml: key 'timezone'" in msg and "key 'report.group_by.0'" in msg and "Hint:" in msg
    broken = tmp_path / "broken.toml"
    broken.write_text("[match\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_method_rules_are_case_insensitive(tmp_path):
    """Loaded channel and method names are lower-case, so the rules are read lower-case too."""
    t = tmp_path / "c.toml"
    t.write_text('[methods]\nsettle_channel = { HuaBei = "Alipay", wechat = "wechat" }\ninternal = [" Balance"]\n',
                 encoding="utf-8")
    m = load_config(t).methods
    assert m.settle_channel["huabei"] == "alipay" and m.settle_channel["wechat"] == "wechat"
    assert m.internal.count("balance") == 1


def test_method_rules_add_to_the_defaults(tmp_path):
    """A config naming one method keeps every other method's default rule (a partial table used to replace them
    all: an Alipay order paid through WeChat became matched, a balance order order_only)."""
    from paymatch.config import DEFAULT_INTERNAL, DEFAULT_SETTLE_CHANNEL

    t = tmp_path / "c.toml"
    t.write_text('[methods]\ninternal = ["cash"]\n[methods.settle_channel]\nwechat = "wechat_hk"\nmy_pay = "lakala"\n',
                 encoding="utf-8")
    m = load_config(t).methods
    assert m.settle_channel == {**DEFAULT_SETTLE_CHANNEL, "wechat": "wechat_hk", "my_pay": "lakala"}
    assert m.internal == [*DEFAULT_INTERNAL, "cash"]
    # a default internal method given a channel is settled by it (no longer internal)
    t.write_text('[methods.settle_channel]\ngift_card = "wechat"\n', encoding="utf-8")
    m = load_config(t).methods
    assert m.settle_channel["gift_card"] == "wechat" and "gift_card" not in m.internal and "balance" in m.internal
