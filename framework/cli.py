"""``chainsleuth``: run experiments, list plugins, aggregate leaderboards, plus plugin commands.

``chainsleuth run [overrides]`` hands the overrides to Hydra (``-m`` for sweeps). With no job
override at all (``hydra.*`` settings such as output folders do not count) it runs the embedded
quickstart comparison and says so, so the first command a new user types does something
complete; ``chainsleuth quickstart [overrides]`` runs that comparison with overrides.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from framework import __version__
from framework.errors import ChainSleuthError, ConfigError
from framework.paths import config_dir
from framework.plugin_manager import PluginManager
from framework.registry import KINDS
from framework.results import is_secret_override
from framework.session import Session

CORE_COMMANDS = ("run", "quickstart", "plugins", "leaderboard", "report", "study", "audit",
                 "new-plugin")
DEFAULT_EXPERIMENT = "quickstart"


RUN_HELP = """usage: chainsleuth run [-m] [KEY=VALUE ...] [Hydra flags]

Run one job (a dataset, a scenario, a model, a seed) or, with -m and comma-separated values,
a sweep over their Cartesian product. Each job writes result.json; a sweep also writes its
leaderboard. Exit status 1 when a job failed.

  chainsleuth run model=rf seed=1                     one job -> outputs/runs/<time>/
  chainsleuth run dataset=ethereum_fraud model=xgboost   real data (CHAINSLEUTH_DATA_DIR)
  chainsleuth run -m model=lr,rf seed=0,1,2           a sweep -> outputs/multiruns/<time>/
  chainsleuth run -m model=lr,rf hydra/launcher=joblib hydra.launcher.n_jobs=2

With no job override (hydra.* settings alone do not count) it runs the quickstart; see
'chainsleuth quickstart --help'. 'chainsleuth plugins' lists every dataset, scenario and
model; 'chainsleuth run --cfg job model=rf' prints a job's config without running it;
'chainsleuth run --hydra-help' shows Hydra's own flags."""

QUICKSTART_HELP = f"""usage: chainsleuth quickstart [KEY=VALUE ...]

The embedded comparison (experiment={DEFAULT_EXPERIMENT}): lr, rf, xgboost and mlp x seeds 0, 1, 2
on the synthetic chain simulator (no download), standard split, then the leaderboard. What
'chainsleuth run' and 'make run' do without overrides. Overrides change the grid's settings
and keep the grid:

  chainsleuth quickstart hydra.sweep.dir=outputs/first     the 12 jobs, in that folder
  chainsleuth quickstart hydra/launcher=joblib hydra.launcher.n_jobs=2
  chainsleuth quickstart dataset.days=20 seed=0,1,2,3,4    a bigger world, five seeds"""


def main(argv: Sequence[str] | None = None) -> int:
    """One command, one :class:`Session`: its plugins, dataset cache and job outcomes."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        session = Session()
        if argv and argv[0] == "run":
            if {"-h", "--help"} & set(argv[1:]):
                print(RUN_HELP)
                return 0
            return run_command(argv[1:], session)
        if argv and argv[0] == "quickstart":
            if {"-h", "--help"} & set(argv[1:]):
                print(QUICKSTART_HELP)
                return 0
            return run_command([*argv[1:], f"experiment={DEFAULT_EXPERIMENT}"], session)
        return _dispatch(argv, session)
    except ChainSleuthError as exc:
        print(f"chainsleuth: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (``chainsleuth plugins | head``): no traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _dispatch(argv: list[str], session: Session) -> int:
    manager = session.plugins
    parser = argparse.ArgumentParser(prog="chainsleuth", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"chainsleuth {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run one job or a sweep (-m); Hydra overrides follow "
                              "(none: the quickstart)", add_help=False)
    sub.add_parser("quickstart", help="the embedded comparison (4 models x 3 seeds on "
                                      "synthetic data), with any overrides", add_help=False)

    plugins = sub.add_parser("plugins", help="list installed plugins: kind, name, distribution")
    plugins.add_argument("--json", action="store_true", help="print JSON instead of a table")

    board = sub.add_parser("leaderboard", help="aggregate result.json files into mean +- std")
    board.add_argument("dirs", nargs="+", type=Path, help="run or sweep directories")
    board.add_argument("--out", type=Path, default=None,
                       help="write leaderboard.{csv,md,html} and runs.csv here (default: the "
                            "first DIR)")
    board.add_argument("--metric", default="macro_f1",
                       help="rank by this metric (macro_f1, balanced_accuracy, mcc, roc_auc, "
                            "pr_auc, f1, ...)")
    board.add_argument("--keep", choices=("first", "last"), default=None,
                       help="when a job (cell and seed) is in two DIRs, keep the one from the "
                            "first or last of them (default: refuse, as a merge would count "
                            "that seed twice)")

    report = sub.add_parser("report", help="a study's leaderboard beside the paper's numbers")
    report.add_argument("study", type=Path, help="the study's study.yaml")
    report.add_argument("dirs", nargs="+", type=Path,
                        help="the study's sweep directories and/or runs.csv files")
    report.add_argument("--out", type=Path, default=None,
                        help="report directory (default: the study file's folder)")
    report.add_argument("--metric", default=None,
                        help="rank and test by this metric instead of the study's own")
    report.add_argument("--note", action="append", default=[], metavar="KEY=VALUE",
                        help="a fact to list in the report (e.g. wall_time=35 min)")

    audit = sub.add_parser("audit", help="look for shortcuts in a dataset: single-feature "
                                         "probes against its label and its source, and more")
    audit.add_argument("overrides", nargs="+", metavar="dataset=NAME",
                       help="dataset=NAME plus any dataset.* overrides")
    audit.add_argument("--out", type=Path, default=None,
                       help="output folder (default: outputs/audits/<dataset>-<time>)")

    scaffold = sub.add_parser("new-plugin", help="write a plugin package (entry point, "
                                                 "manifest, working example, contract test)")
    scaffold.add_argument("kind", help="model, dataset, scenario, augmentation, logger or "
                                       "command")
    scaffold.add_argument("name", help="the plugin's name (a lower-case identifier)")
    scaffold.add_argument("--dir", type=Path, default=Path("."),
                          help="where to create chainsleuth-NAME/ (default: here)")

    study = sub.add_parser("study", help="run a named study's sweeps and write its report")
    study.add_argument("study", type=Path, help="experiments/<name>/study.yaml")
    study.add_argument("--profile", default="full", help="full (default) or quick")
    study.add_argument("--jobs", type=int, default=2, help="joblib workers (1: sequential)")
    study.add_argument("--out", type=Path, default=None,
                       help="sweep directory root (default: outputs/studies/<name>)")
    study.add_argument("--resume-from", type=Path, default=None, metavar="RUNS_CSV",
                       help="skip the jobs a committed runs.csv of this study holds (e.g. "
                            "experiments/<name>/runs.csv)")
    study.add_argument("overrides", nargs="*", help="extra overrides for every sweep")

    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    conflicts = manager.command_conflicts()
    for name in manager.command_names():
        if name in CORE_COMMANDS:  # the core command wins; the plugin's is unreachable
            print(f"chainsleuth: warning: plugin {manager.command_providers()[name]} registers "
                  f"command '{name}', which is a core command; it is ignored (rename it)",
                  file=sys.stderr)
            continue
        # Only the chosen command needs its arguments, and only the overview its help line:
        # the other plugin modules stay unimported.
        if name in conflicts and chosen != name:
            providers = ", ".join(p.distribution for p in conflicts[name])
            sub.add_parser(name, help=f"(unusable: registered twice, by {providers})",
                           add_help=False)
        elif chosen is None or chosen == name:
            command, provider = manager.command(name)
            parser_of = sub.add_parser(name, help=f"{command.help} [{provider.distribution}]")
            if chosen == name:
                command.configure(parser_of)
        else:
            sub.add_parser(name, add_help=False)

    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "plugins":
        return _list_plugins(manager, as_json=args.json)
    if args.command == "leaderboard":
        return _leaderboard(args.dirs, args.out, args.metric, args.keep)
    if args.command == "new-plugin":
        from framework.scaffold import new_plugin

        root = new_plugin(args.kind, args.name, args.dir)
        print(f"wrote {root}\nnext: pip install -e {root} && python -m pytest {root / 'tests'}")
        return 0
    if args.command == "audit":
        return _audit(args.overrides, args.out, session)
    if args.command == "study":
        from framework.study import run_study

        out = args.out or Path("outputs") / "studies" / args.study.parent.name
        run_study(args.study, args.profile, out, args.jobs, args.overrides, args.resume_from,
                  manager)
        return 0
    if args.command == "report":
        from framework.report import write_report

        notes = dict(n.split("=", 1) for n in args.note if "=" in n)
        path = write_report(args.study, args.dirs, args.out or args.study.parent, notes,
                            metric=args.metric)
        print(f"wrote {path}")
        return 0
    return manager.command(args.command)[0].run(args)


def _list_plugins(manager: PluginManager, as_json: bool) -> int:
    rows = [{"kind": kind, **entry.describe()} for kind in KINDS
            for entry in manager.registry.entries(kind)]
    rows += [{"kind": "command", "name": name, "distribution": provider.distribution,
              "version": provider.version, "plugin": provider.plugin}
             for name, provider in manager.command_providers().items()]
    conflicts = manager.registry.conflicts()
    for (kind, name), providers in conflicts.items():
        rows = [r for r in rows if (r["kind"], r["name"]) != (kind, name)]
        rows += [{"kind": kind, "name": name, "distribution": p.distribution,
                  "version": p.version, "plugin": p.plugin, "conflict": True} for p in providers]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    columns = ("kind", "name", "distribution", "version")
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)))
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths)))
    for (kind, name), providers in conflicts.items():
        print(f"warning: {kind} '{name}' is registered twice "
              f"({', '.join(p.distribution for p in providers)}); commands that use it fail "
              f"until one is uninstalled or excluded with CHAINSLEUTH_PLUGINS", file=sys.stderr)
    return 0


def _leaderboard(dirs: list[Path], out: Path | None, metric: str, keep: str | None) -> int:
    """Merge the records under ``dirs`` (a job found twice is refused unless ``keep``) and
    write the leaderboard; its HTML page names this command, so a reader can redo it."""
    import shlex

    from framework.leaderboard import Leaderboard

    board = Leaderboard.from_dirs(dirs, metric=metric, keep=keep)
    print(board.to_text())
    target = out or (dirs[0] if dirs[0].is_dir() else dirs[0].parent)
    command = ["chainsleuth", "leaderboard", *map(str, dirs), "--metric", metric,
               *(["--keep", keep] if keep else []), *(["--out", str(out)] if out else [])]
    paths = board.write(target, command=shlex.join(command))
    print(f"\nwrote {paths['csv']}, {paths['md']}, {paths['html']}, {paths['runs']}")
    return 0


def _audit(overrides: list[str], out: Path | None, session: Session) -> int:
    import time

    from framework.audit import write_audit
    from framework.hydra_app import compose_config
    from framework.runner import load_dataset

    if not any(o.startswith("dataset=") for o in overrides):
        raise ConfigError("audit needs dataset=NAME (plus any dataset.* overrides)")
    check_plugin_overrides(overrides, session.plugins)
    cfg = compose_config(overrides, session.plugins)
    out = out or Path("outputs") / "audits" / f"{cfg.dataset.name}-{time.strftime('%Y-%m-%d_%H-%M-%S')}"
    paths = write_audit(load_dataset(cfg, session), out, seed=int(cfg.seed))
    report = json.loads(paths["json"].read_text())
    for item in report["shortcuts"][:5]:
        print(f"{item['feature']:32s} -> {item['target']:6s} macro-F1 {item['score']:.3f}")
    print(f"wrote {paths['md']} and {paths['json']}")
    return 0


def run_command(args: list[str], session: Session | None = None) -> int:
    """Validate plugin names in the overrides, then let Hydra compose and launch; exit status 1
    when a job failed."""
    from framework.hydra_app import HydraJob, register_plugin_configs

    session = session or Session()
    manager = session.plugins
    overrides = [a for a in args if "=" in a and not a.startswith("-")]
    if not [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]:
        print(f"[chainsleuth] no job overrides: running the quickstart (chainsleuth quickstart: "
              f"4 models x 3 seeds on synthetic chain_sim); 'chainsleuth run --help' for one job")
        args = [*args, f"experiment={DEFAULT_EXPERIMENT}"]
    selected = check_plugin_overrides(overrides, manager)
    for override in overrides:
        if is_secret_override(override):
            key = override.split("=", 1)[0].lstrip("+~")
            print(f"[chainsleuth] warning: '{key}' looks like a credential. ChainSleuth redacts it "
                  f"from results and W&B, but Hydra keeps its own copy of the command line in "
                  f".hydra/overrides.yaml. Pass it through the environment instead: "
                  f"'{key}=${{oc.env:MY_SECRET}}'", file=sys.stderr)
    args = [*args, *_unique_output_dirs(args)]
    register_plugin_configs(manager, selected)
    handlers = _stop_workers_on_signals()
    try:
        with session.current_for():
            _launch_hydra(args, HydraJob(session))
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    return 1 if session.outcomes.failed else 0


def _launch_hydra(args: list[str], job: object) -> None:
    """What ``@hydra.main`` does, with our arguments instead of the process's ``sys.argv``.

    Hydra's decorator only reads arguments from ``sys.argv``; swapping that process-wide list
    would leak into anything else reading it (W&B records it). ``_run_hydra`` is the function
    the decorator calls; hydra-core is pinned below 1.4 for it.
    """
    from hydra import version
    from hydra._internal.utils import _run_hydra, get_args_parser

    version.setbase("1.3")
    parser = get_args_parser()
    _run_hydra(args=parser.parse_args(args), args_parser=parser, task_function=job,
               config_path=str(config_dir()), config_name="config")


def _stop_workers_on_signals() -> dict:
    """SIGTERM or SIGINT stops the whole sweep, worker processes included: a parallel
    launcher's workers (about 900 MB each) would otherwise run on for minutes after their
    sweep is gone. Returns the handlers it replaced."""
    def stop(signum: int, frame: object) -> None:
        import psutil

        children = psutil.Process().children(recursive=True)
        for child in children:
            try:
                child.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(children, timeout=5)
        for child in alive:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        print(f"chainsleuth: stopped by signal {signum}; {len(children)} worker process(es) "
              f"ended", file=sys.stderr)
        raise SystemExit(128 + signum)

    return {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}


def _unique_output_dirs(args: list[str]) -> list[str]:
    """Default run and sweep folders named by time *and* process, so two commands started in
    the same second never share one (a shared sweep folder is also refused by its lock)."""
    import os
    import time

    stamp = f"{time.strftime('%Y-%m-%d_%H-%M-%S')}-{os.getpid()}"
    given = {a.split("=", 1)[0].lstrip("+~") for a in args if "=" in a}
    extra = []
    if "hydra.run.dir" not in given:
        extra.append(f"hydra.run.dir=outputs/runs/{stamp}")
    if "hydra.sweep.dir" not in given:
        extra.append(f"hydra.sweep.dir=outputs/multiruns/{stamp}")
    return extra


def check_plugin_overrides(overrides: list[str], manager) -> list[tuple[str, str]]:
    """Reject unknown plugin names in ``kind=a,b`` overrides before any job starts; returns
    the (kind, name) pairs the overrides select."""
    from framework.hydra_app import selected_plugins

    selected = selected_plugins(overrides)
    for kind in dict.fromkeys(kind for kind, _ in selected):
        values = [value for k, value in selected if k == kind]
        registered = set(manager.registry.names(kind))
        valid = registered | {p.stem for p in (config_dir() / kind).glob("*.yaml")}
        unknown = [v for v in values if v not in valid]
        if unknown:
            raise ConfigError(f"unknown {kind} {unknown}; valid {kind} names: "
                              f"{', '.join(sorted(valid))}")
        for value in registered.intersection(values):  # a name registered twice fails here
            manager.registry.get(kind, value)
    return selected


if __name__ == "__main__":
    raise SystemExit(main())
