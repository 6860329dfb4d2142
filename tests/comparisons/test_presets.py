"""Every preset of every comparison builds its study (configs validate before any run starts)."""

import importlib

import pytest

MODULES = ["bpn", "burgers", "darcy", "fisher_kpp", "gbm", "heat", "poisson", "singular"]


@pytest.mark.parametrize("name", MODULES)
def test_every_preset_builds(name):
    comparison = importlib.import_module(f"comparisons.{name}").COMPARISON
    for preset, (make, _) in comparison.presets.items():
        study = make()
        assert study.configs, (name, preset)
