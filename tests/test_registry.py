"""Plugin discovery through entry points, name clashes, broken plugins and the env switches."""

import pytest
import toy_plugins

from harness import hookimpl
from harness import registry as registry_module
from harness.errors import (
    ConfigError,
    DuplicatePluginError,
    PluginContractError,
    ScorerSkipped,
    UnknownPluginError,
)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site folder on sys.path holding the toy plugins as an installed distribution."""
    site = tmp_path / "site"
    toy_plugins.write_distribution(site)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(toy_plugins.TESTS_DIR))
    monkeypatch.delenv("HARNESS_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("HARNESS_TRACE_PLUGINS", raising=False)
    registry_module.reset_registry()
    yield site
    registry_module.reset_registry()


def _load():
    registry_module.reset_registry()
    return registry_module.get_registry()


def test_plugin_of_an_installed_distribution_is_found_by_entry_point(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    entries = {e.name: e for e in _load().entries("scorer")}
    assert set(entries) == {s.name for s in toy_plugins.SCORERS}, "only the allow-listed plugin"
    width = entries["width"]
    assert (width.plugin, width.distribution, width.version) == (
        "toy", "harness-toy-plugins", "0.0.1")


def test_allow_list_accepts_distribution_names_and_disable_list_wins(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "harness-toy-plugins,initializers")
    assert "width" in _load().names("scorer")
    monkeypatch.setenv("HARNESS_DISABLE_PLUGINS", "toy")
    registry = _load()
    assert registry.names("scorer") == [] and registry.names("weight") == [
        "default", "kaiming", "xavier"]


def test_broken_plugin_warns_and_the_others_still_load(site, monkeypatch):
    (site / "broken_plugin.py").write_text("raise RuntimeError('kaput on import')\n")
    toy_plugins.write_distribution(site, module="broken_plugin", entry_point="broken",
                                   name="harness-broken")
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy,broken")
    with pytest.warns(UserWarning, match="plugin 'broken'.*RuntimeError: kaput on import"):
        registry = _load()
    assert "width" in registry.names("scorer")
    assert any("broken" in message for message in registry.load_warnings)


def test_trace_prints_every_hook_call(site, monkeypatch, capsys):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    monkeypatch.setenv("HARNESS_TRACE_PLUGINS", "1")
    _load().names("scorer")
    err = capsys.readouterr().err
    assert "harness_register_scorers -> toy" in err
    assert "toy registered scorer 'width'" in err


class _Clash:
    """Registers a scorer under a name the toy plugins already use."""

    @hookimpl
    def harness_register_scorers(self, register):
        register(toy_plugins.Width())


def test_duplicate_scorer_names_name_both_providers(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    registry = _load()
    registry.register_plugin(_Clash(), "clash")
    with pytest.raises(DuplicatePluginError) as error:
        registry.names("scorer")
    message = str(error.value)
    assert "'toy' (harness-toy-plugins)" in message and "'clash' ((in-process))" in message


def test_duplicate_plugin_names_are_refused(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    registry = _load()
    with pytest.raises(DuplicatePluginError, match="two plugins are named 'toy'"):
        registry.register_plugin(_Clash(), "toy")


class _UnknownHook:
    @hookimpl
    def harness_register_widgets(self, register):
        register("widget")


def test_implementation_of_an_unknown_hook_is_rejected(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    registry = _load()
    with pytest.warns(UserWarning, match="unknown hook.*harness_register_widgets"):
        assert registry.register_plugin(_UnknownHook(), "widgets") is False
    assert registry.pm.get_plugin("widgets") is None


class _NotAScorer:
    name = "half"

    @hookimpl
    def harness_register_scorers(self, register):
        register(self)


def test_object_breaking_its_protocol_is_refused(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    registry = _load()
    registry.register_plugin(_NotAScorer(), "half")
    with pytest.raises(PluginContractError, match="harness.protocols.Scorer"):
        registry.names("scorer")


def test_unknown_name_lists_known_names_and_the_closest(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    with pytest.raises(UnknownPluginError) as error:
        _load().get("scorer", "widht")
    message = str(error.value)
    assert "unknown scorer 'widht'. Did you mean 'width'?" in message
    assert "boom, crash, nan, oom, skipper, sleepy, weightsum, width" in message


def test_missing_protocol_members_are_named_on_every_python(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    registry = _load()
    registry.register_plugin(_NotAScorer(), "half")
    with pytest.raises(PluginContractError) as error:
        registry.names("scorer")
    assert "lacks defaults, needs_inputs, score of harness.protocols.Scorer" in str(error.value)


class _OddInitializer:
    name, kind = "ones", "gamma"

    def __call__(self, model):
        pass

    @hookimpl
    def harness_register_initializers(self, register):
        register(self)


def test_initializer_of_an_unknown_kind_is_refused(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy,initializers")
    registry = _load()
    registry.register_plugin(_OddInitializer(), "odd")
    with pytest.raises(PluginContractError, match="of kind 'gamma'; use one of weight, bias"):
        registry.names("bias")


class _NewStyleWrapper:
    """A ``wrapper=True`` implementation that registers before handing on (pluggy >= 1.2)."""

    @hookimpl(wrapper=True)
    def harness_register_scorers(self, register):
        register(_Named(toy_plugins.Width(), "wrapped-new"))
        return (yield)


class _OldStyleWrapper:
    @hookimpl(hookwrapper=True)
    def harness_register_scorers(self, register):
        register(_Named(toy_plugins.Width(), "wrapped-old"))
        yield


class _NoArguments:
    """Takes none of the hook's arguments, as pluggy allows."""

    calls = 0

    @hookimpl
    def harness_register_scorers(self):
        _NoArguments.calls += 1


class _Named:
    """``scorer`` under another name."""

    def __init__(self, scorer, name):
        self.name, self.needs_inputs, self.defaults = name, scorer.needs_inputs, scorer.defaults
        self.score = scorer.score


def test_hookwrappers_and_implementations_taking_fewer_arguments_work(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy")
    registry = _load()
    for name, plugin in (("new", _NewStyleWrapper()), ("old", _OldStyleWrapper()),
                         ("bare", _NoArguments())):
        registry.register_plugin(plugin, name)
    entries = {entry.name: entry.plugin for entry in registry.entries("scorer")}
    assert (entries["wrapped-new"], entries["wrapped-old"], entries["width"]) == (
        "new", "old", "toy"), "each object is attributed to the plugin that registered it"
    assert _NoArguments.calls == 1 and registry.load_warnings == []


def test_every_hook_call_goes_through_pluggy(site, monkeypatch):
    monkeypatch.setenv("HARNESS_LOAD_PLUGINS", "toy,initializers")
    registry = _load()
    calls = []
    registry.pm.add_hookcall_monitoring(
        lambda hook, impls, kwargs: calls.append((hook, [i.plugin_name for i in impls])),
        lambda outcome, hook, impls, kwargs: None)
    registry.names("scorer")
    registry.names("weight")
    registry.names("bias")  # filled by the same call as "weight"
    assert calls == [("harness_register_scorers", ["toy"]),
                     ("harness_register_initializers", ["initializers"])]


class _SpaceWithoutExtras:
    """Only the required members of ``Space``."""

    name, datasets = "bare", {"toyset": "toyset"}

    def parse_arch(self, text):
        return text

    def ground_truth(self, data_dir):
        return toy_plugins.toy_table()

    def prepare(self, source, data_dir, **options):
        return source

    def build_model(self, arch_id, *, num_classes, **options):
        return toy_plugins.ToySpace().build_model(arch_id, num_classes=num_classes)


def test_optional_abilities_are_separate_protocols():
    import random
    from types import SimpleNamespace

    from harness.plugins.scorers.gennas.plugin import named_task
    from harness.plugins.scorers.gennas.scorer import run_task
    from harness.plugins.searchers.algorithms import RegularizedEvolution
    from harness.protocols import MutableSpace, Space, TappedSpace

    bare = _SpaceWithoutExtras()
    assert isinstance(bare, Space) and not isinstance(bare, MutableSpace | TappedSpace)
    assert isinstance(toy_plugins.ToySpace(), MutableSpace | TappedSpace)
    with pytest.raises(ConfigError, match="space 'bare' has no mutate method"):
        RegularizedEvolution(population_size=2, sample_size=1).search(
            bare, toy_plugins.ARCHS, lambda arch: 0.0, 5, random.Random(0))
    with pytest.raises(ScorerSkipped, match="space 'bare' does not expose its stage outputs"):
        run_task(SimpleNamespace(space=bare), named_task("gennas-combo"))
