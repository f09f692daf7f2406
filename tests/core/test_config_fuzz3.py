"""Config files damaged as bench/fuzz_config3.py damages them (helper-112): each error names file, line and key."""

import time

import pytest

from paymatch.config import load_config
from paymatch.errors import ConfigError

BOMB = "l0: &l0 [a, b, c, d, e, f, g, h, i]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10))


def _error(tmp_path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    return str(e.value)


def test_yaml_key_given_twice_is_refused_by_line(tmp_path):
    # PyYAML keeps the last of two equal keys: the export's 门店编码 was read as the order number, silently
    msg = _error(tmp_path, "rules.yaml", "inputs:\n  orders:\n    columns:\n      order_no: 订单编号\n"
                                         "      order_no: 门店编码\n")
    assert "rules.yaml:5:" in msg and "'order_no' given twice (first on line 4)" in msg, msg


def test_yaml_merge_key_may_be_overridden(tmp_path):
    p = tmp_path / "rules.yaml"
    p.write_text("base: &b {amount_tolerance_fen: 1, cross_day_grace_minutes: 5}\nmatch:\n  <<: *b\n"
                 "  amount_tolerance_fen: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="key 'base'"):  # (an unknown top-level key, but read: no 'twice')
        load_config(p)


def test_yaml_anchor_overriding_a_merged_key_is_no_key_given_twice():
    # (helper-113) an anchored mapping that overrides a key it merges, itself merged into a later mapping: the later
    # mapping's merge flattened the anchor's node first, and its own override then read as a key given twice
    from paymatch.config_lines import safe_load

    text = "a:\n  b: &mid\n    <<: {x: 1}\n    x: 2\nc:\n  <<: *mid\n"
    assert safe_load(text) == {"a": {"b": {"x": 2}}, "c": {"x": 2}}


def test_yaml_key_given_twice_on_one_line_is_refused(tmp_path):
    # (helper-113) a flow mapping's two equal keys share a line: the check compared lines, and PyYAML kept the last
    msg = _error(tmp_path, "rules.yaml", "match: {amount_tolerance_fen: 1, amount_tolerance_fen: 50}\n")
    assert "rules.yaml:1:" in msg and "'amount_tolerance_fen' given twice (first on line 1)" in msg, msg


def test_yaml_anchor_bomb_is_refused_fast(tmp_path):
    # nine levels of nine aliases under a section kept as it is (instalments): the run's config hash walked all
    # 387 million values and the process was killed for its memory
    t0 = time.perf_counter()
    msg = _error(tmp_path, "rules.yaml", "instalments:\n" + "".join("  " + ln + "\n" for ln in BOMB.splitlines()))
    assert time.perf_counter() - t0 < 2
    assert "rules.yaml:" in msg and "anchor bomb" in msg, msg


def test_time_gap_too_large_is_refused_by_key(tmp_path):
    # was accepted, then a traceback (OverflowError: Python int too large to convert to C int) in the run
    msg = _error(tmp_path, "rules.toml", "[match]\nmax_time_gap_minutes = 9223372036854775807\n")
    assert "rules.toml:2: key 'match.max_time_gap_minutes'" in msg, msg


def test_blank_settle_channel_is_refused(tmp_path):
    # wechat = "" was taken: every wechat order then expected records of a channel named "", silently
    msg = _error(tmp_path, "rules.toml", '[methods.settle_channel]\nalipay = "alipay"\nwechat = ""\n')
    assert "rules.toml:3: key 'methods.settle_channel'" in msg and "'wechat'" in msg, msg
    msg = _error(tmp_path, "rules.toml", '[methods]\ninternal = ["balance", " "]\n')
    assert "rules.toml:2: key 'methods.internal'" in msg, msg


@pytest.mark.parametrize("header, key, line", [
    ("[inputs.order.columns]", "inputs.order", 3),          # was named by no line
    ("[inputs.orders.value.status]", "inputs.orders.value", 3),  # was named by [inputs.orders]' line
    ("[[fees.rate]]", "fees.rate", 3),                      # was named by [fees]' line
])
def test_a_key_only_a_table_header_names_is_named_by_its_line(tmp_path, header, key, line):
    text = f"[inputs.orders]\n[fees]\n{header}\nx = 1\n" if "fees" not in header else f"[inputs.orders]\n[fees]\n{header}\nchannel = \"w\"\n"
    msg = _error(tmp_path, "rules.toml", text)
    assert f"rules.toml:{line}: key '{key}'" in msg, msg


@pytest.mark.parametrize("name, text, line", [
    ("rules.toml", '[inputs.orders.columns]\norder_no = "订单编号"\npayed_at = "支付时间"\n', 3),
    ("rules.toml", '[inputs.orders.columns]\norder_no = "订单编号"\namount = []\n', 3),
    ("rules.toml", '[inputs.orders.values.status]\n"已完成" = "paid"\n"已支付" = "payed"\n', 3),
    ("rules.toml", '[methods.settle_channel]\nalipay = "alipay"\nwechat = ""\n', 3),
    ("rules.yaml", "inputs:\n  orders:\n    columns:\n      order_no: 订单编号\n      payed_at: 支付时间\n", 5),
    ("rules.yaml", "inputs:\n  orders:\n    values:\n      status:\n        已完成: paid\n        已支付: payed\n", 6),
])
def test_an_entry_a_table_check_quotes_is_named_by_its_line(tmp_path, name, text, line):
    # (the error named the table's line, [inputs.orders.columns], not the entry's)
    msg = _error(tmp_path, name, text)
    assert f"{name}:{line}: key '" in msg, msg


# --- a channel the config names that nothing reads (fuzz round 3's open item: said, with the key's line) ---------

ORDERS = ("order_no,store_id,merchant_id,channel,amount,status,created_at,paid_at\n"
          "E1,S01,1600000001,wechat,100.00,paid,2026-11-20 10:00:00,2026-11-20 10:00:05\n")
TX = ("channel,merchant_id,channel_tx_id,order_no,type,amount,fee,status,occurred_at,bill_date\n"
      "wechat,1600000001,WX1,E1,payment,100.00,0.90,success,2026-11-20 10:00:06,2026-11-20\n")


def _run(tmp_path, config: str) -> tuple[str, dict]:
    import json

    from typer.testing import CliRunner

    from paymatch.cli import app

    (tmp_path / "o.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "t.csv").write_text(TX, encoding="utf-8")
    (tmp_path / "rules.toml").write_text(config, encoding="utf-8")
    r = CliRunner().invoke(app, ["reconcile", "--orders", str(tmp_path / "o.csv"), "--transactions",
                                 str(tmp_path / "t.csv"), "--config", str(tmp_path / "rules.toml"), "--out",
                                 str(tmp_path / "out")], terminal_width=400)
    assert r.exit_code == 0, r.output
    return r.output, json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))


def test_a_fee_rate_of_an_unknown_channel_is_said_with_its_line(tmp_path):
    # "wehcat": the rate applied to nothing, the 0.90 fee (0.6 % is 0.60) went unchecked and nothing said so
    out, summary = _run(tmp_path, '[fees]\n[[fees.rates]]\nchannel = "wehcat"\nrate = "0.6%"\n')
    assert "rules.toml:3: key 'fees.rates.0.channel' names channel 'wehcat'" in " ".join(out.split()), out
    assert summary["configured_channels_unknown"][0]["channel"] == "wehcat"


def test_a_settle_channel_of_an_unknown_channel_is_said_when_its_orders_exist(tmp_path):
    out, summary = _run(tmp_path, '[methods.settle_channel]\nwechat = "wechta"\nmeituan = "meituna"\n')
    flat = " ".join(out.split())
    assert "rules.toml:2: key 'methods.settle_channel.wechat' names channel 'wechta'" in flat, out
    assert "meituna" not in flat  # (no meituan order in the run: nothing it changes)
    assert [u["key"] for u in summary["configured_channels_unknown"]] == ["methods.settle_channel.wechat"]


def test_a_known_channel_without_records_is_not_said(tmp_path):
    # a rate for a channel the shop sold nothing through today is no typo: no note every day
    out, summary = _run(tmp_path, '[fees]\n[[fees.rates]]\nchannel = "jd_pay"\nrate = "0.6%"\n')
    assert "configured_channels_unknown" not in summary and "names channel" not in out


def test_a_settle_channel_of_the_shops_own_flow_profile_is_not_said(tmp_path):
    # (helper-113) a method settled by the shop's own instalment-flow profile: its flows are no transactions, and
    # its channel was said unknown ("a typo?") although [instalments] flow_profile_dirs reads it
    from paymatch.channels.profiles import builtin_flow_profiles

    src = next(p for p in builtin_flow_profiles() if p.name == "alipay_cycle_deductions")
    (tmp_path / "flows").mkdir()
    text = open(src._path, encoding="utf-8").read().replace("name: alipay_cycle_deductions", "name: my_fq")
    (tmp_path / "flows" / "my_fq.yaml").write_text(text.replace("channel: alipay_pay_later", "channel: mybank_fq"),
                                                   encoding="utf-8")
    out, summary = _run(tmp_path, '[methods.settle_channel]\nwechat = "mybank_fq"\n'
                                  '[instalments]\nflow_profile_dirs = ["flows"]\n')
    assert "configured_channels_unknown" not in summary and "names channel" not in out, out


@pytest.mark.parametrize("name, head", [("rules.toml", "a = "), ("rules.yaml", "a: ")])
def test_values_nested_thousands_deep_are_refused_naming_the_file(tmp_path, name, head):
    # (helper-113) both parsers recurse: a RecursionError traceback, no file named
    msg = _error(tmp_path, name, head + "[" * 3000 + "]" * 3000 + "\n")
    assert name in msg and "nested too deeply" in msg, msg
