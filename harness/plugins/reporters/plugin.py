"""Registers the built-in report formats (``formats.py``): md, csv, json, tex, html, plots."""

from harness.hookspecs import Register, hookimpl
from harness.protocols import Reporter


@hookimpl
def harness_register_reporters(register: Register[Reporter]) -> None:
    from harness.plugins.reporters import formats

    for reporter in (formats.MarkdownReporter(), formats.CsvReporter(), formats.JsonReporter(),
                     formats.LatexReporter(), formats.HtmlReporter(), formats.PlotsReporter()):
        register(reporter)
