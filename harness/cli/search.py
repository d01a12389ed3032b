"""``harness search`` (end-to-end NAS on a tabular benchmark) and ``harness task-search``
(GenNAS proxy-task search): parse, call ``harness.search``, print."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli.parsers import command_parser
from harness.errors import ConfigError
from harness.names import split_names

SEARCH_EXAMPLE = ("harness search --space nb201 --dataset cifar10-valid --searcher "
                  "evolution,random --fitness synflow,oracle,random --budget 400 --runs 20 "
                  "--out runs/search\n"
                  "  harness search ... --option evolution.population_size=20 "
                  "--option evolution.sample_size=5")


TASK_SEARCH_EXAMPLE = ("harness task-search --space nb101 --search-set "
                       "nasbench1_search_20samples.json --population 10 --sample 3 --cycles 20 "
                       "--option gennas.iterations=20 --out runs/tasks\n"
                       "  harness compare --scorers gennas --option "
                       "gennas.task=runs/tasks/task-search/best_task.json ...")


def add_search_commands(sub: Any) -> None:
    """Add ``search`` and ``task-search`` to the ``harness`` sub-commands."""
    _add_search_command(sub)
    _add_task_search_command(sub)


def _add_execution_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--images", help="file or folder of images that replace the dataset's inputs")
    add("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    add("--workers", type=int, default=1, help="worker processes (default 1; 0 = in this "
                                               "process)")
    add("--trial-timeout", type=float, metavar="S", help="seconds before a trial is killed")
    add("--executor", default="local", help="executor plugin (default: local)")


def _add_search_command(sub: Any) -> None:
    search = command_parser(sub, "search", "search a space with a searcher and a fitness (a "
                            "scorer, oracle or random); report what the chosen archs reach",
                            SEARCH_EXAMPLE)
    add = search.add_argument
    add("--space", required=True, help="the space to search (it needs ground truth)")
    add("--dataset", help="the search dataset (default: the table's first)")
    add("--searcher", default="evolution", help="comma-separated searchers (default evolution)")
    add("--fitness", default="", help="comma-separated: scorer names, named aggregates "
                                      "(az_nas...), oracle (the ground truth itself), random (a "
                                      "fitness that knows nothing)")
    add("--aggregate", action="append", default=[], metavar="NAME=SCORERS[:METHOD]",
        help="one more fitness: a rank combination of scorers (mean_rank, log_rank, "
             "lexicographic), ranked within the archs each search has seen; repeatable")
    add("--budget", type=int, default=400, help="fitness evaluations per run (default 400)")
    add("--runs", type=int, default=20, help="runs per (fitness, searcher) (default 20)")
    add("--seed", type=int, default=0, help="seed of the searches' random choices (default 0)")
    add("--score-seed", type=int, default=0, help="seed of the scoring trials (default 0)")
    add("--option", action="append", default=[], metavar="NAME.KEY=VALUE",
        help="a searcher option (evolution.population_size=50, evolution.sample_size=10: the "
             "defaults) or a scorer option (naswot.batch_size=64); repeatable")
    _add_execution_arguments(search)
    add("--quiet", action="store_true", help="no progress bar")
    add("--out", help="run folder (default: runs/search-<hash of the command's selection>)")
    add("--extend", action="store_true", help="search in an --out folder that holds another "
                                              "selection (a compare's), reusing its trials")
    add("--paper", action="store_true", help="published search results on the same space "
                                             "beside ours (e.g. NASWOT's on NB-201)")
    search.set_defaults(func=cmd_search)


def search_spec_from_args(args: argparse.Namespace) -> Any:
    """The ``SearchSpec`` the arguments ask for (``--option`` split into searcher and scorer
    options by its first name)."""
    from harness.config import RunConfig, add_option
    from harness.hashing import canonical_hash
    from harness.registry import get_registry
    from harness.reports.aggregates import parse_aggregate, resolve
    from harness.search.arch_search import SearchSpec

    searchers = split_names(args.searcher)
    known_searchers = set(get_registry().names("searcher"))
    options: dict[str, dict[str, Any]] = {}
    for text in args.option:
        add_option(options, text)
    searcher_options = {k: v for k, v in options.items() if k in known_searchers}
    for name in searcher_options:
        if name not in searchers:
            raise ConfigError(f"--option {name}.*: searcher {name!r} is not in --searcher "
                              f"{args.searcher}")
    scorer_options = {k: v for k, v in options.items() if k not in known_searchers}
    aggregates = [parse_aggregate(text) for text in args.aggregate]
    fitnesses = split_names(args.fitness) + [aggregate.name for aggregate in aggregates]
    registered = set(get_registry().names("aggregate"))
    parts = {part for spec in resolve([*aggregates, *(name for name in fitnesses
                                                      if name in registered)], get_registry())
             for part in spec.leaves()}
    unknown = sorted(set(scorer_options) - set(fitnesses) - parts)
    if unknown:
        raise ConfigError(f"--option {unknown[0]}.*: {unknown[0]!r} is neither a --searcher "
                          f"nor a --fitness scorer of this search")
    config = RunConfig(spaces=[args.space], datasets=[args.dataset] if args.dataset else None,
                       seeds=[args.score_seed], options=scorer_options, images=args.images,
                       device=args.device, workers=args.workers,
                       trial_timeout_s=args.trial_timeout, executor=args.executor,
                       data_dir=getattr(args, "data_dir", None), out=args.out)
    spec = SearchSpec(config, fitnesses, searchers, searcher_options, args.budget, args.runs,
                      args.seed, aggregates)
    if not args.out:
        config.out = f"runs/search-{canonical_hash([config.selection(), fitnesses, searchers])}"
    return spec


def cmd_search(args: argparse.Namespace) -> int:
    from harness.reports.search import write_search_report
    from harness.search.arch_search import run_search
    from harness.search.scoring import SearchStopped

    spec = search_spec_from_args(args)
    try:
        outcome = run_search(spec, command=["harness", *args.argv], extend=args.extend,
                             progress=not args.quiet)
    except SearchStopped as stopped:
        print(f"interrupted: every finished trial is stored; run the same command again to "
              f"resume ({spec.config.out})", file=sys.stderr)
        return 128 + stopped.signum
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    paths = write_search_report(spec.config.out, outcome, args.paper)
    print(paths[0].read_text())
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def _add_task_search_command(sub: Any) -> None:
    parser = command_parser(sub, "task-search", "evolve GenNAS proxy tasks: fitness = Kendall "
                            "on a search set of archs; then check the best task on held-out "
                            "archs", TASK_SEARCH_EXAMPLE)
    add = parser.add_argument
    add("--space", required=True, help="the space of the search set (GenNAS: nb101)")
    add("--search-set", required=True, help="arch list of the search set (GenNAS: its 20 "
                                            "NB-101 cells); their ground truth comes from the "
                                            "space's prepared table")
    add("--scorer", help="a scorer with a searchable configuration (default: the one "
                         "installed, e.g. gennas)")
    add("--population", type=int, default=50, help="population size P (default 50)")
    add("--sample", type=int, default=10, help="tournament size S (default 10)")
    add("--cycles", type=int, default=400, help="evolution cycles T (default 400)")
    add("--seed", type=int, default=1, help="seed of the search (default 1, as do_search)")
    add("--score-seed", type=int, default=0, help="seed of the scoring trials (default 0)")
    add("--held-out", type=int, default=100, help="archs outside the search set for the "
                                                  "check (default 100; 0: no check)")
    add("--held-out-seed", type=int, default=0, help="seed of the held-out sample (default 0)")
    add("--reference", help="scorer the found task is checked against (default: the one the "
                            "searchable scorer names, e.g. gennas-search-n for gennas)")
    add("--option", action="append", default=[], metavar="SCORER.KEY=VALUE",
        help="training option of the scorer, shared by the reference (gennas.iterations=20)")
    _add_execution_arguments(parser)
    add("--quiet", action="store_true", help="no progress bar")
    add("--out", help="run folder (default: runs/task-search-<hash of the settings>)")
    parser.set_defaults(func=cmd_task_search)


def cmd_task_search(args: argparse.Namespace) -> int:
    from harness.config import RunConfig, add_option
    from harness.hashing import canonical_hash
    from harness.registry import get_registry
    from harness.search.scoring import SearchStopped
    from harness.search.task_search import (
        TaskSearchSpec,
        default_searchable_scorer,
        run_task_search,
    )

    scorer = args.scorer or default_searchable_scorer(get_registry())
    options: dict[str, dict[str, Any]] = {}
    for text in args.option:
        add_option(options, text)
    unknown = sorted(set(options) - {scorer})
    if unknown:
        raise ConfigError(f"--option {unknown[0]}.*: only --scorer {scorer}'s options are "
                          f"taken (the reference runs with the same ones)")
    config = RunConfig(spaces=[args.space], scorers=[scorer], arch_list=args.search_set,
                       seeds=[args.score_seed], options=options, images=args.images,
                       device=args.device, workers=args.workers,
                       trial_timeout_s=args.trial_timeout, executor=args.executor,
                       data_dir=getattr(args, "data_dir", None), out=args.out)
    spec = TaskSearchSpec(config, args.population, args.sample, args.cycles, args.seed,
                          args.held_out, args.held_out_seed, args.reference)
    if not args.out:
        settings = [config.selection(), args.seed, args.population, args.sample, args.cycles]
        config.out = f"runs/task-search-{canonical_hash(settings)}"
    try:
        outcome = run_task_search(spec, command=["harness", *args.argv],
                                  progress=not args.quiet)
    except SearchStopped as stopped:
        print(f"interrupted: every finished trial is stored; run the same command again to "
              f"resume ({config.out})", file=sys.stderr)
        return 128 + stopped.signum
    print(task_search_text(outcome, config.out))
    return 0


def task_search_text(outcome: Any, run_dir: str) -> str:
    """What ``task-search`` prints: the best fitness, the check, where the task file is."""
    lines = [f"best task: Kendall {outcome.best_fitness} on the search set after "
             f"{len(outcome.trajectory)} task evaluations -> "
             f"{run_dir}/task-search/best_task.json"]
    for label, row in outcome.check.items():
        cells = ", ".join(f"{name} {value:.3f}" if isinstance(value, float) else
                          f"{name} {value}" for name, value in row.items())
        lines.append(f"{label}: {cells}")
    lines.append(f"trials run now: {outcome.trial_counts or 'none'}; {outcome.wall_s:.0f} s")
    return "\n".join(lines)
