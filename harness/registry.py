"""Finds plugins through the ``harness`` entry-point group and resolves names to plugin objects.

Environment switches:

- ``HARNESS_LOAD_PLUGINS=a,b``: load only these entry points (names or distribution names).
- ``HARNESS_DISABLE_PLUGINS=a,b``: skip these entry points (names or distribution names).
- ``HARNESS_TRACE_PLUGINS=1``: print every hook call and what each plugin registered to stderr.

A plugin whose import fails, or that implements a hook the harness does not define, is left out
with a warning; every other plugin still loads. Two plugins registering the same name for the
same kind is an error naming both: to know who registered what, a kind's hook is called once per
plugin, through pluggy (``pm.subset_hook_caller``), with a ``register`` bound to that plugin. A
plugin's hook wrappers therefore wrap its own implementation of that hook, not other plugins'.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import sys
import typing
import warnings
from dataclasses import dataclass
from typing import Any

import pluggy

from harness import hookspecs
from harness.errors import DuplicatePluginError, PluginContractError, UnknownPluginError
from harness.names import split_names
from harness.protocols import INIT_KINDS, Initializer, missing_members

ENTRY_POINT_GROUP = "harness"


@dataclass(frozen=True)
class PluginKind:
    """One kind of plugin object: the hook that registers it and the Protocol it satisfies."""

    hook: str
    protocol: type


def _kinds_from_hookspecs() -> dict[str, PluginKind]:
    """kind name -> PluginKind, read from each hook's ``register: Register[Protocol]``."""
    kinds = {}
    for hook_name, spec in vars(hookspecs).items():
        register_type = typing.get_type_hints(spec).get("register") if hook_name.startswith(
            "harness_") else None
        if register_type is not None:
            (protocol,), _ = typing.get_args(register_type)
            kinds[protocol.__name__.lower()] = PluginKind(hook_name, protocol)
    return kinds


KINDS = _kinds_from_hookspecs()  # space, scorer, ..., initializer
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("harness_"))
# The name tables lookups use: one per kind, except that initializers go to "weight" or "bias".
TABLES = tuple(kind for kind in KINDS if kind != "initializer") + INIT_KINDS


@dataclass(frozen=True)
class PluginEntry:
    """One registered object and where it came from."""

    kind: str
    name: str
    obj: Any
    plugin: str
    distribution: str
    version: str


def _env_list(variable: str) -> set[str]:
    return set(split_names(os.environ.get(variable, "")))


def _tracing() -> bool:
    return os.environ.get("HARNESS_TRACE_PLUGINS", "").strip() not in ("", "0", "false", "no")


class Registry:
    """The plugin manager plus the validated name tables for every plugin kind.

    A kind's hook is called on first lookup of that kind only, so listing spaces never imports
    a scorer.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("harness")
        self.pm.add_hookspecs(hookspecs)
        self._origin: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self._tables: dict[str, dict[str, PluginEntry]] = {}  # table -> name -> entry
        self.load_warnings: list[str] = []
        if _tracing():
            self.pm.add_hookcall_monitoring(_trace_before, _trace_after)

    # -- loading ---------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        """Import and register every allowed plugin of the ``harness`` entry-point group."""
        allow, deny = _env_list("HARNESS_LOAD_PLUGINS"), _env_list("HARNESS_DISABLE_PLUGINS")
        seen: set[str] = set()
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist_name = ep.dist.name if ep.dist else "?"
            dist_version = ep.dist.version if ep.dist else "?"
            if ep.name in seen:
                continue
            seen.add(ep.name)
            if allow and not ({ep.name, dist_name} & allow):
                continue
            if {ep.name, dist_name} & deny:
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down
                self._warn(f"plugin {ep.name!r} ({dist_name} {dist_version}) failed to import "
                           f"and was skipped: {type(exc).__name__}: {exc}")
                continue
            self.register_plugin(module, ep.name, dist_name, dist_version)

    def register_plugin(self, plugin: object, name: str, distribution: str = "(in-process)",
                        version: str = "") -> bool:
        """Register a plugin module or object by name (tests use this directly)."""
        if self.pm.get_plugin(name) is not None:
            raise DuplicatePluginError(
                f"two plugins are named {name!r} ({self._origin[name][0]} and {distribution}); "
                f"uninstall one, or skip one with HARNESS_DISABLE_PLUGINS={name}")
        self.pm.register(plugin, name=name)
        unknown = [caller.name for caller in self.pm.get_hookcallers(plugin) or []
                   if caller.spec is None]
        if unknown:
            self.pm.unregister(plugin)
            self._warn(f"plugin {name!r} ({distribution}) implements unknown hook(s) "
                       f"{', '.join(unknown)} and was rejected; known hooks: {', '.join(HOOKS)}")
            return False
        self.pm.check_pending()
        self._origin[name] = (distribution, version)
        self._tables = {}
        return True

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin registered under ``name`` and everything it registered."""
        self.pm.unregister(name=name)
        self._origin.pop(name, None)
        self._tables = {}

    def inprocess_plugins(self) -> list[tuple[str, object]]:
        """(name, plugin) of plugins added by ``register_plugin`` rather than an entry point.

        Worker processes load entry points themselves; executors pass them these too.
        """
        return [(name, plugin) for name, plugin in self.pm.list_name_plugin()
                if name in self._origin and self._origin[name][0] == "(in-process)"]

    def _warn(self, message: str) -> None:
        self.load_warnings.append(message)
        warnings.warn(message, stacklevel=3)

    # -- collecting objects ----------------------------------------------------------------
    def _table(self, table: str) -> dict[str, PluginEntry]:
        """The name table ``table``, calling its kind's hook on first use."""
        if table not in self._tables:
            if table not in TABLES:
                raise KeyError(f"no plugin kind {table!r}; kinds: {', '.join(TABLES)}")
            self._tables.update(self._collect("initializer" if table in INIT_KINDS else table))
        return self._tables[table]

    def _collect(self, kind: str) -> dict[str, dict[str, PluginEntry]]:
        """Call ``kind``'s hook once per plugin, so each ``register`` knows whose objects it
        receives; the calls go through pluggy (``subset_hook_caller``): wrappers, argument
        subsets and ``HARNESS_TRACE_PLUGINS`` work as for any pluggy hook."""
        hook = KINDS[kind].hook
        tables: dict[str, dict[str, PluginEntry]] = {
            table: {} for table in (INIT_KINDS if kind == "initializer" else (kind,))}
        implementers = dict.fromkeys((impl.plugin_name, impl.plugin)
                                     for impl in getattr(self.pm.hook, hook).get_hookimpls())
        for plugin_name, plugin in implementers:
            others = [other for _, other in self.pm.list_name_plugin()
                      if other is not None and other is not plugin]
            register = _Registrar(self, kind, plugin_name, tables)
            try:
                self.pm.subset_hook_caller(hook, others)(register=register)
            except (DuplicatePluginError, PluginContractError):
                raise
            except Exception as exc:
                self._warn(f"plugin {plugin_name!r} failed in {hook} and registered nothing "
                           f"more: {type(exc).__name__}: {exc}")
        return tables

    def _entry(self, kind: str, name: str, obj: Any, plugin: str) -> PluginEntry:
        distribution, version = self._origin.get(plugin, ("(in-process)", ""))
        return PluginEntry(kind, name, obj, plugin, distribution, version)

    # -- lookups ---------------------------------------------------------------------------
    def entries(self, kind: str) -> list[PluginEntry]:
        """Every registered object of ``kind`` (one of ``TABLES``), sorted by name."""
        return sorted(self._table(kind).values(), key=lambda entry: entry.name)

    def names(self, kind: str) -> list[str]:
        return [entry.name for entry in self.entries(kind)]

    def get(self, kind: str, name: str) -> Any:
        """The object registered as ``name``; ``UnknownPluginError`` lists the known names."""
        table = self._table(kind)
        if name in table:
            return table[name].obj
        known = sorted(table)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownPluginError(
            f"unknown {kind} {name!r}.{hint} Known {kind}s: "
            f"{', '.join(known) or '(none installed)'}. Run `harness plugins` to see what is "
            f"installed.")


class _Registrar:
    """The ``register`` callback of one plugin's hook call: validates and files each object."""

    def __init__(self, registry: Registry, kind: str, plugin: str,
                 tables: dict[str, dict[str, PluginEntry]]) -> None:
        self.registry, self.kind, self.plugin, self.tables = registry, kind, plugin, tables
        self.registered: list[str] = []  # "scorer 'width'", for the trace

    def __call__(self, obj: Any) -> None:
        protocol = KINDS[self.kind].protocol
        if not isinstance(obj, protocol):
            raise PluginContractError(
                f"plugin {self.plugin!r} registered {obj!r} as a {self.kind}, but it lacks "
                f"{', '.join(missing_members(obj, protocol))} of harness.protocols."
                f"{protocol.__name__}")
        table = self._table_of(obj)
        name = obj.name
        if not isinstance(name, str) or not name or any(c in name for c in " ,="):
            raise PluginContractError(
                f"plugin {self.plugin!r} registered a {table} with an invalid name {name!r}; "
                f"names must be non-empty and contain no spaces, commas or '='")
        entry = self.registry._entry(table, name, obj, self.plugin)
        if name in self.tables[table]:
            other = self.tables[table][name]
            raise DuplicatePluginError(
                f"{table} {name!r} is registered twice: by plugin {other.plugin!r} "
                f"({other.distribution}) and by plugin {entry.plugin!r} ({entry.distribution}); "
                f"uninstall one or disable it with HARNESS_DISABLE_PLUGINS={entry.plugin}")
        self.tables[table][name] = entry
        self.registered.append(f"{table} {name!r}")

    def _table_of(self, obj: Any) -> str:
        """The table ``obj`` goes to: its kind's; an initializer's own ``kind``."""
        if not isinstance(obj, Initializer):
            return self.kind
        if obj.kind not in INIT_KINDS:
            raise PluginContractError(
                f"plugin {self.plugin!r} registered initializer {obj.name!r} of kind "
                f"{obj.kind!r}; use one of {', '.join(INIT_KINDS)}")
        return obj.kind


# -- tracing (HARNESS_TRACE_PLUGINS=1), through pluggy's hook-call monitoring -----------------
def _trace_before(hook_name: str, hook_impls: list, kwargs: dict) -> None:
    plugins = ", ".join(dict.fromkeys(impl.plugin_name for impl in hook_impls))
    print(f"[harness] {hook_name} -> {plugins or '(no plugin implements it)'}", file=sys.stderr)


def _trace_after(outcome: Any, hook_name: str, hook_impls: list, kwargs: dict) -> None:
    register = kwargs.get("register")
    for item in getattr(register, "registered", []):
        print(f"[harness]   {register.plugin} registered {item}", file=sys.stderr)
    if outcome.exception is not None:
        print(f"[harness]   {hook_name} raised {outcome.exception!r}", file=sys.stderr)


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, loading entry points on first use."""
    global _registry
    if _registry is None:
        _registry = Registry()
        _registry.load_entry_points()
    return _registry


def reset_registry() -> None:
    """Forget the loaded registry (after installing a plugin, or between tests)."""
    global _registry
    _registry = None
