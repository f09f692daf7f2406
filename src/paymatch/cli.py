"""The ``paymatch`` command line: thin — check input, call the library, render."""

from __future__ import annotations

import datetime as dt
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .cli_common import console, handle_errors as _errors
from .config import load_config
from .errors import ConfigError, LoadError, PaymatchError

app = typer.Typer(help="paymatch: reconcile orders and refunds with what payment channels report.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

Engine = Annotated[str, typer.Option("--engine", help="duckdb (embedded, default) or spark")]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="rules file (TOML or YAML)", exists=True, dir_okay=False)]


class _Steps:
    """Progress callback: shows each step of a long run with its elapsed time."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.status = console.status("starting", spinner="dots")

    def __call__(self, step: str) -> None:
        console.log(f"[dim]{time.perf_counter() - self.t0:6.1f}s[/dim] {escape(step)}")
        self.status.update(escape(step))

    def __enter__(self):
        self.status.__enter__()
        return self

    def __exit__(self, *exc):
        self.status.__exit__(*exc)


def _period(date: Optional[str], date_from: Optional[str], date_to: Optional[str],
            option: str = "--date") -> tuple[dt.date, dt.date] | None:
    """The run's window from --date or --from/--to; a bad date names its option (``--from: bad date '2026/11/01'``):
    a command given three dates should not leave the user guessing which one is wrong."""
    from .reports.periods import parse_date

    if date:
        d = parse_date(date, option)
        return d, d
    if date_from or date_to:
        a = parse_date(date_from, "--from") if date_from else None
        b = parse_date(date_to, "--to") if date_to else None
        a, b = a or b, b or a
        if b < a:
            raise PaymatchError(f"--to {b} is before --from {a}")
        return a, b
    return None


@app.command()
@_errors
def reconcile(
    orders: Annotated[Optional[Path], typer.Option(help="shop orders: canonical CSV, or an ERP export (CSV/.xlsx) mapped in the config's inputs.orders section", dir_okay=False)] = None,
    refunds: Annotated[Optional[Path], typer.Option(help="shop refunds: canonical CSV, or an ERP export (CSV/.xlsx) mapped in the config's inputs.refunds section", dir_okay=False)] = None,
    transactions: Annotated[Optional[list[Path]], typer.Option(help="channel transactions CSV (repeatable; a bill as delivered is read as --bills)")] = None,
    bills: Annotated[Optional[list[Path]], typer.Option(help="folder/file of channel bills as delivered (repeatable)")] = None,
    out: Annotated[Optional[Path], typer.Option(help="output folder for outcomes.csv and summary.json (a file run without it: ./paymatch-out; a workspace run without it only stores the results)")] = None,
    engine: Engine = "duckdb",
    workspace: Annotated[Optional[Path], typer.Option(help="DuckDB workspace file")] = None,
    config: ConfigOpt = None,
    date: Annotated[Optional[str], typer.Option(help="bill date (YYYY-MM-DD): the workspace's day to reconcile, or a file run's window")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="first bill date of a range")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="last bill date of a range")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="input encoding (default: detect UTF-8 / GBK)")] = None,
    spark_master: Annotated[Optional[str], typer.Option(help="Spark master URL, e.g. spark://host:7077 (default: PAYMATCH_SPARK_MASTER, the config's \\[spark] master, else local[2])")] = None,
    instalments: Annotated[Optional[list[Path]], typer.Option(help="per-period instalment flows (周期扣款): canonical CSV, a channel's flow export (profile), an archive or a folder (repeatable); with --workspace they are stored in it first, and a workspace run matches every stored flow up to --as-of")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="date that decides which instalment periods are due (default today)")] = None,
) -> None:
    """Reconcile orders/refunds with channel records; write outcomes.csv and summary.json.

    File mode: --orders/--refunds/--transactions/--bills (the window: the bill dates the transactions cover, or
    --date / --from --to). Workspace mode: --workspace W --date D (or --from/--to) reconciles what W holds and
    replaces that period's stored results.
    """
    from .cli_render import summary_tables
    from .run import reconcile_files, reconcile_workspace

    from .backends import ENGINES

    if engine not in ENGINES:  # said before any file is read (it was said only after every input had loaded)
        raise PaymatchError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if spark_master is not None and engine != "spark":
        raise PaymatchError(f"--spark-master is for --engine spark (this run's engine is {engine})")
    cfg = load_config(config)
    if engine == "spark":  # the config's [spark] master, exchange folder and properties; --spark-master wins
        from .backends.spark_backend import configure

        configure(cfg.spark)
    period = _period(date, date_from, date_to)
    due = _period(as_of, None, None, "--as-of")[0] if as_of else None
    transactions, bills = _route(transactions, bills)
    instalments = list(instalments) if instalments else None  # every path given (was: the last one only)
    with _Steps() as steps:
        if orders is not None:
            if workspace is not None and period is not None:
                raise PaymatchError("--date / --from --to with files and --workspace: the files' rows would be "
                                    "stored as that period's results whatever their days\nHint: paymatch ingest "
                                    "--workspace W … the files, then paymatch reconcile --workspace W --date D")
            parsed = _scan_bills(bills or [], workspace, cfg.bills.profile_dirs) if bills else []
            res = reconcile_files(orders, refunds, transactions, out or Path("paymatch-out"),
                                  config=cfg, engine=engine, workspace=workspace, encoding=encoding,
                                  spark_master=spark_master, progress=steps, extra_bills=parsed,
                                  instalments=instalments, as_of=due, period=period)
        elif workspace is not None and period is not None:
            if workspace.is_dir():
                raise PaymatchError(f"{workspace}: a folder, not a workspace file\nHint: --workspace names the "
                                    "workspace's DuckDB file (e.g. W.duckdb)")
            if not workspace.is_file():
                raise PaymatchError(f"{workspace}: no such workspace file\nHint: load it first with paymatch "
                                    "ingest --workspace … (or give --orders/--transactions files)")
            res = reconcile_workspace(workspace, period[0], period[1], out, config=cfg, engine=engine,
                                      spark_master=spark_master, progress=steps, instalments=instalments, as_of=due)
        else:
            raise PaymatchError("nothing to reconcile\nHint: give --orders (with --transactions/--bills), "
                                "or --workspace with --date / --from --to")
    summary_tables(console, res.summary)
    if res.outcomes_csv:
        console.print(f"outcomes: {res.outcomes_csv}\nsummary:  {res.summary_json}")


def _route(transactions: Optional[list[Path]], bills: Optional[list[Path]]) -> tuple[list[Path], list[Path]]:
    """--transactions inputs that are bills as delivered (a WeChat bill, a folder, an archive) join --bills."""
    from .channels.route import split_inputs

    canonical, delivered, skipped = split_inputs(list(transactions or []))
    for p, why in skipped:
        console.print(f"{p}: left out, {why}")
    for p, what in delivered:
        console.print(f"{p}: {what} as delivered, read as --bills")
    return canonical, [*(bills or []), *(p for p, _ in delivered)]


def _stored_alipay_trade_days(workspace: Optional[Path]) -> set:
    """(merchant number, day) of the Alipay 业务明细 rows a workspace holds: an Alipay 账务明细 of those days loaded now
    is the account's fund flows, not its transactions again (``detect.scan_paths``)."""
    if workspace is None or not Path(workspace).is_file():
        return set()
    from .workspace import Workspace

    with Workspace(workspace) as ws:
        return set(ws.con.execute(
            "SELECT DISTINCT t.merchant_id, t.bill_date FROM transactions t JOIN batches b USING (batch_id) "
            "WHERE t.channel = 'alipay' AND t.merchant_id IS NOT NULL AND t.bill_date IS NOT NULL "
            "AND json_extract_string(b.meta, '$.kind') = 'alipay_detail'").fetchall())


def _trade_bill_over_fund_detail(ws, parsed: list) -> None:
    """``ingest``: an Alipay 业务明细 over its account's 账务明细 stored as transactions is refused, nothing stored;
    the same 业务明细 stored already is a warning (``bill_doubles.fund_detail_doubles``)."""
    from .bill_doubles import FIX, fund_detail_doubles

    refused, warned = fund_detail_doubles(ws, parsed)
    for said in warned:
        console.print(f"warning: {said} (stored before; duplicate_record and refund_channel_only outcomes of those "
                      f"days come from it)\nHint: {FIX}", markup=False)
    if refused:
        raise PaymatchError("\n".join(refused) + f"; nothing was loaded\nHint: {FIX}")


def _scan_bills(paths: list[Path], workspace: Optional[Path], profile_dirs: list[str] = (),
                what: str = "nothing was reconciled", *, stored: bool = False) -> list:
    """Parse bill files as delivered (the shop's own profiles in ``profile_dirs`` first, then the built-in ones);
    unknown or untied bills are reported (and quarantined in a workspace). ``stored``: the bills join what the
    workspace holds (ingest), whose Alipay 业务明细 days count as given (``_stored_alipay_trade_days``)."""
    from .channels.detect import scan_paths

    good, rejected = [], []
    # asked only when a bill may be a 账务明细 to read beside them (not on every ingest of a big workspace)
    days = (lambda: _stored_alipay_trade_days(workspace)) if stored and workspace is not None else set()
    for p, scan in zip(paths, scan_paths(paths, profile_dirs, days)):
        good += scan.bills
        rejected += scan.rejected
        if not scan.bills and not scan.rejected:
            # nothing read and nothing refused: a file named on the command line that is no bill (README.md, a PDF)
            # is a mistake, said as one; a folder without any bill (a day without trades, or the wrong folder) is
            # said, not passed over in silence
            why = "; ".join(f"{name}: {reason}" for name, reason in scan.skipped[:5])
            if Path(p).is_file():
                raise PaymatchError(f"{p}: left out as {why.split(': ', 1)[-1] if why else 'no bill'}; {what}\n"
                                    "Hint: --bills takes channel bills as downloaded (CSV, .gz, .zip, .xlsx, folders)")
            console.print(f"{p}: no bill found" + (f" (left out: {why})" if why else " (an empty folder)"))
    if rejected:
        if workspace is not None:
            from .workspace import Workspace

            with Workspace(workspace) as ws:
                for r in rejected:
                    path = Path(r.path) if r.path else None
                    data = path.read_bytes() if path is not None and path.is_file() else r.name.encode()
                    ws.quarantine(channel=r.channel or "?", source=r.name, payload=data, reason=str(r.error))
        # a problem that names its file already (file:line [field]) is not prefixed with the name again
        msgs = "\n".join(f"  {r.error}" if str(r.error).startswith(r.name) else f"  {r.name}: {r.error}" for r in rejected)
        where = " (kept aside in the workspace's quarantine table)" if workspace is not None else ""
        raise PaymatchError(f"{len(rejected)} bill file(s) rejected{where}; {what}:\n{msgs}")
    return good


@app.command()
@_errors
def ingest(
    workspace: Annotated[Path, typer.Option(help="DuckDB workspace file (created if absent)")],
    orders: Annotated[Optional[list[Path]], typer.Option(help="orders: canonical CSV or a mapped ERP export, CSV/.xlsx (repeatable)")] = None,
    refunds: Annotated[Optional[list[Path]], typer.Option(help="refunds: canonical CSV or a mapped ERP export, CSV/.xlsx (repeatable)")] = None,
    transactions: Annotated[Optional[list[Path]], typer.Option(help="canonical transactions CSV (repeatable; a bill as delivered is read as --bills)")] = None,
    bills: Annotated[Optional[list[Path]], typer.Option(help="channel bill files/folders as delivered (repeatable)")] = None,
    instalments: Annotated[Optional[list[Path]], typer.Option(help="per-period instalment flows (周期扣款): canonical CSV, a channel's flow export (profile), an archive or a folder (repeatable)")] = None,
    config: ConfigOpt = None,
    encoding: Annotated[Optional[str], typer.Option(help="input encoding (default: detect UTF-8 / GBK)")] = None,
) -> None:
    """Load files into a workspace (with provenance). Each file is all-or-nothing; the same file twice changes nothing."""
    from .instalment_run import read_flows
    from .run import flows_loaded
    from .sources.mapping import mapped_input
    from .workspace import Workspace

    if not (orders or refunds or transactions or bills or instalments):
        raise PaymatchError("nothing to ingest: give --orders/--refunds/--transactions/--bills/--instalments\n"
                            "Hint: e.g. paymatch ingest --workspace W.duckdb --orders orders.csv --bills bills/")
    cfg = load_config(config)
    scope = tuple(cfg.match.key_scope)
    transactions, bills = _route(transactions, bills)
    parsed = _scan_bills(bills, workspace, cfg.bills.profile_dirs, "nothing was loaded", stored=True) if bills else []
    stored: list[str] = []
    with Workspace(workspace) as ws:
        if any(b.channel == "alipay" and b.kind == "alipay_detail" for b in parsed):  # (no cost for other bills)
            _trade_bill_over_fund_detail(ws, parsed)  # before anything is stored: a refusal leaves it as it was
        for kind, files in (("orders", orders), ("refunds", refunds), ("transactions", transactions)):
            for f in files or []:
                try:
                    with mapped_input(kind, f, cfg, encoding=encoding) as m:  # an ERP export ([inputs]) or .xlsx
                        for note in m.notes:
                            console.print(note, markup=False)
                        r = ws.ingest_csv(kind, m.path, encoding=m.encoding,
                                          key_scope=scope if kind != "transactions" else (), source=m.source,
                                          line_offset=m.line_offset, variant=m.variant, lines=m.lines)
                except LoadError as e:
                    raise e.after(stored) from None
                console.print(f"{kind:12} {f}: " + _loaded(r, r.batch_id))
                if not r.skipped:
                    stored.append(f"{kind} {f}")
        for bill in parsed:
            r = ws.store_bill(bill)
            console.print(f"{bill.channel:12} {bill.source}: " + _loaded(r, bill.kind))
            if not r.skipped:
                stored.append(f"{bill.kind} {bill.source}")
        for path in instalments or []:
            try:  # every file under the path is read (and checked) before any is stored
                files = read_flows(path, cfg, hashes=True)
            except LoadError as e:
                raise e.after(stored) from None
            for f in files:
                r = ws.ingest_flows(f, key_scope=tuple(cfg.match.key_scope))
                console.print(f"{'instalments':12} {f.name}: " + flows_loaded(r), markup=False)
                if not r.skipped:
                    stored.append(f"instalment flows {f.name}")


def _loaded(r, what: str) -> str:
    if r.skipped:
        return "already loaded, unchanged"
    why = ("an export loaded since says otherwise, kept" if r.kind in ("orders", "refunds")
           else "already stored with the same values, not added")
    again = f"; {r.already_stored:,} of them {why}" if r.already_stored else ""
    return f"{r.rows:,} rows ({what}{again})"


@app.command()
@_errors
def demo(
    out: Annotated[Path, typer.Option(help="folder for the generated data and the results")] = Path("demo-out"),
    stores: Annotated[int, typer.Option(min=1, max=5000, help="number of stores")] = 300,
    days: Annotated[int, typer.Option(min=1, max=62, help="number of days")] = 7,
    per_store_day: Annotated[int, typer.Option("--orders-per-store-day", min=1, max=100000, help="orders per store and day")] = 300,
    engine: Engine = "duckdb",
    config: ConfigOpt = None,
) -> None:
    """Generate a realistic chain (defects included, with ground truth), reconcile it and report accuracy.

    A 300-store month: --stores 300 --days 30 --orders-per-store-day 1100 (about 10 million orders).
    Without --config the chain's own rules are used (OUT/data/rules.toml: its contracted fee rates).
    """
    from .cli_render import accuracy_table, summary_tables
    from .demo import accuracy, generate
    from .outcomes_store import dump_summary
    from .run import reconcile_files
    from .workspace import Workspace

    cfg = load_config(config)
    with _Steps() as steps:
        steps(f"generating {stores} stores × {days} days × {per_store_day} orders")
        files = generate(out / "data", stores=stores, days=days, per_store_day=per_store_day)
        steps(f"generated {files.counts['orders']:,} orders, {files.counts['transactions']:,} channel records, "
              f"{files.counts['refunds']:,} refunds in {out / 'data'}")
        if config is None:  # the chain's own rules: its contracted fee rates
            cfg = load_config(files.rules)
            steps(f"rules: {files.rules}")
        t0 = time.perf_counter()
        res = reconcile_files(files.orders, files.refunds, [files.transactions], out, config=cfg, engine=engine,
                              progress=steps)
        took = time.perf_counter() - t0
    summary_tables(console, res.summary)
    with Workspace(None) as ws:
        ws.con.execute("CREATE TEMP TABLE o AS SELECT * FROM read_csv(?, all_varchar=true)", [str(res.outcomes_csv)])
        acc = accuracy(ws.con, "o", files.expected, fees_checked=bool(cfg.fees.rates))
    accuracy_table(console, acc)
    dump_summary(acc, out / "accuracy.json")  # written whole, then renamed (never a half file beside the outcomes)
    console.print(f"reconciled in {took:.1f}s\noutcomes: {res.outcomes_csv}\nsummary:  {res.summary_json}\n"
                  f"accuracy: {out / 'accuracy.json'}")


@app.command()
@_errors
def pull(
    workspace: Annotated[Path, typer.Option(help="DuckDB workspace file (created if absent)")],
    config: Annotated[Path, typer.Option("--config", help="rules file with the channel accounts (channels.wechat, channels.alipay, channels.unionpay sections)", exists=True, dir_okay=False)],
    date: Annotated[str, typer.Option(help="bill date (YYYY-MM-DD)")],
    channel: Annotated[Optional[str], typer.Option(help="wechat, alipay or unionpay")] = None,
    all_accounts: Annotated[bool, typer.Option("--all", help="every configured account")] = False,
) -> None:
    """Download a day's bills through each channel's signed API, check them and store them with their hash."""
    from .accounts import accounts
    from .pull import pull_day
    from .workspace import Workspace

    if not channel and not all_accounts:
        raise PaymatchError("say which bills to pull\nHint: --channel wechat|alipay|unionpay, or --all")
    day = _period(date, None, None)[0]
    cfg = load_config(config)
    try:
        accts = accounts(cfg, config.parent, None if all_accounts else channel)
    except ConfigError as e:
        raise _in_file(config, e) from None
    with _Steps() as steps, Workspace(workspace) as ws:
        steps(f"pulling {len(accts)} account(s) for {day}")
        results = pull_day(ws, accts, day)
    failed = [r for r in results if r.error]
    for r in results:
        state = f"[red]failed[/red]: {escape(r.error)}" if r.error else (
            f"no bill: {escape(r.note)}" if r.note else
            "already stored, unchanged" if r.skipped else f"{r.rows:,} rows stored")
        console.print(f"{r.channel:7} {r.account:18} {r.kind:14} {state}")
    if failed:
        raise PaymatchError(f"{len(failed)} bill(s) could not be pulled; they are kept in the workspace's quarantine")


@app.command()
@_errors
def serve(
    workspace: Annotated[Path, typer.Option(help="DuckDB workspace file the notifications are stored in (shared: "
                                                 "the other commands use it between requests)")],
    config: Annotated[Path, typer.Option("--config", help="rules file with the channel accounts", exists=True, dir_okay=False)],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
) -> None:
    """Receive real-time payment/refund notifications (signatures verified) and store them in the workspace."""
    import uvicorn

    from .web.app import create_app

    # opened per request: ingest, pull, reconcile and report use the same file between notifications
    new_file = not workspace.exists()
    try:
        api = create_app(workspace, load_config(config), config.parent)
    except Exception as e:
        # the app creates its workspace at start; refused (a config error, a missing key file) it serves nothing,
        # and a new empty workspace left under a possibly mistyped name would be taken for a real one
        if new_file:
            for leftover in (workspace, workspace.with_name(workspace.name + ".wal")):
                leftover.unlink(missing_ok=True)
        if isinstance(e, ConfigError):
            raise _in_file(config, e) from None
        raise
    routes = [f"POST /notify/{m}" if m != "credit" else "POST /api/credit/check" for m in api.state.mounted]
    console.print(f"serving on http://{host}:{port} ({', '.join(routes)}; GET /health)")
    uvicorn.run(api, host=host, port=port, log_level="info")


@app.command("wechat-certs")
@_errors
def wechat_certs(
    config: Annotated[Path, typer.Option("--config", help="config file with the \\[channels.wechat] account(s)", exists=True, dir_okay=False)],
    account: Annotated[Optional[str], typer.Option(help="merchant number (mchid); default: every account with a platform_cert_dir")] = None,
    bootstrap: Annotated[bool, typer.Option("--bootstrap", help="check the answer with a certificate it carries (when no kept certificate is valid any more)")] = False,
) -> None:
    """Download WeChat Pay's platform certificates (平台证书) into each account's platform_cert_dir, checked."""
    from .channels.wechat.certs import certs_command

    certs_command(config, account, bootstrap, lambda line: console.print(line, markup=False))


def _in_file(config: Path, e: ConfigError) -> ConfigError:
    """An account's error (``channels.wechat: key 'merchant_serial_no' …``) with the config file it is in, as the
    file's other errors name it: a shop with a config per environment should not have to guess which one."""
    msg = str(e)
    return e if msg.startswith(f"{config}:") else ConfigError(f"{config}: {msg}")


credit_app = typer.Typer(help="Credit-limit check before a credit/instalment payment.", no_args_is_help=True)


@credit_app.command("check")
@_errors
def credit_check(
    member: Annotated[str, typer.Option(help="member id")],
    amount: Annotated[str, typer.Option(help="amount in yuan, e.g. 1999.00")],
    term: Annotated[int, typer.Option(help="instalment periods")],
    config: Annotated[Path, typer.Option("--config", help="rules file with a credit section (\\[credit])", exists=True, dir_okay=False)],
    workspace: Annotated[Optional[Path], typer.Option(help="workspace: outstanding instalments + audit table")] = None,
) -> None:
    """Ask the configured credit service, combine with the member's outstanding instalments, approve or deny."""
    from .credit.setup import checker_from_config
    from .money import format_yuan, parse_yuan
    from .workspace import Workspace

    try:
        fen = parse_yuan(amount)
    except ValueError as e:
        raise PaymatchError(f"--amount: {e}") from None
    if fen <= 0:  # said in the user's yuan: the checker's own message counts fen the user never typed
        raise PaymatchError(f"--amount: the amount asked for must be above 0.00 yuan (value {amount!r})")
    cfg = load_config(config)
    if not cfg.credit:
        raise PaymatchError(f"{config}: no [credit] section\nHint: see config.example.toml")
    if workspace is not None and not workspace.is_file():
        # a mistyped path would be a new empty workspace: no outstanding instalments, so a member who owes would
        # be approved on the service's limit alone
        raise PaymatchError(f"{workspace}: no such workspace file\nHint: give the workspace the member's orders "
                            "were loaded into (paymatch ingest --workspace …), or leave --workspace out")
    ws = Workspace(workspace) if workspace else None
    try:
        try:
            d = checker_from_config(cfg, config.parent, ws).check(member, fen, term)
        except ValueError as e:
            raise PaymatchError(str(e)) from None
    finally:
        if ws is not None:
            ws.close()
    limit = "" if d.remaining_limit_fen is None else f", remaining limit ¥{format_yuan(d.remaining_limit_fen)}"
    console.print(("[green]APPROVE[/green]" if d.approve else "[red]DENY[/red]") + f": {escape(d.reason)}{limit} "
                  f"(source {d.source}, request {d.request_id})")
    if not d.approve:
        raise typer.Exit(1)


def _mount() -> None:
    from .cli_report import report_app

    app.add_typer(report_app, name="report")
    app.add_typer(credit_app, name="credit")


_mount()


def _terminate(signum, frame) -> None:
    """SIGTERM (``kill``, a service manager stopping a job) ends a command as Ctrl-C does: as KeyboardInterrupt, so
    DuckDB stops its query, transactions roll back and temp files, spill folders and ``.part`` outputs are removed
    (the default action ended the process at once and left them in the temp folder)."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:  # pragma: no cover - console entry
    """Entry point for ``python -m paymatch``."""
    signal.signal(signal.SIGTERM, _terminate)
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
