"""The ``gnp`` command: run the notebook book, serve the fake API, validate params.

An expected failure (a ``GnpError``) is printed as one line, ``gnp: <message>``,
and gnp exits with its ``exit_code``; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from gnp.core.config import load_params
from gnp.core.errors import GnpError, UsageError


def _cmd_run(args: argparse.Namespace) -> int:
    from gnp.orchestration import runner

    result = runner.run(
        args.params,
        date_from=args.date_from or "",
        date_to=args.date_to or "",
        stages=args.stages.split(",") if args.stages else None,
        refetch=args.refetch,
        full_refresh=args.full_refresh,
        run_id=args.run_id or "",
    )
    print()
    print(f"run {result.run_id} {'succeeded' if result.ok else 'FAILED'}")
    for line in runner.describe_locations(result):
        print("  " + line)
    if not result.ok:
        # The failed stage's StageFailed message: its notebook, cell and error, and where the traceback is kept.
        failed = [s.get("error", "") for s in result.manifest.get("stages", []) if s.get("status") == "failed"]
        _say(failed[0] if failed else f"run {result.run_id} failed: see its manifest in {result.run_dir}")
    return 0 if result.ok else 1


def _cmd_bench_dashboard(args: argparse.Namespace) -> int:
    from gnp.devtools import dashboard_bench as bench

    options = bench.DashboardBenchOptions(visitors=args.visitors, spacing_s=args.spacing, pool=args.pool)
    result = bench.run_dashboard_bench(args.params, options)
    print()
    print(bench.markdown(result))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from gnp.devtools import bench

    options = bench.BenchOptions(rows=args.rows, days=args.days, months=args.months, incremental=not args.no_incremental,
                                 keep_data=args.keep_data, fresh_bronze=args.fresh_bronze,
                                 first_run=not args.no_first_run)
    _, markdown = bench.run_bench(args.params, options)
    print()
    print(markdown)
    return 0


def _cmd_stages(args: argparse.Namespace) -> int:
    from gnp.orchestration import runner

    for stage in runner.discover_stages():
        print(f"{stage.name:10s} {stage.notebook.name}{'  (spark)' if stage.needs_spark else ''}")
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    from gnp.orchestration import book

    if args.run_dir:  # a local copy of a run, e.g. one downloaded from the artifacts bucket
        if not os.path.isdir(args.run_dir):  # else an empty book would be written into a new folder of that name
            raise UsageError(f"{args.run_dir} is not a folder: give --run-dir a local copy of a run folder "
                             f"(the one holding the executed notebooks and manifest.json)")
        index = book.render_run(args.run_dir)
    else:
        from gnp.core.registry import Registry

        runs_root = Registry.from_params(load_params(args.params)).runs_root
        if "://" in runs_root:
            raise UsageError(f"the runs of {args.params} are kept in {runs_root}: copy a run folder here and use "
                             f"`gnp book --run-dir <folder>`")
        index = book.latest_book(runs_root, rebuild=args.rebuild)
        if index is None:
            raise GnpError(f"no run under {runs_root} yet: run the pipeline first (`gnp run --params {args.params}`)")
    print(index)
    if args.open:
        import webbrowser

        webbrowser.open(index.resolve().as_uri())
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    params = load_params(args.params)
    print(f"{params.params_file}: ok ({params.env}, source {params.source.kind}, "
          f"{params.dates.date_from}..{params.dates.date_to})")
    return 0


def _cmd_fake_api(args: argparse.Namespace) -> int:
    from gnp.source import fake_api

    fake_api.serve_forever(port=args.port, seed=args.seed, tests_per_day=args.tests_per_day)
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    from gnp.core.registry import Registry
    from gnp.serving.timetravel import history_frame

    frame = history_frame(Registry.from_params(load_params(args.params)), args.table, args.limit)
    print(frame.to_string(index=False) if len(frame) else f"{args.table}: no commits yet")
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from gnp.serving import release

    result = release.write_release(load_params(args.params), args.month, args.out)
    what = "written" if result.written else "already there, identical: nothing written"
    print(f"release {result.month} (Gold of run {result.version}) {what}")
    print(f"  {result.location}")
    for table in result.tables:
        print(f"  {table.spec.name:24s} {table.rows:>9,} rows, {table.suppressed_rows:,} suppressed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gnp", description="Greek Net Pulse: the notebook book's command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="execute the stage notebooks in order with papermill")
    run.add_argument("--params", default="params/local.yaml", help="params file (default: %(default)s)")
    run.add_argument("--from", dest="date_from", help="first measurement day, YYYY-MM-DD (default: the params file's)")
    run.add_argument("--to", dest="date_to", help="last measurement day, YYYY-MM-DD (default: the params file's)")
    run.add_argument("--stages", help="comma-separated subset of stages, e.g. ingest,silver")
    run.add_argument("--refetch", action="store_true", help="fetch every day again (Bronze keeps the old versions)")
    run.add_argument("--full-refresh", action="store_true", help="rebuild Silver and Gold from all of Bronze")
    run.add_argument("--run-id", help="use this run id instead of a new one")
    run.set_defaults(func=_cmd_run)

    bench = sub.add_parser("bench", help="time Spark against the DuckDB SQL reference on generated sample rows")
    bench.add_argument("--params", default="params/local.yaml", help="Spark and semantics settings (default: %(default)s)")
    bench.add_argument("--rows", default="500000,1000000,5000000", help="history sizes in sample rows, comma-separated: "
                       "each size is benched in turn, one report; none: only the --months history (default: %(default)s)")
    bench.add_argument("--days", type=int, default=30, help="days the rows are spread over (default: %(default)s)")
    bench.add_argument("--months", type=int, default=24, help="also a history grown by this many months at the params' "
                       "daily volume, as the real source grows (0: none; default: %(default)s)")
    bench.add_argument("--no-incremental", action="store_true", help="skip the one-day incremental run")
    bench.add_argument("--no-first-run", action="store_true", help="skip the first run on an empty lake (the params' "
                       "own days, what make run does after the install) and its one new day")
    bench.add_argument("--keep-data", action="store_true", help="keep the bench's lakehouse and DuckDB file")
    bench.add_argument("--fresh-bronze", action="store_true", help="generate Bronze again instead of reusing the cache")
    bench.set_defaults(func=_cmd_bench)

    history = sub.add_parser("history", help="a Silver or Gold table's commits: version, time, operation, run id")
    history.add_argument("table", help="table name, e.g. regional_daily")
    history.add_argument("--params", default="params/local.yaml", help="params file (default: %(default)s)")
    history.add_argument("--limit", type=int, help="newest commits only")
    history.set_defaults(func=_cmd_history)

    dash_bench = sub.add_parser("bench-dashboard", help="time the served dashboard in headless Chromium, visitor "
                                "after visitor, and its filter changes (over the params' Gold; built if missing)")
    dash_bench.add_argument("--params", default="params/local.yaml", help="params whose Gold to show (default: %(default)s)")
    dash_bench.add_argument("--visitors", type=int, default=5, help="visitors (default: %(default)s)")
    dash_bench.add_argument("--spacing", type=float, default=10.0, help="seconds between arrivals (default: %(default)s)")
    dash_bench.add_argument("--pool", type=int, default=None, help="pre-heated kernels (default: the params')")
    dash_bench.set_defaults(func=_cmd_bench_dashboard)

    rel = sub.add_parser("release", help="write a whole month of Gold as an open-data package (CSV, Parquet, "
                         "datapackage.json, README): <out>/<month>/<run id>/")
    rel.add_argument("--params", default="params/local.yaml", help="params whose Gold to release (default: %(default)s)")
    rel.add_argument("--month", help="YYYY-MM, a month Gold holds whole (default: the latest such month)")
    rel.add_argument("--out", help="folder or gs:// URI to write under (default: the params' artifacts/releases)")
    rel.set_defaults(func=_cmd_release)

    stages = sub.add_parser("stages", help="list the stage notebooks the runner would execute")
    stages.set_defaults(func=_cmd_stages)

    book = sub.add_parser("book", help="render the latest run's book (if needed) and print its index path")
    book.add_argument("--params", default="params/local.yaml", help="params of the runs (default: %(default)s)")
    book.add_argument("--run-dir", help="render this local run folder's book instead of the latest run's")
    book.add_argument("--rebuild", action="store_true", help="render the book again even if it exists")
    book.add_argument("--open", action="store_true", help="open the book in a web browser")
    book.set_defaults(func=_cmd_book)

    validate = sub.add_parser("validate", help="check a params file")
    validate.add_argument("--params", default="params/local.yaml")
    validate.set_defaults(func=_cmd_validate)

    dashboard = sub.add_parser(
        "dashboard", help="serve the dashboard with Voila (options: --params, --port, --ip; see gnp dashboard -h)",
        add_help=False,
    )
    dashboard.set_defaults(func=None)  # main hands the arguments to gnp.dashboard.serve as they are

    fake = sub.add_parser("fake-api", help="serve a fake data.gov.gr Hyperion API with sample data on loopback")
    fake.add_argument("--port", type=int, default=8765)
    fake.add_argument("--seed", type=int, default=42)
    fake.add_argument("--tests-per-day", type=int, default=2000)
    fake.set_defaults(func=_cmd_fake_api)
    return parser


def _say(message: str) -> None:
    """One line on stderr: a message that spans lines is joined, so a script's log keeps it whole."""
    print("gnp: " + " ".join(line.strip() for line in message.splitlines() if line.strip()), file=sys.stderr)


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["dashboard"]:
        from gnp.dashboard import serve

        return serve.main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return _dispatch(argv)
    except GnpError as exc:  # expected: the message says what to do; any other exception is a bug
        _say(str(exc) or type(exc).__name__)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gnp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
