"""A shop that reads its Alipay 账务明细 with a profile of its own, under another name (and channel) than the built-in
``alipay_merchant_console_export``: the file is still known for what it is, by its layout, so its account's 业务明细
is not stored over it (each payment twice), and beside a stored 业务明细 it is read as fund flows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alipay_billgen import bill_zip, fund_bytes, fund_rows, sample_rows
from typer.testing import CliRunner

import paymatch
from paymatch.cli import app
from paymatch.workspace import Workspace


def own_profile(tmp_path: Path, channel: str) -> Path:
    """rules.toml naming a profile folder with the shop's ``shop_fund_detail``: the built-in 账务明细 profile under
    another name and ``channel``, one header more (more specific: it wins over the built-in)."""
    builtin = Path(paymatch.__file__).parent / "profiles" / "alipay_merchant_console_export.yaml"
    own = tmp_path / "profiles"
    own.mkdir()
    (own / "shop_fund_detail.yaml").write_text(
        builtin.read_text(encoding="utf-8").replace("name: alipay_merchant_console_export", "name: shop_fund_detail")
        .replace("channel: alipay\n", f"channel: {channel}\n")
        .replace("headers: [账务流水号, 业务流水号, 收入金额（+元）]", "headers: [账务流水号, 业务流水号, 收入金额（+元）, 业务类型]"),
        encoding="utf-8")
    cfg = tmp_path / "rules.toml"
    cfg.write_text(f'[bills]\nprofile_dirs = ["{own}"]\n', encoding="utf-8")
    return cfg


@pytest.mark.parametrize("channel", ["alipay", "alipay_cn"])
def test_a_trade_bill_over_a_detail_the_shops_own_profile_stored_is_refused(tmp_path, channel):
    """The lone 账务明细 ingested with the shop's profile, then the account's 业务明细 of that day: refused, nothing
    of it stored, the message naming the shop's profile. Before, only a batch of the built-in profile's name was
    looked for: the 业务明细 was stored and the workspace held every payment and refund twice."""
    cfg = own_profile(tmp_path, channel)
    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--workspace", w, "--config", str(cfg),
                              "--bills", str(tmp_path / "lone_账务明细.csv")])
    assert res.exit_code == 0 and "profile:shop_fund_detail" in res.output, res.output
    with Workspace(w) as ws:
        batch, meta = ws.con.execute("SELECT batch_id, meta FROM batches").fetchall()[0]
    assert json.loads(meta)["layout"] == "alipay_fundflow"  # what the file is, recorded with the batch
    res = runner.invoke(app, ["ingest", "--workspace", w, "--config", str(cfg),
                              "--bills", str(tmp_path / "trade.zip")])
    assert res.exit_code != 0
    said = "".join(res.output.split())  # (a long path is broken where the terminal width ends)
    for part in ("this Alipay 业务明细 of 2088021109625633 on 2019-09-16 would count each payment",
                 f"/lone_账务明细.csv, batch {batch},", "read alone by the shop_fund_detail profile",
                 "nothing was loaded"):
        assert "".join(part.split()) in said, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3  # the profile's, once


def test_the_shops_own_profile_of_another_channel_gives_way_to_a_stored_trade_bill(tmp_path):
    """The 业务明细 stored first, then the 账务明细 the shop's profile (channel ``alipay_cn``) reads: read as the
    account's fund flows, as the built-in profile's reading is. Before, only a profile bill of channel ``alipay`` was
    looked at again: the movements were stored as transactions beside the 业务明细, each payment twice."""
    cfg = own_profile(tmp_path, "alipay_cn")
    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "lone_账务明细.csv").write_bytes(fund_bytes(fund_rows()))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--workspace", w, "--config", str(cfg), "--bills", str(tmp_path / "trade.zip")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["ingest", "--workspace", w, "--config", str(cfg),
                              "--bills", str(tmp_path / "lone_账务明细.csv")])
    assert res.exit_code == 0 and "(fundflow)" in res.output, res.output
    with Workspace(w) as ws:
        assert ws.con.execute("SELECT count(*) FROM transactions").fetchall()[0][0] == 3  # the 业务明细's only
        assert ws.con.execute("SELECT count(*) FROM fund_flows").fetchall()[0][0] > 0


def test_a_detail_the_shops_profile_stored_before_layouts_were_recorded_is_known_by_its_file(tmp_path):
    """A workspace from before: the shop's profile's batch of the 账务明细 has no layout in its meta. Its file, read
    again where it was read from, says it is a 账务明细: the 业务明细 over it is refused. Gone from there, it cannot
    say, and the 业务明细 is stored (as before this check)."""
    import shutil

    cfg = own_profile(tmp_path, "alipay")
    (tmp_path / "trade.zip").write_bytes(bill_zip(sample_rows()))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "fund.zip").write_bytes(_zip({"20880211096256330156_账务明细.csv": fund_bytes(fund_rows())}))
    w = str(tmp_path / "w.duckdb")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", "--workspace", w, "--config", str(cfg),
                              "--bills", str(tmp_path / "in" / "fund.zip")])
    assert res.exit_code == 0 and "profile:shop_fund_detail" in res.output, res.output
    with Workspace(w) as ws:  # as stored before the layout was recorded
        batch, meta = ws.con.execute("SELECT batch_id, meta FROM batches").fetchall()[0]
        old = {k: v for k, v in json.loads(meta).items() if k != "layout"}
        ws.con.execute("UPDATE batches SET meta = ? WHERE batch_id = ?", [json.dumps(old), batch])
    res = runner.invoke(app, ["ingest", "--workspace", w, "--config", str(cfg), "--bills", str(tmp_path / "trade.zip")])
    assert res.exit_code != 0
    said = "".join(res.output.split())
    assert "".join(f"fund.zip!20880211096256330156_账务明细.csv, batch {batch}, read alone by the shop_fund_detail "
                   "profile".split()) in said, res.output
    shutil.move(tmp_path / "in", tmp_path / "moved")
    res = runner.invoke(app, ["ingest", "--workspace", w, "--config", str(cfg), "--bills", str(tmp_path / "trade.zip")])
    assert res.exit_code == 0 and "(alipay_detail)" in res.output, res.output


def _zip(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()
