"""The benchmark's checks run on any device: here, that packing leaves the loss curves of the runs alone."""

from resnet_book import bench
from resnet_book import data as datamod


def test_packed_equivalence_on_cpu_finds_the_same_loss_curves():
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    result = bench.packed_equivalence("resnet8", data, iterations=4, every=2, device="cpu")
    assert len(result["plain8 alone"]) == len(result["resnet8 packed"]) == 2
    assert result["plain8 alone"] != result["resnet8 alone"]  # two different runs, each matched
    assert result["max_abs_diff"] <= 2e-4  # fp32 on CPU: only the summation order differs


def test_the_recorded_benchmark_loads_with_its_provenance():
    (record,) = [r for r in bench.load_benchmarks() if r["gpu"] == "NVIDIA H100 80GB HBM3"]
    assert record["dataset"] == "cifar10-jpeg" and record["batch_size"] == 128
    for model in ("resnet20", "resnet56", "resnet110"):
        row = record["models"][model]
        assert row["ours_img_s"] > row["reference_img_s"]  # the engine is faster than the plain loop


def test_a_broken_benchmark_record_is_named(tmp_path):
    import json

    import pytest

    (tmp_path / "gpu.json").write_text("{")
    with pytest.raises(ValueError, match=r"gpu\.json: not a benchmark record: invalid JSON"):
        bench.load_benchmarks(tmp_path)
    (tmp_path / "gpu.json").write_text(json.dumps({"gpu": "x", "torch": "2", "commit": "c", "date": "d",
                                                   "dataset": "cifar10", "batch_size": 128,
                                                   "models": {"resnet20": {"ours_img_s": -1, "reference_img_s": 5}}}))
    with pytest.raises(ValueError, match=r"models\.resnet20\.ours_img_s must be a positive number"):
        bench.load_benchmarks(tmp_path)


def test_divergence_starts_at_rounding_level_for_a_pack_and_a_nudge():
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    gaps = bench.divergence("resnet8", data, iterations=3, device="cpu")
    assert len(gaps["packed vs alone"]) == len(gaps["nudged vs alone"]) == 3
    assert gaps["packed vs alone"][0] < 1e-5 and gaps["nudged vs alone"][0] < 1e-5  # the first step agrees
