"""The training schedules against schedules written out by hand (the paper's section 5.3)."""

import numpy as np
import pytest

from tabdistill.errors import TabdistillError
from tabdistill.strategies import Strategy, parse_strategy

S, EPOCHS = 4, 3
LRS = np.arange(1, S * EPOCHS + 1) / 100.0  # 12 distinct learned lrs


def test_raw_is_the_distilled_steps():
    index, lrs = parse_strategy("raw").schedule(LRS, S)
    assert list(index) == [0, 1, 2, 3] * 3
    np.testing.assert_array_equal(lrs, LRS)


def test_fixed_schedule_by_hand():
    index, lrs = Strategy("fixed", epochs=13, base_lr=0.3, warmup_epochs=10).schedule(LRS, S)
    assert len(index) == 13 * S and list(index[:8]) == [0, 1, 2, 3, 0, 1, 2, 3]
    expected, lr = [], 0.3
    for epoch in range(13):
        lr *= 1.1 if epoch < 10 else 0.95
        expected += [lr] * S
    np.testing.assert_allclose(lrs, expected)


def test_repeat_schedule_by_hand():
    index, lrs = Strategy("repeat", times=3, gamma2=0.9, gamma3=0.5).schedule(LRS, S)
    expected = np.concatenate([LRS, LRS * 0.9, LRS * 0.81])
    np.testing.assert_allclose(lrs, expected)
    assert list(index) == [0, 1, 2, 3] * 9


def test_repeat_last_schedule_by_hand():
    index, lrs = Strategy("repeat-last", extra=2, gamma2=0.5, gamma3=0.98).schedule(LRS, S)
    last = LRS[-S:]
    np.testing.assert_allclose(lrs, np.concatenate([LRS, last * 0.98, last * 0.98**2]))
    assert list(index) == [0, 1, 2, 3] * 5


def test_paper_lengths():
    n = 200
    for name in ("fixed", "repeat", "repeat-last"):
        index, lrs = parse_strategy(name).schedule(np.full(n, 0.02), 40)
        assert len(index) == lrs.shape[-1] == 2000


def test_per_restart_lrs_keep_their_axis():
    lrs = np.stack([LRS, 2 * LRS])
    for name in ("raw", "1", "2", "3"):
        index, out = parse_strategy(name).schedule(lrs, S)
        assert out.shape == (2, len(index))


@pytest.mark.parametrize("alias,kind", [("1", "fixed"), ("2", "repeat"), ("3", "repeat-last"),
                                        ("Repeat-Last", "repeat-last")])
def test_digits_and_names(alias, kind):
    assert parse_strategy(alias).kind == kind


def test_unknown_strategy():
    with pytest.raises(TabdistillError, match="unknown strategy"):
        parse_strategy("4")


def test_each_strategy_has_its_own_gamma_and_the_papers_constants():
    s = Strategy()
    assert (s.epochs, s.base_lr, s.warmup_epochs, s.up, s.down) == (50, 0.3, 10, 1.1, 0.95)
    assert (s.times, s.gamma2, s.extra, s.gamma3) == (10, 0.98, 45, 0.98)
    authors = parse_strategy("2", gamma2=0.9)  # the authors' code, for strategy 2 only
    _, lrs2 = authors.schedule(LRS, S)
    np.testing.assert_allclose(lrs2[-LRS.size:], LRS * 0.9**9)
    _, lrs3 = parse_strategy("3", gamma2=0.9, extra=1).schedule(LRS, S)
    np.testing.assert_allclose(lrs3[-S:], LRS[-S:] * 0.98)
