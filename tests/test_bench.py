"""The benchmark: its record (schema ``resnet_book.benchmark/1``, validated when loaded, read by keys), its
command line (``python -m resnet_book bench``), and its checks, which run on any device: here, that packing
leaves the loss curves of the runs alone."""

import copy
import json

import pytest
import torch

from resnet_book import bench, benchmarks
from resnet_book import data as datamod
from resnet_book.flops import count_flops
from resnet_book.models import get_model

H100 = "NVIDIA H100 80GB HBM3"


@pytest.fixture(scope="module")
def record() -> dict:
    """The committed H100 record, as loaded (a copy to break)."""
    (current,) = [r for r in benchmarks.load_benchmarks() if r["gpu"] == H100]
    return copy.deepcopy(current)


def load_broken(tmp_path, record: dict | str | bytes) -> str:
    """Write ``record`` alone in a folder, named as an H100's record is, load it: the error message."""
    path = tmp_path / benchmarks.record_name(H100)
    if isinstance(record, bytes):
        path.write_bytes(record)
    else:
        path.write_text(record if isinstance(record, str) else json.dumps(record))
    with pytest.raises(benchmarks.BenchmarkRecordError) as err:
        benchmarks.load_benchmarks(tmp_path)
    assert str(path) in str(err.value)  # the file is named
    return str(err.value)


# ----------------------------------------------------------------------------------------- the records


def test_the_recorded_benchmark_loads_with_its_provenance(record):
    assert record["schema"] == benchmarks.SCHEMA and record["dataset"] == "cifar10-jpeg" and record["batch_size"] == 128
    assert record["commit"].startswith("edac31d") and record["failures"] == {}
    assert (benchmarks.OUT / benchmarks.record_name(record["gpu"])).is_file()  # one record per GPU, named after it
    for model in ("resnet20", "resnet56", "resnet110"):
        row = record["models"][model]
        assert row["ours_img_s"] > row["reference_img_s"]  # the engine is faster than the plain loop
        assert row["levers"]["graph_bf16_channels_last"] == row["ours_img_s"]  # ours is every switch on
        assert row["packed"]["options"] > row["packed"]["twins"] > row["ours_img_s"]  # packing pays
    assert set(record["models"]["resnet20"]["packed"]) == {"twins", "options", "options_inductor"}


def test_the_earlier_record_is_kept_apart_with_its_provenance():
    """The speed appendix compares the plain loop with an earlier run (commit fb6e0eb): its record is read
    from data/benchmarks/earlier/ only on purpose, never mixed with the current one of the same GPU."""
    (earlier,) = benchmarks.load_benchmarks(benchmarks.EARLIER)
    assert earlier["commit"].startswith("fb6e0eb") and earlier["gpu"] == H100
    assert (benchmarks.EARLIER / benchmarks.record_name(H100, earlier["commit"])).is_file()
    assert [r["commit"][:7] for r in benchmarks.load_benchmarks() if r["gpu"] == H100] == ["edac31d"]
    assert round(earlier["models"]["resnet20"]["reference_img_s"]) == 10_120  # what the page once typed by hand


def test_a_file_that_is_not_json_is_named(tmp_path):
    assert "not valid JSON" in load_broken(tmp_path, "{")
    assert "not UTF-8 text" in load_broken(tmp_path, b'{"gpu": "\xff"}')
    assert "NaN is not a JSON number" in load_broken(tmp_path, '{"gpu": NaN}')
    assert "a benchmark record must be a JSON object" in load_broken(tmp_path, "[]")


def test_a_broken_record_names_the_field(tmp_path, record):
    def broken(change) -> str:
        r = copy.deepcopy(record)
        change(r)
        return load_broken(tmp_path, r)

    message = broken(lambda r: r["models"]["resnet20"].update(ours_img_s=-1))
    assert "field 'models.resnet20.ours_img_s' must be a finite number > 0, got -1" in message
    assert "field 'gpu' is missing" in broken(lambda r: r.pop("gpu"))
    assert "field 'models.resnet56.levers.graph_fp32' is missing" in broken(
        lambda r: r["models"]["resnet56"]["levers"].pop("graph_fp32")
    )
    assert "field 'equivalence.curves.fast[2]' must be a finite number > 0, got None" in broken(
        lambda r: r["equivalence"]["curves"]["fast"].__setitem__(2, None)
    )
    assert "field 'models.resnet21' is not a CIFAR-10 net" in broken(
        lambda r: r["models"].update(resnet21=r["models"]["resnet20"])
    )
    assert "field 'models' is empty" in broken(lambda r: r.update(models={}))
    # the old format: display labels as keys, no schema
    assert "field 'schema' is missing: not a resnet_book.benchmark/1 record" in broken(lambda r: r.pop("schema"))
    message = broken(lambda r: r["models"]["resnet20"]["packed"].update({"4 runs (plain, A, B, C), img/s all runs": 1.0}))
    assert "field 'models.resnet20.packed.4 runs (plain, A, B, C), img/s all runs' is not a field of" in message
    assert "its fields here: twins, options, seeds, options_inductor" in message  # a misspelt key is not "not measured"


def test_a_failed_measurement_is_in_failures_not_in_a_number_s_place(tmp_path, record):
    """Issue #15: a lever that failed used to be stored as a 'failed: ...' string where its number goes."""
    lever = "models.resnet20.levers.graph_bf16_channels_last_inductor"
    r = copy.deepcopy(record)
    r["models"]["resnet20"]["levers"]["graph_bf16_channels_last_inductor"] = "failed: RuntimeError: no triton"
    message = load_broken(tmp_path, r)
    assert f"field '{lever}' must be a finite number > 0, got 'failed: RuntimeError: no triton'" in message
    assert "named in 'failures'" in message
    del r["models"]["resnet20"]["levers"]["graph_bf16_channels_last_inductor"]
    r["failures"] = {lever: "RuntimeError: no triton"}
    (tmp_path / benchmarks.record_name(H100)).write_text(json.dumps(r))
    (loaded,) = benchmarks.load_benchmarks(tmp_path)
    assert benchmarks.measured(loaded, lever) is None and loaded["failures"][lever] == "RuntimeError: no triton"
    assert (
        benchmarks.measured(loaded, "models.resnet20.levers.graph_fp32") == record["models"]["resnet20"]["levers"]["graph_fp32"]
    )
    # a failure must name a field of the schema that holds nothing
    r["failures"] = {"models.resnet20.levers.graph_fp32": "RuntimeError"}
    assert "failed or measured, not both" in load_broken(tmp_path, r)
    r["failures"] = {"models.resnet20.levers.warp_drive": "RuntimeError"}
    assert "field 'failures.models.resnet20.levers.warp_drive' names no field" in load_broken(tmp_path, r)


def test_a_failing_measurement_is_recorded_apart_and_the_record_stays_valid(record):
    r = copy.deepcopy(record)
    del r["models"]["resnet56"]["packed"]

    def no_triton(*args, **kwargs):
        raise RuntimeError("inductor needs triton")

    assert bench._measure(r, "models.resnet56.packed.options_inductor", no_triton) is None
    assert bench._measure(r, "models.resnet56.packed.twins", lambda: 123.0) == 123.0
    assert r["models"]["resnet56"]["packed"] == {"twins": 123.0}  # the failed one left out
    assert r["failures"] == {"models.resnet56.packed.options_inductor": "RuntimeError: inductor needs triton"}
    benchmarks.validate(r)


def test_the_plan_reads_packs_by_key_and_skips_a_failed_one(record):
    from resnet_book.estimates import images_per_second

    rates = images_per_second(record)
    assert rates[56] == {
        1: record["models"]["resnet56"]["ours_img_s"],
        2: record["models"]["resnet56"]["packed"]["twins"],
        4: record["models"]["resnet56"]["packed"]["options"],
    }
    r = copy.deepcopy(record)
    del r["models"]["resnet56"]["packed"]["options"]
    r["failures"] = {"models.resnet56.packed.options": "RuntimeError: out of memory"}
    assert set(images_per_second(benchmarks.validate(r))[56]) == {1, 2}


def test_every_key_a_page_shows_has_a_label():
    assert list(benchmarks.LABELS["levers"]) == [k.rstrip("?") for k in benchmarks._ROW["levers?"]]
    assert list(benchmarks.LABELS["packed"]) == [k.rstrip("?") for k in benchmarks._ROW["packed?"]]
    assert set(benchmarks.LABELS["curves"]) == set(bench.PATHS)
    assert {kind for kind, _ in bench.KERNEL_KINDS} | {"other"} == set(benchmarks.LABELS["kernels"])


# ---------------------------------------------------------------------------------- the command line


def test_bench_without_a_gpu_is_a_clear_error(monkeypatch, capsys):
    import resnet_book.__main__ as cli

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without one
    assert cli.main(["bench"]) == 2
    out = capsys.readouterr()
    assert out.err.startswith("error: the benchmark measures training speed on a GPU")
    assert "Traceback" not in out.err and "CIFAR-10" not in out.out  # refused before any data loads


def test_bench_options_reach_the_library_and_bad_ones_are_refused(monkeypatch, capsys, tmp_path):
    import resnet_book.__main__ as cli

    seen = []
    monkeypatch.setattr(bench, "run_benchmark", lambda *a, **kw: seen.append((a, kw)) or tmp_path / "gpu.json")
    assert (
        cli.main(["bench", "--models", "resnet20", "--steps", "100", "--skip-levers", "--inductor", "--out", str(tmp_path)]) == 0
    )
    assert seen == [((["resnet20"], 100, str(tmp_path)), {"levers": False, "inductor": []})]
    assert capsys.readouterr().out == f"wrote {tmp_path / 'gpu.json'}\n"
    assert cli.main(["bench"]) == 0  # the defaults: three depths, 300 steps, levers, inductor on ResNet-20
    assert seen[1] == (
        (["resnet20", "resnet56", "resnet110"], 300, str(benchmarks.OUT)),
        {"levers": True, "inductor": ["resnet20"]},
    )
    monkeypatch.undo()
    assert cli.main(["bench", "--models", "resnet21"]) == 2  # checked before a GPU is asked for
    assert "unknown model 'resnet21'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bench", "--steps", "0"])
    assert exit_.value.code == 2 and "argument --steps: must be >= 1, got 0" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- the checks, on CPU


@pytest.fixture
def batches_of_16(monkeypatch):
    """The checks below train the paper's recipe (``bench.paper_slice``) with its batch of 128 cut to 16: what
    they test is how the paths are trained side by side and compared, and a CPU does that 8x sooner."""
    slice_ = bench.paper_slice
    monkeypatch.setattr(bench, "paper_slice", lambda model, **kw: slice_(model, **{**kw, "batch_size": 16}))


@pytest.mark.slow
def test_packed_equivalence_on_cpu_finds_the_same_loss_curves(float64, batches_of_16):
    """In float64 (as tests/test_packed.py, whose docstring says why), so that the result does not depend on
    the CPU's kernels: the pack and the runs alone then differ by about 1e-15, which can flip at most one
    unit of the 4 decimals the curves keep (``_losses``)."""
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    result = bench.packed_equivalence("resnet8", data, iterations=4, every=2, device="cpu")
    assert list(result["alone"]) == list(result["packed"]) == ["plain8", "resnet8"]
    assert len(result["alone"]["plain8"]) == len(result["packed"]["resnet8"]) == 2
    assert result["alone"]["plain8"] != result["alone"]["resnet8"]  # two different runs, each matched
    assert result["max_abs_diff"] <= 1e-4  # one unit of the fourth decimal at most (see the docstring)


@pytest.mark.slow
def test_the_gaps_between_paths_are_measured_from_the_fast_one(batches_of_16):
    curves = {"fast": [2.0, 1.5], "eager": [2.0, 1.5], "fast_fp32": [2.1, 1.4]}
    assert bench.curve_gaps(curves) == {"max_abs_diff": 0.0, "bf16_noise": pytest.approx(0.1)}  # inductor not measured
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    fast = bench.loss_curve("resnet8", data, iterations=4, every=2, device="cpu")
    assert len(fast) == 2 and fast == bench.loss_curve("resnet8", data, iterations=4, every=2, device="cpu")  # one seed


@pytest.mark.slow
def test_divergence_starts_at_rounding_level_for_a_pack_and_a_nudge(batches_of_16):
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    gaps = bench.divergence("resnet8", data, iterations=3, device="cpu")
    assert len(gaps["packed_vs_alone"]) == len(gaps["nudged_vs_alone"]) == 3
    # The first loss is computed before any update: both gaps are then a few float32 roundings of a loss near
    # ln 10 = 2.3 (6e-8 x 2.3 = 1.4e-7 each, and the nudge of 1e-7 moves it by as much); 1e-5 is 70 of them.
    assert gaps["packed_vs_alone"][0] < 1e-5 and gaps["nudged_vs_alone"][0] < 1e-5


@pytest.mark.slow
def test_profile_finds_each_convolution_of_a_step_and_sorts_time_by_kind(record):
    """resnet8 has 7 convolutions: the profile sees each one forward and backward in every step."""
    data = datamod.synthetic_cifar10(train_per_class=13, test_per_class=5)
    result = bench.profile("resnet8", data, steps=2, device="cpu")
    top = {name: calls for name, _, calls in result["top"]}
    assert top["aten::convolution_backward"] == 7.0
    kinds = result["us_per_step_by_kind"]
    assert max(kinds, key=kinds.get) == "convolution" and kinds["batch_norm"] > 0
    assert abs(sum(kinds.values()) - result["kernel_us_per_step"]) < 1
    assert result["kernel_us_per_step"] <= result["wall_us_per_step"]
    assert "busy" not in result  # a CPU has no kernels: no number rather than a null
    r = copy.deepcopy(record)
    r["models"]["resnet20"]["profile"] = {"graph": result}
    benchmarks.validate(r)  # what profile() returns is what the schema takes


def test_kernels_are_sorted_by_what_they_do():
    assert bench.kernel_kind("sm90_xmma_fprop_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc") == "convolution"
    assert bench.kernel_kind("void cudnn::bn_fw_tr_1C11_kernel_NCHW<__nv_bfloat16, float, 512>") == "batch_norm"
    assert bench.kernel_kind("triton_poi_fused__native_batch_norm_legit_functional_add_relu_3") == "batch_norm"
    assert bench.kernel_kind("ampere_bf16_s16816gemm_bf16_64x64_ldg8_f2f_stages_64x5_tn") == "fc"
    assert bench.kernel_kind("void at::native::multi_tensor_apply_kernel<...>") == "sgd_update"
    assert bench.kernel_kind("aten::index") == "other"


# ------------------------------------------------------------------------------------------- on a CPU


@pytest.fixture
def cpu_record(monkeypatch, tmp_path):
    """A CPU benchmark of one small net, two timed steps, on synthetic data: (its path, the record)."""
    tiny = datamod.synthetic_cifar10(train_per_class=26, test_per_class=2)
    monkeypatch.setattr(datamod, "load_cifar10", lambda **kw: tiny)
    path = bench.run_cpu_benchmark(
        (("resnet8", "mini"),), steps=2, repeats=1, out=tmp_path, bf16_check=None, ceiling_seconds=0.01
    )
    return path, json.loads(path.read_text())


def test_the_cpu_benchmark_times_our_trainer_beside_the_plain_loop(cpu_record):
    path, record = cpu_record
    assert path.name == benchmarks.cpu_record_name(record["cpu"], record["threads"]) and path.name.endswith("-threads.json")
    row = record["models"]["resnet8 mini"]
    assert (row["width"], row["image_size"]) == (8, 16)  # the miniature's net, on its 16x16 images
    assert set(row["levers"]) == set(bench.CPU_LEVERS) and row["ours_img_s"] == row["levers"]["eager_fp32"]
    assert row["speedup"] == row["ours_img_s"] / row["reference_img_s"]
    assert benchmarks.load_cpu_benchmarks(path.parent) == [record]


def test_the_cpu_benchmark_records_the_ceiling_its_nets_are_held_against(cpu_record):
    """Each net's multiply-adds per image (the paper's FLOPs, counted as chapter 4 counts them) and what a
    convolution reaches on this CPU at its best: from the two, the share of the CPU's arithmetic each loop uses."""
    _, record = cpu_record
    row = record["models"]["resnet8 mini"]
    assert row["macs_per_image"] == count_flops(get_model("resnet8", width=8), input_size=16)
    assert record["conv_gflops"]["fp32"] > 0
    # 6 flops per multiply-add of a forward pass: 2 forward, 4 backward
    assert benchmarks.training_gflops(row, 1e9 / row["macs_per_image"]) == 6


def test_a_cpu_record_that_contradicts_itself_or_its_name_is_refused(cpu_record, tmp_path):
    path, record = cpu_record
    record["models"]["resnet8 mini"]["speedup"] *= 10  # a speed-up its own numbers do not give
    path.write_text(json.dumps(record))
    with pytest.raises(
        benchmarks.CPUBenchmarkRecordError, match="'models.resnet8 mini.speedup' is not ours_img_s / reference_img_s"
    ):
        benchmarks.load_cpu_benchmarks(path.parent)
    record["models"]["resnet8 mini"]["speedup"] /= 10
    path.unlink()
    (tmp_path / "copy.json").write_text(json.dumps(record))
    with pytest.raises(benchmarks.CPUBenchmarkRecordError, match="a copy or a renamed record"):
        benchmarks.load_cpu_benchmarks(tmp_path)


def test_bench_cpu_measures_the_live_nets_by_default(monkeypatch, capsys, tmp_path):
    import resnet_book.__main__ as cli

    seen = []
    monkeypatch.setattr(bench, "run_cpu_benchmark", lambda *a, **kw: seen.append((a, kw)) or tmp_path / "cpu.json")
    assert cli.main(["bench", "--cpu"]) == 0
    assert seen == [((bench.CPU_NETS, 30), {"out": str(benchmarks.CPU_OUT), "compile_nets": ()})]
    assert ("plain56", "mini") in bench.CPU_NETS and ("resnet20", "paper") in bench.CPU_NETS
    assert cli.main(["bench", "--cpu", "--models", "resnet56", "--inductor", "resnet56", "--steps", "5"]) == 0
    assert seen[1] == (((("resnet56", "mini"),), 5), {"out": str(benchmarks.CPU_OUT), "compile_nets": (("resnet56", "mini"),)})
