"""Every public module, class, function and method of paymatch has a docstring (one test for the whole package)."""

import importlib
import inspect
import pkgutil

import paymatch


def _modules():
    for m in pkgutil.walk_packages(paymatch.__path__, "paymatch."):
        if not m.name.endswith("__main__"):
            yield m.name


def test_public_api_documented():
    missing = []
    for name in _modules():
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue  # optional extras (e.g. pyspark) are checked where installed
        if not (mod.__doc__ or "").strip():
            missing.append(name)
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                if not (obj.__doc__ or "").strip():
                    missing.append(f"{name}.{attr}")
            if inspect.isclass(obj):
                for meth, fn in vars(obj).items():
                    if not meth.startswith("_") and inspect.isfunction(fn) and not (fn.__doc__ or "").strip():
                        missing.append(f"{name}.{attr}.{meth}")
    assert not missing, "missing docstrings: " + ", ".join(missing)


def _readme_command_lines() -> list[str]:
    """Every `paymatch …` line the README shows: the ```bash blocks (continuation lines joined, comments cut) and
    inline code such as `.venv/bin/paymatch demo --stores 300 …`."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        cur = ""
        for ln in block.splitlines():
            ln = "" if ln.lstrip().startswith("#") else re.sub(r"\s+#.*$", "", ln).strip()
            if not ln:
                continue
            cur = f"{cur} {ln}" if cur else ln
            if cur.endswith("\\"):
                cur = cur[:-1]
                continue
            lines.append(cur)
            cur = ""
    lines += re.findall(r"`((?:\.venv/bin/)?paymatch [^`]+)`", text)
    return [re.sub(r"^\.venv/bin/", "", ln) for ln in lines if re.match(r"(\.venv/bin/)?paymatch ", ln)]


def test_every_readme_command_line_parses():
    """A user copies the README's command lines: each names a command that exists, only options it has (optional
    parts in [brackets] included) and every option it requires. Values are not checked here (the files are examples)."""
    import shlex

    import typer

    from paymatch.cli import app

    lines = _readme_command_lines()
    assert len(lines) >= 15, lines  # the "Using it" block, the ERP example, make demo's bigger run
    bad = []
    for line in lines:
        args = shlex.split(line.replace("[", " ").replace("]", " "))[1:]
        cmd = typer.main.get_command(app)
        while hasattr(cmd, "commands") and args and not args[0].startswith("-"):  # a group: descend
            name = args.pop(0)
            if name not in cmd.commands:
                bad.append(f"{line}: no command {name!r}")
                break
            cmd = cmd.commands[name]
        else:
            known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
            given = {a.split("=")[0] for a in args if a.startswith("--")} - {"--help"}
            bad += [f"{line}: {cmd.name} has no option {o}" for o in sorted(given - known)]
            bad += [f"{line}: {cmd.name} requires {p.opts[0]}" for p in cmd.params
                    if p.required and not given & set(p.opts)]
    assert not bad, "\n".join(bad)


def test_the_readme_erp_example_runs_as_written(tmp_path, monkeypatch):
    """The README's ERP section: its TOML block as rules.toml, exports with the headers it names (the orders' header
    on line 3 under two title lines, full-width 实付金额（元）, the word 已完成), a WeChat bill in bills/, and its two
    command lines run as written. The example's refunds export had no mapping in the TOML shown, so the command as
    written was refused ("no row … has the canonical refunds columns")."""
    import csv
    import re
    import shlex
    import sys
    from pathlib import Path

    import openpyxl
    from typer.testing import CliRunner

    from paymatch.cli import app

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "channels" / "wechat"))
    from wechat_billgen import payment, refund, trade_bill

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### ERP exports (column mapping)"):]
    (tmp_path / "rules.toml").write_text(re.search(r"```toml\n(.*?)```", section, re.S).group(1), encoding="utf-8")
    head = ["订单编号", "门店编码", "商户号", "支付方式", "实付金额（元）", "订单状态", "下单时间", "支付时间"]
    rows = [["ORD000001", "S01", "1900000109", "微信支付", "100.00", "已完成", "2026/11/20 09:59", "2026/11/20 10:00"],
            ["ORD000002", "S01", "1900000109", "微信支付", "50.00", "已完成", "2026/11/20 09:59", "2026/11/20 10:00"]]
    wb = openpyxl.Workbook()
    for r in [["订单导出"], ["导出时间：2026-11-21 08:00"], head, *rows]:
        wb.active.append(r)
    wb.save(tmp_path / "订单导出.xlsx")
    with open(tmp_path / "订单导出.csv", "w", encoding="gbk", newline="") as f:
        csv.writer(f).writerows([["订单导出"], ["导出时间：2026-11-21 08:00"], head, *rows])
    with open(tmp_path / "退款导出.csv", "w", encoding="gbk", newline="") as f:
        csv.writer(f).writerows([["退款单号", "订单编号", "退款金额", "申请时间", "退款状态"],
                                 ["RF000002", "ORD000002", "20.00", "2026/11/20 11:00", "退款成功"]])
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "wx_all_20261120.csv").write_bytes(
        trade_bill([payment(1, 10000), payment(2, 5000), refund(2, 2000, time="2026-11-20 10:00:00")]))

    commands = [ln for ln in _readme_command_lines() if "订单导出" in ln]
    assert len(commands) == 2, commands
    monkeypatch.chdir(tmp_path)
    for line in commands:
        res = CliRunner().invoke(app, shlex.split(line)[1:])
        assert res.exit_code == 0, (line, res.output)
    with open(tmp_path / "out" / "outcomes.csv", encoding="utf-8") as f:
        kinds = {r["outcome_id"]: r["kind"] for r in csv.DictReader(f)}
    assert kinds == {"P-ORD000001": "matched", "P-ORD000002": "matched", "R-RF000002": "refund_matched"}, kinds


def test_every_help_text_is_shown_whole():
    """`--help` shows each option's help and each command's description as written: rich markup read the
    `[spark]` of reconcile's --spark-master ("the config's [spark] master") as a style tag and dropped it. Every
    option has a help text (demo's --orders-per-store-day had none)."""
    import typer
    from typer.testing import CliRunner

    from paymatch.cli import app

    def walk(cmd, path):
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])
        if not hasattr(cmd, "commands"):
            yield path, cmd

    lost = []
    for path, cmd in walk(typer.main.get_command(app), []):
        shown = " ".join(CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).output.split())
        lost += [(path, p.name, "no help") for p in cmd.params if not getattr(p, "help", None)]
        texts = [p.help for p in cmd.params if getattr(p, "help", None)] + (cmd.help or "").split("\n\n")
        lost += [(path, t) for t in texts if " ".join(t.replace("\\[", "[").split()) not in shown]
    assert not lost, lost
