"""FLOPs and parameters: Table 1 and Table 6 from code."""

import pytest
import torchvision

from resnet_book.flops import cost_table, count_flops, paper_precision, table1, table6_params
from resnet_book.models import get_model
from resnet_book.paper import TABLE1_FLOPS, TABLE6


@pytest.fixture(scope="module")
def t1():
    return table1()


@pytest.mark.slow
def test_table1_flops_at_the_papers_precision(t1):
    assert {row.name: paper_precision(row.flops) for row in t1} == TABLE1_FLOPS


def test_table1_renders_with_the_papers_column(t1):
    html = t1._repr_html_()
    assert html.startswith("<table") and "<caption>input 224x224</caption>" in html
    assert "11.3" in html and "resnet152" in html
    assert "input 224x224" in str(t1) and "resnet50" in str(t1)


def test_stages_add_up_to_the_total(t1):
    row = t1["resnet50"]
    assert sum(row.stages.values()) == pytest.approx(row.flops, rel=1e-6)
    assert list(row.stages) == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]


@pytest.mark.slow
def test_torchvision_resnet50_costs_more_because_it_strides_the_3x3():
    paper = count_flops(get_model("resnet50"), 224)
    ours_v15 = count_flops(get_model("resnet50", stride_at="3x3"), 224)
    tv = count_flops(torchvision.models.resnet50(weights=None), 224)
    assert ours_v15 == tv
    assert round(paper / 1e9, 1) == 3.9 and round(tv / 1e9, 1) == 4.1


def test_table6_parameters():
    table = table6_params()
    assert [row.name for row in table] == list(TABLE6)
    for row in table:
        digits = 2 if row.paper_params_m < 1 else 1
        assert round(row.params / 1e6, digits) == row.paper_params_m == TABLE6[row.name]["params_m"]
    assert "paper params (M)" in str(table)


def test_identity_shortcut_adds_no_flops_beyond_the_addition():
    table = cost_table(["plain20", "resnet20"])
    assert table["plain20"].flops == table["resnet20"].flops  # fvcore does not count the element-wise add
