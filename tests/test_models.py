"""The networks of the paper: Table 6 / torchvision parameter counts, twins, options, shapes, bad names."""

import pytest
import torch
import torchvision

from resnet_book.models import BasicBlock, Bottleneck, Net, count_parameters, get_model, list_models
from resnet_book.paper import TABLE6


@pytest.mark.parametrize("name", list(TABLE6))
def test_cifar_parameter_counts_match_table6(name):
    digits = 2 if TABLE6[name]["params_m"] < 1 else 1  # as Table 6 prints them: 0.27M ... 1.7M, 19.4M
    assert round(count_parameters(get_model(name)) / 1e6, digits) == TABLE6[name]["params_m"]


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
def test_imagenet_parameter_counts_equal_torchvision(depth):
    ours = get_model(f"resnet{depth}", shortcut="B")
    theirs = getattr(torchvision.models, f"resnet{depth}")(weights=None)
    assert count_parameters(ours) == count_parameters(theirs)


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_option_a_resnet_has_exactly_its_plain_twins_parameters(depth):
    assert count_parameters(get_model(f"resnet{depth}")) == count_parameters(get_model(f"plain{depth}"))


def test_options_b_and_c_add_the_projection_parameters():
    a, b, c = (count_parameters(get_model("resnet20", shortcut=s)) for s in "ABC")
    # B: two projections where dimensions increase (16->32, 32->64): 1x1 conv + BN each
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    # C: every one of the 9 blocks has a projection
    convs = 3 * (16 * 16) + (16 * 32 + 2 * 32 * 32) + (32 * 64 + 2 * 64 * 64)
    bns = 2 * (3 * 16 + 3 * 32 + 3 * 64)
    assert c - a == convs + bns


@pytest.mark.parametrize("name", list_models())
def test_every_listed_model_gives_class_scores(name):
    model = get_model(name).eval()
    size = 224 if name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "plain18", "plain34") else 32
    if name in ("resnet101", "resnet152", "resnet1202"):
        size = 64 if size == 224 else size  # global pooling: any size works; keep the test quick
    with torch.no_grad():
        out = model(torch.randn(1, 3, size, size))
    assert out.shape == (1, 1000 if size != 32 else 10)


def test_cifar_net_follows_sec_4_2():
    model = get_model("resnet56")
    assert model.arch.depth == 56 and model.arch.blocks_per_stage == (9, 9, 9)
    assert [stage[0].conv1.out_channels for stage in model.stages] == [16, 32, 64]
    assert [stage[0].conv1.stride for stage in model.stages] == [(1, 1), (2, 2), (2, 2)]
    assert model.stem.conv.kernel_size == (3, 3) and model.fc.out_features == 10
    text = str(model)
    assert "ZeroPadShortcut" in text and "Conv2d(3, 16, kernel_size=(3, 3)" in text


def test_bottleneck_strides_its_first_1x1_like_the_paper_and_3x3_like_torchvision():
    paper = get_model("resnet50").stages[1][0]
    tv = get_model("resnet50", stride_at="3x3").stages[1][0]
    assert isinstance(paper, Bottleneck)
    assert paper.conv1.stride == (2, 2) and paper.conv2.stride == (1, 1)
    assert tv.conv1.stride == (1, 1) and tv.conv2.stride == (2, 2)


def test_zeroed_residual_branch_leaves_the_identity():
    block = BasicBlock(16, 16, shortcut="A").eval()
    with torch.no_grad():
        block.bn2.weight.zero_()
        block.bn2.bias.zero_()
        x = torch.randn(4, 16, 8, 8)
        assert torch.equal(block(x), torch.relu(x))


def test_option_a_pads_zero_channels_and_subsamples():
    block = BasicBlock(16, 32, stride=2, shortcut="A").eval()
    x = torch.randn(1, 16, 8, 8)
    out = block.shortcut(x)
    assert out.shape == (1, 32, 4, 4)
    assert torch.equal(out[:, :16], x[:, :, ::2, ::2]) and not out[:, 16:].any()


def test_he_initialisation():
    conv = get_model("resnet20").stem.conv
    fan_out = conv.out_channels * 9
    # the std of 432 normal draws is within 1 / sqrt(2 x 432) = 3.4 % of sigma at one standard error: 20 % is six
    assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="resnet21"), "unknown model 'resnet21'.*6n\\+2.*resnet20, resnet32"),
        (dict(name="plain7"), "unknown model 'plain7'.*valid names"),
        (dict(name="vgg19"), "unknown model 'vgg19'.*resnet18/34/50/101/152"),
        (dict(name="resnet20", shortcut="D"), "unknown shortcut 'D'.*'A'.*'B'.*'C'"),
        (dict(name="resnet20", num_classes=-1), "num_classes must be a positive integer"),
        (dict(name="plain20", shortcut="B"), "plain net: it has no shortcuts"),
        (dict(name="resnet50", stride_at="7x7"), "unknown stride_at"),
    ],
)
def test_bad_names_and_options_are_refused_with_what_is_valid(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=message):
        get_model(name, **kwargs)


def test_forward_backward_on_cpu():
    for name, size in (("resnet20", 32), ("resnet50", 64)):
        model = get_model(name)
        out = model(torch.randn(2, 3, size, size))
        out.sum().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


# ----------------------------------------------------------------------------------------------------------
# The sequel (He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016): full pre-activation.

from resnet_book import analysis, flops  # noqa: E402
from resnet_book.models import PreActBlock, PreActBottleneck  # noqa: E402
from resnet_book.packed import PackedResNet  # noqa: E402

# The sequel's parameter counts (its Tables 2-3 and Sec. 4.2), printed to one decimal in millions.
SEQUEL_PARAMS_M = {("resnet110", False): 1.7, ("resnet164", True): 1.7, ("resnet1001", True): 10.2}


@pytest.mark.parametrize("name, bottleneck", list(SEQUEL_PARAMS_M))
def test_preact_parameter_counts_match_the_sequel(name, bottleneck):
    ours = count_parameters(get_model(name, preact=True, bottleneck=bottleneck)) / 1e6
    paper = SEQUEL_PARAMS_M[name, bottleneck]
    assert abs(ours - paper) / paper < 0.02, f"{name}: {ours:.3f}M against the sequel's {paper}M"


def test_preact_nets_are_built_of_preact_units_with_the_sequels_depths():
    r110 = get_model("resnet110", preact=True)
    r164 = get_model("resnet164", preact=True, bottleneck=True)
    assert r110.arch.block is PreActBlock and r110.arch.blocks_per_stage == (18, 18, 18)
    assert r164.arch.block is PreActBottleneck and r164.arch.blocks_per_stage == (18, 18, 18)
    assert r164.arch.depth == 164 and r164.fc.in_features == 256 and r164.shortcut_option == "B"
    assert not hasattr(r110.stem, "bn")  # the stem is the conv alone; each unit begins with BN + ReLU
    assert r110(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert 0 < flops.count_flops(r164) < 2 * flops.count_flops(get_model("resnet110"))


def zero_last_convs(model):
    for unit in model.stages.modules():
        if isinstance(unit, (PreActBlock, PreActBottleneck)):
            torch.nn.init.zeros_(unit.conv3.weight if isinstance(unit, PreActBottleneck) else unit.conv2.weight)
        elif isinstance(unit, BasicBlock):
            torch.nn.init.zeros_(unit.bn2.weight)  # F(x) = 0 in the original block
    return model


@pytest.mark.parametrize("bottleneck", [False, True], ids=["basic", "bottleneck"])
def test_a_preact_unit_with_a_zero_residual_is_exactly_the_identity(bottleneck):
    """The sequel's Eqn. (3)-(4): x_{l+1} = x_l + F(x_l); with F = 0 the signal passes through untouched."""
    model = zero_last_convs(get_model("resnet29" if bottleneck else "resnet20", preact=True, bottleneck=bottleneck))
    units = [u for u in model.stages.modules() if isinstance(u, (PreActBlock, PreActBottleneck))]
    x = torch.randn(4, units[1].bn1.num_features, 32, 32)
    assert torch.equal(units[1](x), x)  # a unit with an identity shortcut
    stage = model.stages[1]  # its first unit changes the dimensions; the rest carry its output unchanged
    first = stage[0](torch.randn(4, stage[0].bn1.num_features, 32, 32))
    assert torch.equal(torch.nn.Sequential(*list(stage)[1:])(first), first)


def test_the_original_block_is_not_the_identity_even_with_a_zero_residual():
    """The contrast the sequel draws: the ReLU after the addition changes the signal (negative values)."""
    block = zero_last_convs(get_model("resnet20")).stages[0][1]
    x = torch.randn(4, 16, 32, 32)
    assert not torch.equal(block(x), x) and torch.equal(block(x), x.relu())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(name="plain20", preact=True), "plain net"),
        (dict(name="resnet21", bottleneck=True), "9n\\+2"),
        (dict(name="resnet34", preact=True, family="imagenet"), "CIFAR-10 nets"),
    ],
)
def test_impossible_preact_requests_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_model(kwargs.pop("name"), **kwargs)


def test_packing_and_fig7_refuse_preact_nets_instead_of_skipping_their_units():
    net = get_model("resnet20", preact=True)
    with pytest.raises(ValueError, match="basic blocks, not PreActBlock"):
        PackedResNet([net, get_model("resnet20", preact=True)])
    with pytest.raises(ValueError, match="pre-activation"):
        analysis.response_layers(net)


@pytest.mark.parametrize(
    "spelling, name, label, shortcut",
    [
        (("resnet56",), "resnet56", "ResNet-56", "A"),  # the paper's choice on CIFAR-10 filled in
        (("resnet56", "A"), "resnet56", "ResNet-56", "A"),
        (("plain20",), "plain20", "plain-20", None),
        (("resnet50",), "resnet50", "ResNet-50", "B"),  # the ImageNet net, option B (Sec. 4.1)
        (("preact-resnet110",), "preact-resnet110", "pre-act ResNet-110", "A"),
        (("preact-resnet164-bottleneck",), "preact-resnet164-bottleneck", "pre-act ResNet-164 (bottleneck)", "B"),
    ],
)
def test_a_net_is_named_once_and_its_spellings_agree(spelling, name, label, shortcut):
    net = Net.parse(*spelling)
    assert (net.name, net.label, net.shortcut) == (name, label, shortcut)
    assert Net.parse(net.name, net.shortcut, net.family) == net  # the name round-trips
    assert Net.of(net.build()) == net  # and names what get_model builds
    assert net.arch.depth == net.depth


def test_the_keywords_and_the_name_of_a_sequel_net_are_one_net():
    assert Net.parse("resnet110", preact=True) == Net.parse("preact-resnet110")
    assert Net.parse("resnet164", bottleneck=True, preact=True).name == "preact-resnet164-bottleneck"
    assert Net.parse("resnet164").depth == 164 and not Net.parse("resnet164").bottleneck  # 6n+2 too: 27 basic blocks
    assert Net.parse("resnet56").record_id("paper", 2) == "resnet56-A-paper-seed2"
    assert Net.parse("plain56").run_name(seed=1) == "plain56-plain-seed1"


def test_a_net_is_checked_without_building_it(monkeypatch):
    import resnet_book.models as models

    monkeypatch.setattr(models, "ResNet", None)  # parse must not construct a network
    assert Net.parse("resnet1202").depth == 1202
    with pytest.raises(ValueError, match="deeper than 1202"):
        Net.parse("resnet99999998")
    with pytest.raises(ValueError, match="9n\\+2"):
        Net.parse("preact-resnet14-bottleneck")  # 12 is not a multiple of 9
    with pytest.raises(ValueError, match="plain net"):
        Net.parse("preact-plain20")


# ----------------------------------------------------------------------------- the sequel's shortcut variants
from resnet_book.models import GatedShortcut, ScaledShortcut, shortcut_variant  # noqa: E402


@pytest.mark.parametrize("variant", ["scaled", "gated", "1x1 conv"])
def test_each_shortcut_variant_gives_class_scores_and_trains(variant):
    net = shortcut_variant("resnet20", variant)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("variant, kind", [("scaled", ScaledShortcut), ("gated", GatedShortcut)])
def test_every_unit_of_a_variant_has_the_changed_shortcut_and_its_f_starts_from_the_same_draws(variant, kind):
    """Table 1 changes the shortcut of all units; F is the original unit's, drawn as get_model draws it."""
    torch.manual_seed(0)
    original = get_model("resnet56")
    torch.manual_seed(0)
    net = shortcut_variant("resnet56", variant)
    blocks = [b for b in net.stages.modules() if isinstance(b, BasicBlock)]
    assert len(blocks) == 27 and all(isinstance(b.shortcut, kind) for b in blocks)
    for mine, theirs in zip(blocks, (b for b in original.stages.modules() if isinstance(b, BasicBlock))):
        assert torch.equal(mine.conv1.weight, theirs.conv1.weight) and torch.equal(mine.conv2.weight, theirs.conv2.weight)


def test_the_scaled_shortcut_carries_half_of_x_and_the_unit_keeps_its_relu_after_the_addition():
    block = zero_last_convs(shortcut_variant("resnet20", "scaled")).stages[0][1]  # F = 0, identity shortcut
    x = torch.randn(4, 16, 32, 32)
    assert torch.equal(block.shortcut(x), 0.5 * x)
    assert torch.equal(block(x), (0.5 * x).relu())  # Fig. 2(b): relu(F(x) + 0.5 x)
    assert torch.equal(shortcut_variant("resnet20", "scaled", scale=0.25).stages[0][1].shortcut(x), 0.25 * x)


def test_the_gate_multiplies_the_shortcut_by_one_minus_a_sigmoid_of_a_1x1_conv():
    x = torch.randn(4, 16, 32, 32)
    gate = shortcut_variant("resnet20", "gated").stages[0][1].shortcut
    assert gate.gate.kernel_size == (1, 1) and torch.equal(gate.gate.bias, torch.zeros(16))  # b_g starts at 0
    torch.nn.init.zeros_(gate.gate.weight)
    assert torch.equal(gate(x), 0.5 * x)  # 1 - sigmoid(0) = 0.5: the sequel's "init b_g = 0"
    open_gate = shortcut_variant("resnet20", "gated", gate_bias=-30.0).stages[0][1].shortcut
    closed = shortcut_variant("resnet20", "gated", gate_bias=30.0).stages[0][1].shortcut
    # at b_g = -30 (or 30) the gate's sigmoid is 1e-13 from 0 (or 1) unless its 1x1 conv's term reaches 10 (it is
    # of order 1 here): 1 - g(x) rounds to 1 in float32, and the shut shortcut passes x times less than 1e-9
    with torch.no_grad():
        torch.testing.assert_close(open_gate(x), x)  # 1 - g(x) ~ 1: nearly the identity (b_g = -6 and below)
        assert closed(x).abs().max() < 1e-6  # 1 - g(x) ~ 0: the shortcut shut
    # where the dimensions increase, the gate is strided and as wide as the zero-padded shortcut
    first = shortcut_variant("resnet20", "gated").stages[1][0]
    assert first.shortcut(torch.randn(2, 16, 32, 32)).shape == (2, 32, 16, 16)


def test_variant_parameters_scaling_adds_none_a_gate_adds_a_1x1_conv_per_unit_a_1x1_conv_is_option_c():
    base = count_parameters(get_model("resnet20"))
    assert count_parameters(shortcut_variant("resnet20", "scaled")) == base
    gates = 3 * (16 * 16 + 16) + (16 * 32 + 32) + 2 * (32 * 32 + 32) + (32 * 64 + 64) + 2 * (64 * 64 + 64)
    assert count_parameters(shortcut_variant("resnet20", "gated")) - base == gates
    conv = shortcut_variant("resnet20", "1x1 conv")
    assert conv.shortcut_option == "C" and count_parameters(conv) == count_parameters(get_model("resnet20", shortcut="C"))


@pytest.mark.parametrize(
    "name, variant, message",
    [
        ("resnet20", "dropout", "unknown shortcut variant 'dropout': valid are 'scaled', 'gated', '1x1 conv'"),
        ("plain20", "scaled", "needs a CIFAR-10 ResNet"),
        ("resnet21", "gated", "6n\\+2"),
    ],
)
def test_impossible_variants_are_refused_by_name(name, variant, message):
    with pytest.raises(ValueError, match=message):
        shortcut_variant(name, variant)


def test_layout_is_table1_and_sec42():
    """models.layout reads Table 1's rows (output size, blocks per stage) and Sec. 4.2's back from the nets."""
    from resnet_book.models import IMAGENET, layout

    for depth, arch in IMAGENET.items():
        rows = layout(get_model(f"resnet{depth}"), 224)
        assert [r.output for r in rows] == ["112x112", "56x56", "28x28", "14x14", "7x7", "1x1"]
        assert [r.name for r in rows[:5]] == ["conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x"]
        assert tuple(r.blocks for r in rows[1:5]) == arch.blocks_per_stage
    rows = layout(get_model("resnet50"), 224)
    assert rows[0].layers == "7x7, 64, stride 2"
    assert rows[1].layers == "3x3 max pool, stride 2; [1x1, 64; 3x3, 64; 1x1, 256] x 3"
    assert rows[4].layers == "[1x1, 512; 3x3, 512; 1x1, 2048] x 3"
    cifar = layout(get_model("resnet56"), 32)  # n = 9
    assert [r.output for r in cifar] == ["32x32", "32x32", "16x16", "8x8", "1x1"]
    assert [r.layers for r in cifar[1:4]] == [f"[3x3, {w}; 3x3, {w}] x 9" for w in (16, 32, 64)]
