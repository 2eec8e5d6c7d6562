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


def test_profile_finds_each_convolution_of_a_step_and_sorts_time_by_kind():
    """resnet8 has 7 convolutions: the profile sees each one forward and backward in every step."""
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    result = bench.profile("resnet8", data, steps=2, device="cpu")
    top = {name: calls for name, _, calls in result["top"]}
    assert top["aten::convolution_backward"] == 7.0
    kinds = result["us_per_step_by_kind"]
    assert max(kinds, key=kinds.get) == "convolution" and kinds["batch norm"] > 0
    assert abs(sum(kinds.values()) - result["kernel_us_per_step"]) < 1
    assert result["kernel_us_per_step"] <= result["wall_us_per_step"]


def test_kernels_are_sorted_by_what_they_do():
    assert bench.kernel_kind("sm90_xmma_fprop_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc") == "convolution"
    assert bench.kernel_kind("void cudnn::bn_fw_tr_1C11_kernel_NCHW<__nv_bfloat16, float, 512>") == "batch norm"
    assert bench.kernel_kind("triton_poi_fused__native_batch_norm_legit_functional_add_relu_3") == "batch norm"
    assert bench.kernel_kind("ampere_bf16_s16816gemm_bf16_64x64_ldg8_f2f_stages_64x5_tn") == "fc (matmul)"
    assert bench.kernel_kind("void at::native::multi_tensor_apply_kernel<...>") == "SGD update"
    assert bench.kernel_kind("aten::index") == "other"
