"""The benchmark's checks run on any device: here, that packing leaves the loss curves of the runs alone."""

from resnet_book import bench
from resnet_book import data as datamod


def test_packed_equivalence_on_cpu_finds_the_same_loss_curves():
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    result = bench.packed_equivalence("resnet8", data, iterations=4, every=2, device="cpu")
    assert len(result["plain8 alone"]) == len(result["resnet8 packed"]) == 2
    assert result["plain8 alone"] != result["resnet8 alone"]  # two different runs, each matched
    assert result["max_abs_diff"] <= 2e-4  # fp32 on CPU: only the summation order differs
