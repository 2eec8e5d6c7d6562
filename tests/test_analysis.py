"""Measurements the chapters share (``resnet_book.analysis``): what the shortcut options cost, Fig. 7 in one
number. (The layer responses and gradient norms themselves are checked with the models, tests/test_models.py.)"""

import pytest

from resnet_book import analysis, runs
from resnet_book.models import count_parameters, get_model


def test_shortcut_cost_option_a_is_free_b_projects_at_stage_transitions_c_everywhere():
    cost = {o: analysis.shortcut_cost(get_model("resnet20", shortcut=o)) for o in "ABC"}
    a, b, c = cost["A"], cost["B"], cost["C"]
    # Sec. 3.2 / 4.2: option A has exactly the parameters of the plain twin; its shortcuts cost nothing
    assert a.params == count_parameters(get_model("plain20")) and a.projections == 0
    assert [p for p, _ in a.stages] == [0, 0, 0]
    # B: one projection where the map halves (stages 2 and 3), none in stage 1
    assert b.projections == 2 and b.stages[0] == (0, 0) and all(p > 0 and f > 0 for p, f in b.stages[1:])
    assert b.params - a.params == sum(p for p, _ in b.stages)  # the shortcuts are all B adds
    # C: one per block (3 stages of 3 blocks), so stage 1 pays too; more than B everywhere
    assert c.projections == 9 and all(pc > pb for (pc, _), (pb, _) in zip(c.stages, b.stages))
    assert c.flops > b.flops > a.flops


@pytest.mark.slow
def test_shortcut_cost_at_imagenet_size_counts_the_papers_thirteen_extra_projections():
    b, c = (analysis.shortcut_cost(get_model("resnet34", shortcut=o), 224) for o in "BC")
    assert (b.projections, c.projections) == (3, 16)  # Sec. 4.1: "thirteen" more in C


def test_mean_response_is_the_mean_layer_std_and_needs_fig7_statistics():
    run = runs.find_run("resnet20")
    stds = run.final["layer_response_std"]
    assert analysis.mean_response(run) == pytest.approx(sum(stds) / len(stds))
    bare = runs.Run({**run.record, "final": {k: v for k, v in run.final.items() if k != "layer_response_std"}})
    with pytest.raises(ValueError, match=f"{run.id} has no layer_response_std"):
        analysis.mean_response(bare)
