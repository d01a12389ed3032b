"""The nbnlp space: recipes, the benchmark's language model (parameter counts of every real
log), the log reader and prepared table, sampling and mutation, and a compare run."""

import json
import math
import random
import zipfile

import pandas as pd
import pytest
import torch

from harness import cli
from harness.config import RunConfig
from harness.errors import BenchmarkFileError, ConfigError
from harness.groundtruth.table import GroundTruthTable
from harness.plan import plan_run
from harness.plugins.spaces.nbnlp.generator import follows_rules, mutate_recipe, random_recipe
from harness.plugins.spaces.nbnlp.logs import read_logs
from harness.plugins.spaces.nbnlp.model import ModelSizes, NBNLPModel
from harness.plugins.spaces.nbnlp.prepare import read_table
from harness.plugins.spaces.nbnlp.recipe import parse_recipe, recipe_hash
from harness.plugins.spaces.nbnlp.space import NBNLPSpace

LOGS = "nbnlp/train_logs_wikitext-2_logs.zip"
WIKITEXT2_VOCAB = 33278
LSTM = {"i": {"op": "linear", "input": ["x", "h_prev_0"]},
        "c": {"op": "elementwise_sum", "input": ["i", "h_prev_1"]},
        "h_new_1": {"op": "activation_tanh", "input": ["c"]},
        "h_new_0": {"op": "blend", "input": ["i", "h_new_1", "h_prev_0"]}}


@pytest.mark.parametrize("recipe, message", [
    ({"a": {"op": "linear", "input": ["x"]}}, "no node 'h_new_0'"),
    ({"h_new_0": {"op": "conv", "input": ["x"]}}, "unknown op 'conv'"),
    ({"h_new_0": {"op": "linear", "input": ["y"]}}, "unknown input 'y'"),
    ({"h_new_0": {"op": "activation_tanh", "input": ["a"]},
      "a": {"op": "activation_sigm", "input": ["h_new_0"]}}, "cycle among nodes a, h_new_0"),
    ({"h_new_0": {"op": "linear", "input": ["x", "h_prev_1"]}}, "only has 1 hidden state"),
    ({"h_new_0": {"op": "linear", "input": ["x"]},
      "h_new_2": {"op": "linear", "input": ["x"]}}, "without gaps"),
    ({"h_new_0": {"op": "blend", "input": ["x", "x"]}}, "blend takes 3-3 inputs"),
    ("[1, 2]", "non-empty JSON object"),
    ("{not json", "not valid JSON"),
])
def test_invalid_recipes_name_the_problem(recipe, message):
    with pytest.raises(ConfigError, match=message):
        parse_recipe(recipe)


def test_recipe_order_and_hash_do_not_depend_on_key_order():
    recipe = parse_recipe(LSTM)
    assert [node.name for node in recipe.nodes] == ["i", "c", "h_new_1", "h_new_0"]
    assert recipe.hidden_count == 2
    reordered = parse_recipe(dict(reversed(list(LSTM.items()))))
    assert recipe_hash(reordered) == recipe_hash(recipe) and recipe_hash(recipe).startswith("sha:")


def test_parameter_counts_equal_every_log(shared_data):
    """The exact test of the builder: the benchmark's num_params for all 345 logs (built on
    the meta device, so no memory is filled)."""
    runs = list(read_logs(shared_data / LOGS))
    assert len(runs) == 345
    for run in runs:
        with torch.device("meta"):
            model = NBNLPModel(parse_recipe(run.recipe_json), WIKITEXT2_VOCAB, run.sizes)
        count = sum(p.numel() for p in model.parameters())
        assert count == run.num_params, f"{run.file}: built {count}, logged {run.num_params}"


def test_model_dropouts_only_in_training_and_deterministic_under_seed():
    recipe = parse_recipe(LSTM)
    torch.manual_seed(0)
    model = NBNLPModel(recipe, 50, ModelSizes(emsize=8, nhid=12))
    tokens = torch.randint(0, 50, (3, 7))
    model.eval()
    assert model(tokens).shape == (3, 7, 50)
    assert torch.equal(model(tokens), model(tokens)), "eval mode has no dropout"
    model.train()
    torch.manual_seed(1)
    first = model(tokens)
    torch.manual_seed(1)
    assert torch.equal(first, model(tokens)), "same seed, same masks"
    assert not torch.equal(first, model(tokens)), "training draws new masks"
    bound = 1 / math.sqrt(12)
    cell = model.rnns[0].linears["i"]
    assert all(p.abs().max() <= bound for p in cell.parameters())
    assert cell[0].bias is not None and cell[1].bias is None, "one bias per linear node"


def test_prepare_keeps_every_status_and_the_three_targets(shared_data):
    table = read_table(shared_data / LOGS)
    summary = pd.read_csv(shared_data / "nbnlp/nbnlp_wikitext2_summary.csv")
    assert table.source["statuses"] == {"OK": 341, "loss is nan!": 4}
    assert len(table.frame) == 344, "one recipe id (1002429) was trained twice"
    assert (table.frame["status"] == "loss is nan!").sum() == 4
    assert table.frame.loc["1002429", "runs_ok"] == 2
    assert all(not m.higher_is_better for m in table.metrics)
    assert table.default_metric == {"wikitext2": "wikitext2/final_test_loss"}
    single = summary[summary.recepie_id != 1002429]
    single.index = single.recepie_id.astype(str)
    for column in ("final_test_loss", "min_test_loss", "test_loss_at_best_val"):
        target = "best_val_test_loss" if column == "test_loss_at_best_val" else column
        ok = single[single.status == "OK"]
        assert (table.frame.loc[ok.index, f"wikitext2/{target}"] - ok[column]).abs().max() < 1e-8
    diverged = table.frame[table.frame.status != "OK"]
    assert diverged["wikitext2/final_test_loss"].isna().all()
    row = table.frame.loc["1000000"]
    assert row["wikitext2/final_test_ppl"] == pytest.approx(
        math.exp(row["wikitext2/final_test_loss"]))


def _write_zip(path, logs):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in logs.items():
            archive.writestr(name, text)
    return path


def test_damaged_logs_are_one_clear_error(tmp_path):
    with pytest.raises(BenchmarkFileError, match="not valid JSON"):
        read_table(_write_zip(tmp_path / "a.zip", {"log.json": '{"status": NaN'}))
    with pytest.raises(BenchmarkFileError, match="lacks"):
        read_table(_write_zip(tmp_path / "b.zip", {"log.json": '{"status": "OK"}'}))
    with pytest.raises(BenchmarkFileError, match="no \\*.json logs"):
        read_table(_write_zip(tmp_path / "c.zip", {"readme.txt": "x"}))
    (tmp_path / "d.zip").write_text("not a zip")
    with pytest.raises(BenchmarkFileError, match="not a readable zip"):
        read_table(tmp_path / "d.zip")


def test_bare_nan_tokens_and_folders_are_read(tmp_path):
    log = {"data": "data/penn", "recepie_id": 7, "recepie": json.dumps(LSTM), "status": "OK",
           "num_params": 1, "val_losses": [5.0, 4.0], "test_losses": [5.5, 4.5]}
    text = json.dumps(log).replace("[5.0, 4.0]", "[NaN, 4.0]")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "log_stats_model_7_a.json").write_text(text)
    table = read_table(tmp_path / "logs")
    assert table.datasets == ["ptb"]
    assert table.frame.loc["7", "ptb/best_val_test_loss"] == 4.5


def test_generator_rules_hold_for_released_and_drawn_recipes(shared_data):
    released = [parse_recipe(run.recipe_json) for run in read_logs(shared_data / LOGS)]
    assert all(follows_rules(recipe) for recipe in released)
    rng = random.Random(0)
    for _ in range(20):
        recipe = random_recipe(rng)
        assert follows_rules(recipe)
        child = mutate_recipe(recipe, rng)
        assert follows_rules(child) and child.to_json() != recipe.to_json()


def test_space_ids_sampling_and_mutation(tmp_path, shared_data):
    space = NBNLPSpace()
    space.prepare(shared_data / LOGS, tmp_path)
    table = space.ground_truth(tmp_path)
    assert isinstance(table, GroundTruthTable)
    assert space.parse_arch(1000000) == "1000000"
    benchmark_recipe = table.frame.loc["1000001", "recipe"]
    assert space.parse_arch(benchmark_recipe) == "1000001", "a known recipe gets its recepie_id"
    new_id = space.parse_arch(json.dumps(LSTM))
    assert new_id.startswith("sha:") and space.recipe(new_id).hidden_count == 2
    with pytest.raises(ConfigError, match="not an NB-NLP architecture"):
        space.parse_arch("lstm")
    sampled = space.sample_archs(3, random.Random(1))
    assert len(set(sampled)) == 3 and space.sample_archs(3, random.Random(1)) == sampled
    assert space.mutate("1000001", random.Random(2)) != "1000001"


def test_compare_runs_on_the_prepared_wikitext2_set(tmp_path, shared_data, capsys):
    data_dir = tmp_path / "data"
    assert cli.main(["data", "prepare", "nbnlp", "--source", str(shared_data / LOGS),
                     "--data-dir", str(data_dir)]) == 0
    code = cli.main(["compare", "--spaces", "nbnlp", "--scorers", "params", "--samples", "6",
                     "--workers", "0", "--data-dir", str(data_dir), "--out",
                     str(tmp_path / "run"), "--quiet", "--format", "md"])
    assert code == 0, capsys.readouterr().err
    report = (tmp_path / "run" / "report.md").read_text()
    assert "nbnlp" in report and "lower is better" in report


def test_spaces_all_includes_the_prepared_nbnlp(tmp_path, shared_data):
    data_dir = tmp_path / "data"
    NBNLPSpace().prepare(shared_data / LOGS, data_dir)
    plan = plan_run(RunConfig(spaces=["all"], scorers=["params"], samples=3, workers=0,
                              data_dir=str(data_dir), out=str(tmp_path / "run")))
    nbnlp = [space for space in plan.spaces if space.name == "nbnlp"]
    assert nbnlp and nbnlp[0].datasets == ["wikitext2"]
    job = next(job for job in plan.jobs if job.trial.space == "nbnlp")
    assert job.num_classes == 33278 and job.model_options["emsize"] == 400
