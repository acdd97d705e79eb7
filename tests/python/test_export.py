"""affsig.export: TorchScript files the engine reads with the module names of the eager model."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torchvision

import affsig
import paper_affinity
from support import program, reused_relu_cnn, samples


@pytest.mark.parametrize("method", ["script", "trace"])
def test_a_torchvision_model_keeps_the_module_paths_of_the_engine(
        client: affsig.Client, tmp_path: Path, method: str) -> None:
    torch.manual_seed(0)
    model = torchvision.models.mobilenet_v3_small(num_classes=10).eval()
    batch = samples(8, 3, 32, 32)
    path = tmp_path / "model.pt"
    affsig.export(model, batch, method=method, path=path)

    signature = client.submit(model=path, input=batch, progress=False).result()
    np.save(tmp_path / "input.npy", batch)
    engine = json.loads(subprocess.run(
        [program("AFFSIG_ENGINE_BINARY"), f"--model={path}", f"--input={tmp_path / 'input.npy'}",
         "--threads=1", "--format=json"], capture_output=True, text=True, check=True).stdout)
    # The eager model's own calls of activation modules, as the paper's algorithm records them.
    reference, _ = paper_affinity.signature(model, torch.from_numpy(batch), "modules")

    entries = [(e.module, e.call, e.op) for e in signature.entries]
    assert entries == [(e["module"], e["call"], e["op"]) for e in engine]
    assert entries == [(e["module"], e["call"], e["op"]) for e in reference]
    assert ("features.1.block.1.scale_activation", 0, "Hardsigmoid") in entries
    assert [e.score for e in signature.entries] == pytest.approx(
        [e["score"] for e in reference], abs=1e-3)


def test_the_file_is_torchscript_with_every_module_and_not_frozen(tmp_path: Path) -> None:
    model = reused_relu_cnn()
    with pytest.warns(affsig.FunctionalActivationsWarning):
        exported = affsig.export(model, samples(4, 3, 8, 8), path=tmp_path / "model.pt")
    loaded = torch.jit.load(str(tmp_path / "model.pt"))
    assert [name for name, _ in loaded.named_modules()] == [
        name for name, _ in model.named_modules()]
    assert isinstance(exported, torch.jit.ScriptModule)
    assert exported.relu.original_name == "ReLU"


def test_a_model_in_training_mode_is_exported_in_eval_mode_and_left_as_it_was() -> None:
    model = nn.Sequential(nn.Linear(16, 16), nn.Dropout(0.5), nn.ReLU()).train()
    with pytest.warns(affsig.ExportWarning, match="training mode"):
        exported = affsig.export(model, samples(8, 16))  # dropout would fail the output check
    assert model.training
    example = torch.from_numpy(samples(8, 16, seed=1))
    assert torch.equal(exported(example), model.eval()(example))


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 8)
        self.act = nn.GELU()  # F.gelu inside: the module's own call

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.act(self.linear(x))).relu_()


def test_functional_activations_are_named_as_what_only_all_scores() -> None:
    with pytest.warns(affsig.FunctionalActivationsWarning) as caught:
        affsig.export(Functional().eval(), samples(4, 8))
    (warning,) = [w for w in caught if w.category is affsig.FunctionalActivationsWarning]
    assert str(warning.message) == ("activations called as functions, which only "
                                    "activations='all' scores: tanh in '', relu in ''")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        affsig.export(nn.Sequential(nn.Linear(8, 8), nn.GELU()).eval(), samples(4, 8))


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.sum() > 0):
            return self.act(x)
        return -x


def test_tracing_warns_about_control_flow_that_scripting_keeps() -> None:
    positive, negative = torch.ones(4, 3), -torch.ones(4, 3)
    with pytest.warns(affsig.ExportWarning, match="test_export.py:.*Python boolean"):
        traced = affsig.export(DataDependent().eval(), positive, method="trace")
    assert torch.equal(traced(negative), torch.zeros(4, 3))  # the path the example took

    with warnings.catch_warnings():
        warnings.simplefilter("error", affsig.ExportWarning)
        scripted = affsig.export(DataDependent().eval(), positive, method="script")
    assert torch.equal(scripted(negative), torch.ones(4, 3))


class Counting(nn.Module):
    """Its output depends on how often it ran: tracing keeps the count it saw as a constant."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.runs += 1
        return x * self.runs


def test_an_export_that_does_not_reproduce_the_model_is_refused() -> None:
    with pytest.raises(ValueError, match="does not reproduce output 0"):
        affsig.export(Counting().eval(), torch.ones(2, 2), method="trace")


def test_what_cannot_be_exported_says_why() -> None:
    with pytest.raises(ValueError, match="method must be"):
        affsig.export(nn.ReLU(), torch.ones(2), method="freeze")
    with pytest.raises(TypeError, match="TorchScript already"):
        affsig.export(torch.jit.script(nn.ReLU()), torch.ones(2))
    with pytest.raises(TypeError, match="torch.nn.Module"):
        affsig.export(lambda x: x, torch.ones(2))
