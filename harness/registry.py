"""Finds plugins through the ``harness`` entry-point group and resolves names to plugin objects.

Environment switches:

- ``HARNESS_LOAD_PLUGINS=a,b``: load only these entry points (names or distribution names).
- ``HARNESS_DISABLE_PLUGINS=a,b``: skip these entry points (names or distribution names).
- ``HARNESS_TRACE_PLUGINS=1``: print every hook call and what each plugin registered to stderr.

A plugin whose import fails, or that implements a hook the harness does not define, is left out
with a warning; every other plugin still loads. Two plugins registering the same name for the
same kind is an error naming both.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

from harness import hookspecs
from harness.errors import DuplicatePluginError, PluginContractError, UnknownPluginError
from harness.protocols import Dataset, Executor, Reporter, Scorer, Searcher, Space

ENTRY_POINT_GROUP = "harness"

# kind -> (hook name, protocol the registered objects must satisfy)
KINDS: dict[str, tuple[str, type]] = {
    "space": ("harness_register_spaces", Space),
    "scorer": ("harness_register_scorers", Scorer),
    "searcher": ("harness_register_searchers", Searcher),
    "dataset": ("harness_register_datasets", Dataset),
    "executor": ("harness_register_executors", Executor),
    "reporter": ("harness_register_reporters", Reporter),
}
INIT_KINDS = ("weight", "bias")


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
    return {item.strip() for item in os.environ.get(variable, "").split(",") if item.strip()}


def _tracing() -> bool:
    return os.environ.get("HARNESS_TRACE_PLUGINS", "").strip() not in ("", "0", "false", "no")


class Registry:
    """The plugin manager plus the validated name tables for every plugin kind."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager("harness")
        self.pm.add_hookspecs(hookspecs)
        self._origin: dict[str, tuple[str, str]] = {}  # plugin name -> (distribution, version)
        self._entries: dict[str, dict[str, PluginEntry]] | None = None
        self.load_warnings: list[str] = []
        if _tracing():
            self.pm.add_hookcall_monitoring(self._trace_before, self._trace_after)

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
                       f"{', '.join(unknown)} and was rejected; known hooks: "
                       f"{', '.join(sorted(KINDS_HOOKS))}")
            return False
        self.pm.check_pending()
        self._origin[name] = (distribution, version)
        self._entries = None
        return True

    def unregister_plugin(self, name: str) -> None:
        """Remove a plugin registered under ``name`` and everything it registered."""
        self.pm.unregister(name=name)
        self._origin.pop(name, None)
        self._entries = None

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
    def _collect(self) -> dict[str, dict[str, PluginEntry]]:
        if self._entries is not None:
            return self._entries
        entries: dict[str, dict[str, PluginEntry]] = {kind: {} for kind in (*KINDS, *INIT_KINDS)}
        for kind, (hook_name, protocol) in KINDS.items():
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                self._call_impl(impl, hook_name, self._registrar(entries, kind, protocol, impl))
        for impl in self.pm.hook.harness_register_initializers.get_hookimpls():
            self._call_impl(impl, "harness_register_initializers",
                            self._init_registrar(entries, impl))
        self._entries = entries
        return entries

    def _call_impl(self, impl: Any, hook_name: str, register: Callable[..., None]) -> None:
        if _tracing():
            print(f"[harness] {hook_name} -> {impl.plugin_name}", file=sys.stderr)
        try:
            impl.function(register)
        except (DuplicatePluginError, PluginContractError):
            raise
        except Exception as exc:
            self._warn(f"plugin {impl.plugin_name!r} failed in {hook_name} and registered "
                       f"nothing more: {type(exc).__name__}: {exc}")

    def _entry(self, kind: str, name: str, obj: Any, impl: Any) -> PluginEntry:
        distribution, version = self._origin.get(impl.plugin_name, ("(in-process)", ""))
        return PluginEntry(kind, name, obj, impl.plugin_name, distribution, version)

    def _add(self, entries: dict[str, dict[str, PluginEntry]], entry: PluginEntry) -> None:
        table = entries[entry.kind]
        if not isinstance(entry.name, str) or not entry.name or any(c in entry.name for c in " ,="):
            raise PluginContractError(
                f"plugin {entry.plugin!r} registered a {entry.kind} with an invalid name "
                f"{entry.name!r}; names must be non-empty and contain no spaces, commas or '='")
        if entry.name in table:
            other = table[entry.name]
            raise DuplicatePluginError(
                f"{entry.kind} {entry.name!r} is registered twice: by plugin {other.plugin!r} "
                f"({other.distribution}) and by plugin {entry.plugin!r} ({entry.distribution}); "
                f"uninstall one or disable it with HARNESS_DISABLE_PLUGINS={entry.plugin}")
        table[entry.name] = entry
        if _tracing():
            print(f"[harness]   {entry.plugin} registered {entry.kind} {entry.name!r}",
                  file=sys.stderr)

    def _registrar(self, entries, kind: str, protocol: type, impl: Any) -> Callable[[Any], None]:
        def register(obj: Any) -> None:
            if not isinstance(obj, protocol):
                missing = [n for n in dir(protocol) if not n.startswith("_")
                           and n in getattr(protocol, "__protocol_attrs__", set())
                           and not hasattr(obj, n)]
                raise PluginContractError(
                    f"plugin {impl.plugin_name!r} registered {obj!r} as a {kind}, but it lacks "
                    f"{', '.join(missing) or 'required members'} of harness.protocols."
                    f"{protocol.__name__}")
            self._add(entries, self._entry(kind, obj.name, obj, impl))
        return register

    def _init_registrar(self, entries, impl: Any) -> Callable[[str, str, Callable], None]:
        def register(kind: str, name: str, function: Callable[..., None]) -> None:
            if kind not in INIT_KINDS:
                raise PluginContractError(
                    f"plugin {impl.plugin_name!r} registered an initializer of kind {kind!r}; "
                    f"use one of {', '.join(INIT_KINDS)}")
            self._add(entries, self._entry(kind, name, function, impl))
        return register

    # -- lookups ---------------------------------------------------------------------------
    def entries(self, kind: str) -> list[PluginEntry]:
        """Every registered object of ``kind``, sorted by name."""
        return sorted(self._collect()[kind].values(), key=lambda entry: entry.name)

    def names(self, kind: str) -> list[str]:
        return [entry.name for entry in self.entries(kind)]

    def get(self, kind: str, name: str) -> Any:
        """The object registered as ``name``; ``UnknownPluginError`` lists the known names."""
        table = self._collect()[kind]
        if name in table:
            return table[name].obj
        known = sorted(table)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise UnknownPluginError(
            f"unknown {kind} {name!r}.{hint} Known {kind}s: "
            f"{', '.join(known) or '(none installed)'}. Run `harness plugins` to see what is "
            f"installed.")

    # -- tracing ---------------------------------------------------------------------------
    @staticmethod
    def _trace_before(hook_name: str, hook_impls: list, kwargs: dict) -> None:
        plugins = ", ".join(impl.plugin_name for impl in hook_impls)
        print(f"[harness] calling {hook_name} on {plugins}", file=sys.stderr)

    @staticmethod
    def _trace_after(outcome: Any, hook_name: str, hook_impls: list, kwargs: dict) -> None:
        print(f"[harness] {hook_name} done", file=sys.stderr)


KINDS_HOOKS = {hook for hook, _ in KINDS.values()} | {
    "harness_register_initializers", "harness_register_commands"}

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
