"""Estimates: what a run would cost, from the benchmark records; every page's cost comes from here."""

import pytest

from resnet_book.benchmarks import load_benchmarks
from resnet_book.estimates import GPU_SPECS, cost, find_benchmark, flops, flops_scaled, imagenet_cost, on_t4
from resnet_book.paper import IMAGENET_RECIPE

H100 = "NVIDIA H100 80GB HBM3"


def test_resnet_1202_s_cost_is_extrapolated_and_says_so():
    """Issue #13: the page says why ResNet-1202 is not recorded, from the measured speed, not a typed number."""
    (h100,) = [r for r in load_benchmarks() if r["gpu"] == "NVIDIA H100 80GB HBM3"]
    measured, deep = cost("resnet110", benchmark=h100), cost("resnet1202", benchmark=h100)
    assert measured["measured"] and measured["minutes"] == pytest.approx(
        64_000 * 128 / h100["models"]["resnet110"]["ours_img_s"] / 60
    )
    assert not deep["measured"] and 90 < deep["minutes"] < 180  # about 2 hours: far beyond a 25-minute session
    assert 150 < deep["checkpoint_mb"] < 160  # 19.4M weights and as many momentum values, float32


def test_the_t4_estimate_scales_the_measured_float32_speed_by_the_tighter_of_two_ratios():
    """Issue #12: Colab's T4 (float32, no bf16) minutes are estimated from the H100 benchmark, never typed."""
    bench = load_benchmarks()[0]
    t4, h100 = GPU_SPECS["Tesla T4"], GPU_SPECS[bench["gpu"]]
    r20 = on_t4("resnet20", 8_000, benchmark=bench)
    assert r20["scale"] == min(t4["fp32_tflops"] / h100["fp32_tflops"], t4["bandwidth_gb_s"] / h100["bandwidth_gb_s"])
    assert r20["img_s"] == pytest.approx(bench["models"]["resnet20"]["levers"]["graph_fp32"] * r20["scale"])
    assert r20["minutes"] == pytest.approx(8_000 * 128 / r20["img_s"] / 60)
    assert on_t4("plain56", 8_000, benchmark=bench)["minutes"] > 2 * r20["minutes"]  # deeper, slower
    with pytest.raises(ValueError, match="no float32 measurement"):
        on_t4("resnet20", 8_000, benchmark=dict(bench, gpu="Some Other GPU"))


def test_a_net_the_benchmark_never_ran_is_scaled_by_its_flops_from_resnet_110():
    """Appendix B (Tables 2 and 3) and chapter 7 (ResNet-1001): img/s at ResNet-110's multiply-adds per second."""
    (h100,) = [r for r in load_benchmarks() if r["gpu"] == H100]
    measured = h100["models"]["resnet110"]["ours_img_s"]
    same = flops_scaled(flops("resnet110"), benchmark=h100)
    # ResNet-110 itself: its measured speed (x * f / f, two roundings of float64: 1e-15 covers them)
    assert same["img_s"] == pytest.approx(measured, rel=1e-15) and same["gpu"] == H100
    assert flops_scaled(2 * flops("resnet110"), benchmark=h100)["img_s"] == pytest.approx(measured / 2)  # twice the work
    # chapter 7: ResNet-110's own 64k iterations of 128, the time its measured speed gives; no hours unasked
    hours = flops_scaled(flops("resnet110"), benchmark=h100, iterations=64_000, batch_size=128)["gpu_hours"]
    assert hours * 60 == pytest.approx(cost("resnet110", 64_000, benchmark=h100)["minutes"]) and "gpu_hours" not in same
    r18 = imagenet_cost("resnet18", "A", benchmark=h100)
    images = IMAGENET_RECIPE["iterations"] * IMAGENET_RECIPE["batch_size"]  # Sec. 3.4: 60x10^4 iterations of 256
    assert 1.7e9 < r18["flops"] < 1.9e9  # Table 1: 1.8 GFLOPs at 224x224
    assert r18["gpu_hours"] == pytest.approx(images / r18["img_s"] / 3600)
    assert imagenet_cost("resnet18", "A", iterations=5_000, benchmark=h100)["gpu_hours"] < r18["gpu_hours"] / 100
    assert find_benchmark()["gpu"] == load_benchmarks()[0]["gpu"]  # what every estimate reads by default
    assert find_benchmark("NVIDIA H100")["gpu"] == H100
    with pytest.raises(ValueError, match="no benchmark record of an 'AMD' GPU"):
        find_benchmark("AMD")
