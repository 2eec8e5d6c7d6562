"""Run records: the committed ones load, broken ones are refused naming file and field, helpers find runs."""

import copy
import json

import pytest

from resnet_book import runs
from resnet_book.runs import RunRecordError, load_run, validate


@pytest.fixture(scope="module")
def recorded():
    return runs.list_runs()


@pytest.fixture
def good(recorded):
    return copy.deepcopy(recorded[0].record)


def test_committed_records_load_with_full_provenance(recorded):
    paper = [run for run in recorded if run.preset == "paper"]  # a reader's own quick runs may sit beside them
    assert len(paper) >= 6
    for run in paper:
        p = run.provenance
        assert p["gpu"] and p["torch"] and p["commit"] and p["wall_seconds"] > 0 and p["date"]
        assert run.dataset == "cifar10-jpeg"  # recorded from the offline copy: it must say so
        assert run.schedule["iterations"] == 64_000 and run.history[-1]["iteration"] == 64_000
        assert run.id in run.caption() and "cifar10-jpeg" in run.caption()


def test_find_run_picks_the_paper_option(recorded):
    assert runs.find_run("resnet20").shortcut == "A"
    assert runs.find_run("plain20").shortcut is None
    assert runs.find_run("resnet20", shortcut="C") is None or runs.find_run("resnet20", shortcut="C").shortcut == "C"
    with pytest.raises(ValueError, match="resnet9999"):
        runs.find_run("resnet9999")  # an impossible net is an error, not "not recorded"
    assert runs.find_run("resnet20").label == "ResNet-20 (A)"


@pytest.mark.parametrize(
    "breakage, field",
    [
        (lambda r: r.pop("provenance"), "provenance"),
        (lambda r: r["provenance"].pop("commit"), "provenance.commit"),
        (lambda r: r["final"].update(test_error=12.3), "final.test_error"),
        (lambda r: r["history"][3].update(train_error=-0.1), "history[3].train_error"),
        (lambda r: r["history"][2].pop("iteration"), "history[2].iteration"),
        (lambda r: r.update(model="resnet21"), "model"),
        (lambda r: r.update(shortcut="D"), "shortcut"),
        (lambda r: r.update(model="resnet20", shortcut=None, id="resnet20-plain-paper-seed0"), "shortcut"),  # a ResNet names one
        (lambda r: r["schedule"].pop("milestones"), "schedule.milestones"),
        (lambda r: r.update(seed="zero"), "seed"),
        (lambda r: r["provenance"].update(wall_seconds=-1), "provenance.wall_seconds"),
    ],
)
def test_broken_records_are_refused_naming_file_and_field(good, tmp_path, breakage, field):
    breakage(good)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(good))
    with pytest.raises(RunRecordError) as err:
        load_run(path)
    assert str(path) in str(err.value) and f"'{field}'" in str(err.value)


def test_invalid_json_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "half.json"
    path.write_text('{"id": "x", "model": ')
    with pytest.raises(RunRecordError, match="half.json: not valid JSON"):
        load_run(path)


def test_save_then_list_round_trips(good, tmp_path):
    good.update(id=f"{good['model']}-{good['shortcut'] or 'plain'}-custom-seed7", seed=7, preset="custom")
    path = runs.save_run(good, tmp_path)
    assert path.name == f"{good['id']}.json"
    assert runs.list_runs(tmp_path, seed=7)[0].record == validate(good)


def test_packed_with_names_the_runs_of_a_pack_not_the_runs_beside_it(good):
    good["provenance"]["fast_path"]["packed_runs"] = 2
    good["provenance"]["trained_concurrently_with"] = ["plain56-plain", "resnet110-A"]
    assert runs.Run(good).packed_with == ["plain56-plain"]  # resnet110-A ran beside the pack
    good["provenance"]["fast_path"]["packed_runs"] = 1
    assert runs.Run(good).packed_with == []
    del good["provenance"]["fast_path"]["packed_runs"]  # the first records
    assert runs.Run(good).packed_with is None


def test_find_runs_gives_every_seed_of_one_net_by_seed(tmp_path):
    from fakes import write_seeds

    write_seeds(tmp_path, "resnet56", [0.12, 0.11, 0.13])
    write_seeds(tmp_path, "resnet44", [0.10])  # another net in the same folder
    found = runs.find_runs("resnet56", directory=tmp_path)
    assert [r.seed for r in found] == [0, 1, 2] and {r.model for r in found} == {"resnet56"}
    assert [r.final["test_error"] for r in found] == [0.12, 0.11, 0.13]
    assert runs.find_run("resnet56", directory=tmp_path).seed == 0  # find_run: the lowest seed
    assert runs.find_run("resnet56", directory=tmp_path, seed=2).final["test_error"] == 0.13
    assert runs.find_runs("resnet56", shortcut="B", directory=tmp_path) == []
    assert runs.find_runs("resnet56", preset="quick", directory=tmp_path) == []


def test_a_run_of_a_net_given_as_model_is_not_recorded(tmp_path):
    """``Trainer(..., model=net)``: its record would name the config's model (resnet8-A), not the net trained."""
    from resnet_book import data as datamod
    from resnet_book import jobs
    from resnet_book.models import shortcut_variant
    from resnet_book.train import Config, Trainer, trained_runs

    config = Config(model="resnet8", batch_size=8, iterations=2, milestones=(), eval_every=2)
    data = datamod.synthetic_cifar10(train_per_class=2, test_per_class=1)
    named = Trainer(config, data, "cpu").run(progress=False)
    assert runs.make_record(trained_runs(named)[0])["id"] == "resnet8-A-custom-seed0"  # the named model's run is recorded
    own = Trainer(config, data, "cpu", model=shortcut_variant("resnet8", "scaled")).run(progress=False)
    with pytest.raises(ValueError, match="resnet8, own net: trained a net given as model=.*not recorded"):
        jobs.record_runs(own, tmp_path)
    assert list(tmp_path.iterdir()) == []


def imagenet_record() -> dict:
    """An ImageNet record as ``resnet_book.imagenet`` writes it (two evaluations of a 4-iteration run)."""
    import torch

    from resnet_book import imagenet
    from resnet_book.recipe import ImageNetConfig

    cfg = ImageNetConfig(model="resnet18", iterations=4, eval_every=2, preset="custom")
    entry = {"lr": 0.1, "train_loss": 2.2, "train_error": 0.9, "test_loss": 2.3, "test_error": 0.88, "seconds": 1.0}
    history = [{"iteration": i, **entry} for i in (2, 4)]
    final = {"ten_crop": {"error": 0.87, "top5_error": 0.5}, "center_crop": {"error": 0.88, "top5_error": 0.52}}
    world = imagenet.World(device=torch.device("cpu"))
    return imagenet.imagenet_record(cfg, "A", history, final, world, 2.0, resumed=False, workers=0)


def test_an_imagenet_record_validates_as_its_own_family(tmp_path):
    """One schema, two families: an ImageNet record is checked against ``IMAGENET_SPEC`` (its 10-crop test
    error apart from the history's centre crop, top-5 errors, the processes it ran on)."""
    record = imagenet_record()
    assert validate(record)["family"] == "imagenet"
    # its presets are the ImageNet recipe's (recipe.IMAGENET_PRESETS), not a copy
    assert validate({**record, "preset": "imagenette", "id": "resnet18-A-imagenette-seed0"})["preset"] == "imagenette"
    path = runs.save_run(record, tmp_path)
    assert load_run(path).net.family == "imagenet" and load_run(path).label == "ResNet-18 (A)"
    for field, change in (
        ("final.test_top5_error", lambda r: r["final"].pop("test_top5_error")),
        ("final.center_crop_error", lambda r: r["final"].update(center_crop_error=1.5)),
        ("provenance.world_size", lambda r: r["provenance"].update(world_size=0)),
        ("preset", lambda r: r.update(preset="mini", id="resnet18-A-mini-seed0")),  # a CIFAR-10 preset
        ("family", lambda r: r.update(family="coco")),
    ):
        broken = copy.deepcopy(record)
        change(broken)
        with pytest.raises(RunRecordError, match=f"field '{field}'"):
            validate(broken)


def test_the_record_kinds_share_one_machinery():
    """Run records (both families) and benchmark records: one spec style, one reader, one error family."""
    from resnet_book import benchmarks, records

    for module in (runs, benchmarks):
        assert isinstance(module.KIND, records.Kind) and issubclass(module.KIND.error, records.RecordError)
        assert module.KIND.schema == module.SCHEMA
    assert runs.SPEC["history"][0]["train_error"] is records.fraction
