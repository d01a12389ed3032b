"""``harness search`` (end-to-end NAS on a tabular benchmark) and ``harness task-search``
(GenNAS proxy-task search): parse, call ``harness.search``, print."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from harness.cli.parsers import command_parser, names
from harness.errors import ConfigError

SEARCH_EXAMPLE = ("harness search --space nb201 --dataset cifar10-valid --searcher "
                  "evolution,random --fitness synflow,oracle,random --budget 400 --runs 20 "
                  "--out runs/search\n"
                  "  harness search ... --option evolution.population_size=20 "
                  "--option evolution.sample_size=5")


def add_search_commands(sub: Any) -> None:
    """Add ``search`` and ``task-search`` to the ``harness`` sub-commands."""
    search = command_parser(sub, "search", "search a space with a searcher and a fitness (a "
                            "scorer, oracle or random); report what the chosen archs reach",
                            SEARCH_EXAMPLE)
    add = search.add_argument
    add("--space", required=True, help="the space to search (it needs ground truth)")
    add("--dataset", help="the search dataset (default: the table's first)")
    add("--searcher", default="evolution", help="comma-separated searchers (default evolution)")
    add("--fitness", required=True, help="comma-separated: scorer names, oracle (the ground "
                                         "truth itself), random (a fitness that knows nothing)")
    add("--budget", type=int, default=400, help="fitness evaluations per run (default 400)")
    add("--runs", type=int, default=20, help="runs per (fitness, searcher) (default 20)")
    add("--seed", type=int, default=0, help="seed of the searches' random choices (default 0)")
    add("--score-seed", type=int, default=0, help="seed of the scoring trials (default 0)")
    add("--option", action="append", default=[], metavar="NAME.KEY=VALUE",
        help="a searcher option (evolution.population_size=50, evolution.sample_size=10: the "
             "defaults) or a scorer option (naswot.batch_size=64); repeatable")
    add("--images", help="file or folder of images that replace the dataset's inputs")
    add("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    add("--workers", type=int, default=1, help="worker processes (default 1; 0 = in this "
                                               "process)")
    add("--trial-timeout", type=float, metavar="S", help="seconds before a trial is killed")
    add("--executor", default="local", help="executor plugin (default: local)")
    add("--out", help="run folder (default: runs/search-<hash of the command's selection>)")
    add("--extend", action="store_true", help="search in an --out folder that holds another "
                                              "selection (a compare's), reusing its trials")
    add("--paper", action="store_true", help="NASWOT's published NB-201 search numbers beside "
                                             "ours")
    search.set_defaults(func=cmd_search)


def search_spec_from_args(args: argparse.Namespace) -> Any:
    """The ``SearchSpec`` the arguments ask for (``--option`` split into searcher and scorer
    options by its first name)."""
    from harness.config import RunConfig, add_option, canonical_hash
    from harness.registry import get_registry
    from harness.search.arch_search import SearchSpec

    searchers = names(args.searcher)
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
    fitnesses = names(args.fitness)
    unknown = sorted(set(scorer_options) - set(fitnesses))
    if unknown:
        raise ConfigError(f"--option {unknown[0]}.*: {unknown[0]!r} is neither a --searcher "
                          f"nor a --fitness scorer of this search")
    config = RunConfig(spaces=[args.space], datasets=[args.dataset] if args.dataset else None,
                       seeds=[args.score_seed], options=scorer_options, images=args.images,
                       device=args.device, workers=args.workers,
                       trial_timeout_s=args.trial_timeout, executor=args.executor,
                       data_dir=getattr(args, "data_dir", None), out=args.out)
    spec = SearchSpec(config, fitnesses, searchers, searcher_options, args.budget, args.runs,
                      args.seed)
    if not args.out:
        config.out = f"runs/search-{canonical_hash([config.selection(), fitnesses, searchers])}"
    return spec


def cmd_search(args: argparse.Namespace) -> int:
    from harness.reports.search import write_search_report
    from harness.search.arch_search import run_search
    from harness.search.scoring import SearchStopped

    spec = search_spec_from_args(args)
    try:
        outcome = run_search(spec, command=["harness", *args.argv], extend=args.extend)
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
