"""``harness import naslib-zc`` and ``harness export --format naslib-zc`` on NASLib's real
zero-cost files (../shared/data/zc, NAS-Bench-Suite-Zero excerpts): arch ids mapped through the
spaces, duplicates of one cell counted, refusals naming what cannot be mapped, and round trips.

The plugin is registered in-process when this checkout's entry point is not installed."""

import json
import sqlite3

import pytest

from harness import cli
from harness.errors import ExchangeFormatError
from harness.exchange import export_scores, import_scores
from harness.plugins.exchange import plugin as exchange_plugin
from harness.registry import get_registry
from harness.reports import build_report
from harness.store import load_trials

NB201_KEY = "(0, 2, 3, 2, 3, 1)"
NB201_ARCH = ("|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|"
              "nor_conv_1x1~1|none~2|")


@pytest.fixture
def naslib(fresh_registry):
    if "naslib-zc" not in fresh_registry.names("exchangeformat"):
        fresh_registry.register_plugin(exchange_plugin, "exchange-test")
    return fresh_registry


@pytest.fixture
def zc(shared_data):
    return shared_data / "zc"


def _scores(run_dir):
    trials = load_trials(run_dir)
    ok = trials[trials.status == "ok"]
    return {(r.space, r.dataset, r.arch_id, r.scorer): r.score for r in ok.itertuples()}


def test_nb201_import_maps_naslib_keys_to_arch_strings(naslib, zc, tmp_path):
    summary = import_scores("naslib-zc", zc / "naslib_zc_nasbench201.json", tmp_path / "run",
                            datasets={"cifar10": None})
    original = json.loads((zc / "naslib_zc_nasbench201.json").read_text())["cifar10"]
    assert summary.cells == ["nb201/cifar10-valid"]
    # 725 archs x 13 fields (12 proxies + val_accuracy), one synflow missing (PROVENANCE).
    assert summary.read == summary.added == 725 * 13 - 1
    assert any("synflow missing from 1 of 725" in note for note in summary.notes)
    scores = _scores(tmp_path / "run")
    cell = ("nb201", "cifar10-valid", NB201_ARCH)
    assert scores[(*cell, "naslib:synflow")] == original[NB201_KEY]["synflow"]["score"]
    assert scores[(*cell, "naslib:naswot")] == original[NB201_KEY]["nwot"]["score"], "nwot"
    assert scores[(*cell, "naslib:jacob_cov")] == original[NB201_KEY]["jacov"]["score"]
    assert scores[(*cell, "naslib:val_accuracy")] == 86.06
    # The mapping is right: NASLib's single-seed accuracy ranks like the benchmark's mean.
    report = build_report(tmp_path / "run", bootstrap=0)
    row = next(r for r in report.rows if r.scorer_label == "naslib:val_accuracy")
    assert row.n == 725 and row.quality.kendall > 0.9, row.quality.kendall


def test_import_again_adds_nothing_and_keeps_the_keys(naslib, zc, tmp_path):
    path = zc / "naslib_zc_nasbench201.json"
    first = import_scores("naslib-zc", path, tmp_path, datasets={"cifar100": None})
    again = import_scores("naslib-zc", path, tmp_path, datasets={"cifar100": None})
    assert first.added == first.read and again.added == 0
    history = json.loads((tmp_path / "run.json").read_text())["history"]
    assert [entry["import"]["added"] for entry in history] == [first.read, 0]
    assert history[0]["import"]["sha256"] == history[1]["import"]["sha256"]


def test_nb101_duplicates_keep_the_first_entry_of_each_cell(naslib, zc, tmp_path):
    summary = import_scores("naslib-zc", zc / "naslib_zc_nasbench101.json", tmp_path)
    assert summary.cells == ["nb101/cifar10"]
    assert any("208 of 500 entries" in note and "292 archs" in note for note in summary.notes)
    trials = load_trials(tmp_path)
    synflow = trials[trials.scorer == "naslib:synflow"]
    assert synflow.arch_id.nunique() == len(synflow) == 292
    # Row 1 of the converted CSV: its module hash (official rules) and synflow.
    assert synflow.set_index("arch_id").score["d3ce4b357bab991e98b34e3a8722b3bb"] == \
        pytest.approx(79.00825248489012, rel=0, abs=0)


def _by_arch(entries, space, prefix):
    """{arch id: entry} of one dataset's entries, the first entry of each cell kept."""
    found = {}
    for key, entry in entries.items():
        found.setdefault(space.parse_arch(prefix + key), entry)
    return found


@pytest.mark.parametrize(("name", "space_name", "wrapper", "prefix"), [
    ("naslib_zc_nasbench201.json", "nb201", None, "naslib:"),
    ("naslib_zc_nasbench101.json", "nb101", "nasbench101", ""),
])
def test_export_of_an_import_gives_back_the_files_scores(naslib, zc, tmp_path, name,
                                                         space_name, wrapper, prefix):
    """Every score of the written file equals the original file's for the same cell (NB-101:
    the written key is the pruned cell, the original the first unpruned key of that cell)."""
    import_scores("naslib-zc", zc / name, tmp_path, datasets={"cifar10": None})
    path, _ = export_scores(tmp_path, "naslib-zc", tmp_path / "out.json")
    original, written = json.loads((zc / name).read_text()), json.loads(path.read_text())
    if wrapper:
        original, written = original[wrapper], written[wrapper]
    space = naslib.get("space", space_name)
    original = _by_arch(original["cifar10"], space, prefix)
    written = _by_arch(written["cifar10"], space, prefix)
    assert set(written) == set(original)
    compared = 0
    for arch_id, entry in written.items():
        for field, value in entry.items():
            if field in ("arch", "idx"):
                continue
            theirs = original[arch_id][field]
            expected = theirs["score"] if isinstance(theirs, dict) else theirs
            score = value["score"] if isinstance(value, dict) else value
            assert score == expected, (arch_id, field)
            compared += 1
    assert compared == sum(len([f for f in e if f not in ("arch", "idx")])
                           for e in original.values()) - (1 if space_name == "nb201" else 0), \
        "every score but nwot's one -inf (stored as an inf trial, not exported) is written"


def test_round_trip_import_export_import(naslib, zc, tmp_path):
    import_scores("naslib-zc", zc / "naslib_zc_nasbench201.json", tmp_path / "a",
                  datasets={"ImageNet16-120": None})
    path, notes = export_scores(tmp_path / "a", "naslib-zc")
    assert notes == [] and path == tmp_path / "a" / "trials.naslib-zc"
    import_scores("naslib-zc", path, tmp_path / "b")
    assert _scores(tmp_path / "b") == _scores(tmp_path / "a")
    assert len(_scores(tmp_path / "b")) > 9000


def test_cli_import_then_report_puts_imported_beside_own(naslib, zc, tmp_path, capsys):
    """The acceptance path: import the real file, add own trials of the same archs (params is
    exact on both sides), and the report's agreement table pairs them."""
    from harness import compare

    run = tmp_path / "run"
    assert cli.main(["import", "naslib-zc", str(zc / "naslib_zc_nasbench201.json"), "--out",
                     str(run), "--dataset", "cifar10"]) == 0
    assert "9424 trials added" in capsys.readouterr().out
    archs = tmp_path / "archs.txt"
    keys = list(json.loads((zc / "naslib_zc_nasbench201.json").read_text())["cifar10"])[:12]
    archs.write_text("".join(f"naslib:{key}\n" for key in keys))
    compare(spaces=["nb201"], scorers=["params"], arch_list=str(archs), workers=0, out=str(run))
    report = build_report(run, bootstrap=0)
    table = next(t for t in report.tables if t.name == "agreement")
    row = ["nb201", "cifar10-valid", "naslib:params", "params"]
    assert table.cell(row, "n").value == 12
    assert table.cell(row, "kendall").value == pytest.approx(1.0), "same parameter counts"


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not JSON"),
    ("[]", "expected a JSON object"),
    ('{"cifar10": {"(9, 9, 9, 9, 9, 9)": {"synflow": 1.0}}}', "key '(9, 9, 9, 9, 9, 9)'"),
    ('{"cifar10": {"(1, 2, 3)": {"synflow": 1.0}}}', "has 3 numbers"),
    ('{"svhn": {"(0, 2, 3, 2, 3, 1)": {"synflow": 1.0}}}', "unknown NASLib dataset 'svhn'"),
    ('{"cifar10": {"(0, 2, 3, 2, 3, 1)": {"synflow": "high"}}}', "score 'high'"),
    ('{"cifar10": {"(0, 2, 3, 2, 3, 1)": {"synflow": {"time": 1}}}}', "expected {\"score\""),
])
def test_refusals_name_what_cannot_be_mapped(naslib, tmp_path, content, message):
    path = tmp_path / "zc.json"
    path.write_text(content)
    with pytest.raises(ExchangeFormatError, match=message.replace("(", r"\(").replace(
            ")", r"\)").replace("{", r"\{")):
        import_scores("naslib-zc", path, tmp_path / "run")
    assert not (tmp_path / "run" / "trials.sqlite").exists(), "nothing written on a refusal"


def test_dataset_choices_are_checked(naslib, zc, tmp_path, capsys):
    path = zc / "naslib_zc_nasbench201.json"
    with pytest.raises(ExchangeFormatError, match="no dataset 'svhn'"):
        import_scores("naslib-zc", path, tmp_path, datasets={"svhn": None})
    with pytest.raises(ExchangeFormatError, match="nb201 has no dataset 'cifar-ten'"):
        import_scores("naslib-zc", path, tmp_path, datasets={"cifar10": "cifar-ten"})
    assert cli.main(["import", "naslib-zc", str(path), "--out", str(tmp_path),
                     "--dataset", "cifar10=cifar10"]) == 0
    with sqlite3.connect(tmp_path / "trials.sqlite") as connection:
        assert connection.execute("SELECT DISTINCT dataset FROM trials").fetchall() == [
            ("cifar10",)]
    assert cli.main(["import", "no-such-format", str(path), "--out", str(tmp_path)]) == 2
    assert "unknown exchangeformat 'no-such-format'" in capsys.readouterr().err


def test_export_refuses_several_trials_of_one_arch(naslib, tmp_path):
    from harness import compare

    archs = tmp_path / "archs.txt"
    archs.write_text(f"naslib:{NB201_KEY}\n")
    compare(spaces=["nb201"], scorers=["params"], arch_list=str(archs), seeds=[0, 1],
            workers=0, out=str(tmp_path / "run"))
    with pytest.raises(Exception, match="2 ok trials"):
        export_scores(tmp_path / "run", "naslib-zc")


def test_export_writes_own_scores_under_naslib_names(naslib, tmp_path):
    from harness import compare

    archs = tmp_path / "archs.txt"
    archs.write_text(f"naslib:{NB201_KEY}\n")
    compare(spaces=["nb201"], scorers=["params"], arch_list=str(archs), workers=0,
            out=str(tmp_path / "run"))
    path, _ = export_scores(tmp_path / "run", "naslib-zc")
    entry = json.loads(path.read_text())["cifar10"][NB201_KEY]
    assert entry["arch"] == NB201_KEY and set(entry) == {"arch", "params", "val_accuracy"}
    truth = get_registry().get("space", "nb201").bundled_ground_truth().frame
    assert entry["val_accuracy"] == pytest.approx(truth.loc[NB201_ARCH, "cifar10-valid/x-valid"])
