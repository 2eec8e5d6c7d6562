"""The paper's numbers as data, each with the table or section it comes from.

Chapters print "paper vs ours" from here, so a number of the paper is typed once, in this file.
Errors are percentages as the paper prints them; FLOPs are multiply-adds x 10^9; parameters are millions.
"""

from __future__ import annotations

# The companion (the sequel): CIFAR-10 test error (%) with the original units and with full pre-activation
# (Fig. 4(e)); medians of 5 runs, mini-batch 128. ResNet-110 from its Table 2 (original: Table 1's first row),
# ResNet-164 and ResNet-1001 from its Table 3. Parameters in millions as the sequel prints them.
# The abstract's 4.62 % for ResNet-1001 is another setting, mini-batch 64 (its Table 4), not this row.
SEQUEL_CIFAR10 = {
    "resnet110": {"bottleneck": False, "params_m": 1.7, "original": 6.61, "preact": 6.37},
    "resnet164": {"bottleneck": True, "params_m": 1.7, "original": 5.93, "preact": 5.46},
    "resnet1001": {"bottleneck": True, "params_m": 10.2, "original": 7.61, "preact": 4.92},
}

# The sequel's Table 1: CIFAR-10 test error (%) of ResNet-110 built of the first paper's units (the sequel's
# Fig. 2(a): BN after each conv, ReLU after the addition) with the shortcut of every unit changed as in its
# Fig. 2 (b)-(f); medians of 5 runs. "on shortcut" and "on F" are what multiplies each path; "fail" is the
# sequel's word for a test error above 20 % (SEQUEL_TABLE1_FAIL). Source: the sequel (arXiv:1603.05027),
# Table 1, read from a stored full-text copy of the paper; its Sec. 3.1 text repeats 6.61, 12.35, 8.70, 12.86,
# 6.91 and 12.22 and the shortcuts that do not converge, and a stored translation of Sec. 3.1 confirms 6.61,
# 12.86 and 12.22; 9.81 is in the table only. The "1x1 conv shortcut" is the first paper's option C on every
# unit (the sequel says so).
SEQUEL_TABLE1_FAIL = 20.0
SEQUEL_TABLE1_COLUMNS = ("case", "fig", "on_shortcut", "on_F", "error", "remark")
SEQUEL_TABLE1 = tuple(dict(zip(SEQUEL_TABLE1_COLUMNS, row)) for row in (
    ("original",             "2(a)", "1",           "1",    6.61,   ""),
    ("constant scaling",     "2(b)", "0",           "1",    "fail", "a plain net"),
    ("constant scaling",     "2(b)", "0.5",         "1",    "fail", ""),
    ("constant scaling",     "2(b)", "0.5",         "0.5",  12.35,  "frozen gating"),
    ("exclusive gating",     "2(c)", "1 - g(x)",    "g(x)", "fail", "init b_g = 0 to -5"),
    ("exclusive gating",     "2(c)", "1 - g(x)",    "g(x)", 8.70,   "init b_g = -6"),
    ("exclusive gating",     "2(c)", "1 - g(x)",    "g(x)", 9.81,   "init b_g = -7"),
    ("shortcut-only gating", "2(d)", "1 - g(x)",    "1",    12.86,  "init b_g = 0"),
    ("shortcut-only gating", "2(d)", "1 - g(x)",    "1",    6.91,   "init b_g = -6"),
    ("1x1 conv shortcut",    "2(e)", "1x1 conv",    "1",    12.22,  ""),
    ("dropout shortcut",     "2(f)", "dropout 0.5", "1",    "fail", ""),
))  # fmt: skip


def sequel_table1_error(case: str, on_shortcut: str, remark: str = "") -> float | str:
    """The sequel's Table 1 error (%, or "fail") of one row, e.g. ``("shortcut-only gating", "1 - g(x)",
    "init b_g = 0")`` -> 12.86; a row that is not in the table raises ``KeyError`` naming it."""
    for row in SEQUEL_TABLE1:
        if (row["case"], row["on_shortcut"], row["remark"]) == (case, on_shortcut, remark):
            return row["error"]
    raise KeyError(f"no row {case!r}, on shortcut {on_shortcut!r}, remark {remark!r} in the sequel's Table 1")


# Table 1: FLOPs (multiply-adds, x10^9) at 224x224 of the ImageNet nets (their blocks per stage: models.IMAGENET).
TABLE1_FLOPS = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3}
TABLE1_OTHER_FLOPS = {"vgg19": 19.6, "plain34": 3.6}

# Table 2: ImageNet top-1 error (%, 10-crop testing), plain vs ResNet (option A).
TABLE2_TOP1 = {"plain18": 27.94, "plain34": 28.54, "resnet18": 27.88, "resnet34": 25.03}

# Table 3: ImageNet validation error (%, 10-crop testing), (top-1, top-5).
TABLE3 = {
    "plain34": (28.54, 10.02),
    "resnet34 A": (25.03, 7.76),
    "resnet34 B": (24.52, 7.46),
    "resnet34 C": (24.19, 7.40),
    "resnet50": (22.85, 6.71),
    "resnet101": (21.75, 6.05),
    "resnet152": (21.43, 5.71),
    "VGG-16": (28.07, 9.33),
    "PReLU-net": (24.27, 7.38),
}

# Table 4: single-model error (%) on the ImageNet validation set, (top-1, top-5); None where the paper
# prints a dash. VGG (ILSVRC'14)'s top-5 is on the test set (the paper's dagger).
TABLE4 = {
    "VGG (ILSVRC'14)": (None, 8.43),
    "GoogLeNet (ILSVRC'14)": (None, 7.89),
    "VGG (v5)": (24.4, 7.1),
    "PReLU-net": (21.59, 5.71),
    "BN-inception": (21.99, 5.81),
    "resnet34 B": (21.84, 5.71),
    "resnet34 C": (21.53, 5.60),
    "resnet50": (20.74, 5.25),
    "resnet101": (19.87, 4.60),
    "resnet152": (19.38, 4.49),
}

# Table 5: top-5 error (%) of ensembles on the ImageNet test set. ResNet: six models of different depth.
TABLE5_TOP5 = {
    "VGG (ILSVRC'14)": 7.32,
    "GoogLeNet (ILSVRC'14)": 6.66,
    "VGG (v5)": 6.8,
    "PReLU-net": 4.94,
    "BN-inception": 4.82,
    "ResNet (ILSVRC'15)": 3.57,
}

# Sec. 3.4: the ImageNet recipe.
IMAGENET_RECIPE = {
    "source": "Sec. 3.4",
    "augmentation": "shorter side resized at random in [256, 480], 224x224 crop or its flip, "
    "per-pixel mean subtracted, standard colour augmentation",
    "initialization": "He et al. [13] (the package's ResNet.reset_parameters)",
    "batch_size": 256,
    "lr": 0.1,  # divided by 10 when the error plateaus
    "iterations": 600_000,  # up to 60 x 10^4
    "weight_decay": 1e-4,
    "momentum": 0.9,
    "test": "10-crop; best results fully-convolutional, averaged over scales {224, 256, 384, 480, 640}",
}

# Sec. 4.3 (Tables 7, 8): object detection with Faster R-CNN, mAP (%), VGG-16 vs ResNet-101 as backbone.
TABLE7_VOC_MAP = {"VGG-16": {"VOC 07 test": 73.2, "VOC 12 test": 70.4}, "ResNet-101": {"VOC 07 test": 76.4, "VOC 12 test": 73.8}}
TABLE8_COCO_MAP = {"VGG-16": {"mAP@.5": 41.5, "mAP@[.5, .95]": 21.2}, "ResNet-101": {"mAP@.5": 48.4, "mAP@[.5, .95]": 27.2}}

# Table 6: CIFAR-10 test error (%) and parameters (millions) of the ResNets (option A).
# ResNet-110: best of 5 runs; mean 6.61 +- 0.16.
TABLE6 = {
    "resnet20": {"layers": 20, "params_m": 0.27, "test_error": 8.75},
    "resnet32": {"layers": 32, "params_m": 0.46, "test_error": 7.51},
    "resnet44": {"layers": 44, "params_m": 0.66, "test_error": 7.17},
    "resnet56": {"layers": 56, "params_m": 0.85, "test_error": 6.97},
    "resnet110": {"layers": 110, "params_m": 1.7, "test_error": 6.43, "mean": 6.61, "std": 0.16, "runs": 5},
    "resnet1202": {"layers": 1202, "params_m": 19.4, "test_error": 7.93},
}
TABLE6_OTHERS = {
    "Maxout": 9.38,
    "NIN": 8.81,
    "DSN": 8.22,
    "FitNet": 8.39,
    "Highway": 7.54,  # 7.72 +- 0.16
}

# Sec. 4.2: the CIFAR-10 nets' layout, the small table in its text (n blocks of two 3x3 layers per stage; the
# first layer, a 3x3 conv, counts in the first stage's "1+2n"; then global average pooling and a 10-way fc).
CIFAR_LAYOUT = {"output map size": ("32x32", "16x16", "8x8"), "# layers": ("1+2n", "2n", "2n"), "# filters": (16, 32, 64)}

# Sec. 4.2: the CIFAR-10 training recipe.
CIFAR_RECIPE = {
    "source": "Sec. 4.2",
    "batch_size": 128,  # on 2 GPUs
    "lr": 0.1,
    "milestones": (32_000, 48_000),  # lr divided by 10 at these iterations
    "lr_factor": 0.1,
    "iterations": 64_000,  # chosen on a 45k/5k train/val split
    "weight_decay": 1e-4,
    "momentum": 0.9,
    "augmentation": "4 pixels padded on each side, random 32x32 crop of the padded image or its flip",
    "normalization": "per-pixel mean subtracted",
    "test": "the single view of the original 32x32 image",
    # ResNet-110: lr 0.01 until training error < 80 % (about 400 iterations), then back to 0.1.
    "warmup": {"models": ("resnet110", "resnet1202"), "lr": 0.01, "until_train_error": 0.80},
}


def table6_error(model: str) -> float | None:
    """The paper's CIFAR-10 test error (%) for ``model`` (Table 6), or None if the paper has none."""
    row = TABLE6.get(model)
    return None if row is None else row["test_error"]


def table6_text(model: str) -> str:
    """The paper's Table 6 entry for ``model`` as ours are printed (``report.summary``): ResNet-110's
    "6.43 (6.61 ± 0.16, 5 runs)", the best of 5 runs then their mean ± std; the single number elsewhere."""
    row = TABLE6[model]
    if "mean" not in row:
        return f"{row['test_error']:.2f}"
    return f"{row['test_error']:.2f} ({row['mean']:.2f} ± {row['std']:.2f}, {row['runs']} runs)"
