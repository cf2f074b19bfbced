"""The shared calibration arithmetic: closed forms against numerics, tests under their null, ACI."""

import numpy as np
import pytest
from scipy import integrate, stats

from surrogate import calibration as cal
from surrogate import metrics


def test_interval_factor_and_inverse():
    assert cal.gaussian_factor(0.9) == pytest.approx(1.6449, abs=1e-4)
    assert cal.gaussian_level(cal.gaussian_factor([0.5, 0.9, 0.99])) == pytest.approx([0.5, 0.9, 0.99])
    lo, hi = cal.gaussian_interval(80.0, 2.0, 0.9)
    assert (lo, hi) == pytest.approx((80 - 3.2897, 80 + 3.2897), abs=1e-3)
    with pytest.raises(ValueError, match="level"):
        cal.gaussian_factor(1.0)


def test_crps_and_nll_closed_forms():
    y, mu, sd = 83.0, 80.0, 2.5
    cdf = stats.norm(mu, sd).cdf
    numeric = (integrate.quad(lambda x: cdf(x) ** 2, -np.inf, y)[0]
               + integrate.quad(lambda x: (1 - cdf(x)) ** 2, y, np.inf)[0])
    assert cal.crps_gaussian(y, mu, sd) == pytest.approx(numeric, rel=1e-6)
    assert cal.gaussian_nll(y, mu, sd) == pytest.approx(-stats.norm(mu, sd).logpdf(y))
    # NaN measurements and zero stds are left out
    nll = cal.gaussian_nll([y, np.nan, 1.0], [mu, mu, 1.0], [sd, sd, 0.0])
    assert nll == pytest.approx(-stats.norm(mu, sd).logpdf(y))


def test_coverage_z_bias_and_the_metrics_alias():
    y = np.array([1.0, 2.0, np.nan, 10.0])
    assert cal.coverage([0, 0, 0, 0], [5, 5, 5, 5], y) == pytest.approx(2 / 3)
    assert metrics.coverage([0, 0], [5, 5], [1.0, 7.0]) == 0.5
    z = cal.z_scores([3.0, 1.0, 1.0], [1.0, 1.0, 1.0], [2.0, 0.0, 1.0])
    assert z[0] == 1.0 and np.isnan(z[1]) and z[2] == 0.0
    assert cal.bias([1.0, np.nan], [3.0, 0.0]) == 2.0  # predicted minus measured
    rng = np.random.default_rng(0)
    mu, sd = rng.uniform(50, 90, 20000), rng.uniform(1, 5, 20000)
    ys = mu + sd * rng.standard_normal(20000)
    assert cal.reliability(ys, mu, sd, [0.5, 0.9]) == pytest.approx([0.5, 0.9], abs=0.01)


@pytest.mark.parametrize("n", [3, 8, 30])
def test_tests_hold_their_level_under_the_null(n):
    rng = np.random.default_rng(n)
    z = rng.standard_normal((4000, n))
    p_bias = np.array([cal.bias_ztest(r)[1] for r in z])
    p_t = np.array([cal.bias_ttest(r)[1] for r in z])
    disp = np.array([cal.dispersion_test(r)[2:] for r in z])
    tol = 3 * np.sqrt(0.05 * 0.95 / 4000)
    assert abs(np.mean(p_bias < 0.05) - 0.05) < tol and abs(np.mean(p_t < 0.05) - 0.05) < tol
    assert abs(np.mean(disp[:, 0] < 0.025) - 0.025) < tol and abs(np.mean(disp[:, 1] < 0.025) - 0.025) < tol


def test_tests_see_shift_and_scale():
    z = np.random.default_rng(1).standard_normal(30)
    assert cal.bias_ztest(z + 1.5)[1] < 1e-6 and cal.bias_ttest(z + 1.5)[1] < 1e-6
    q, df, p_over, p_under = cal.dispersion_test(3 * z)
    assert df == 29 and p_over < 1e-6
    assert cal.dispersion_test(z / 3)[3] < 1e-6
    assert cal.dispersion_test(z + 10)[0] == pytest.approx(cal.dispersion_test(z)[0])  # shift-free
    assert cal.dispersion_test(z, centred=False)[1] == 30
    assert cal.bonferroni(0.05, 10) == pytest.approx(0.005)


def test_aci_update_and_scale():
    target = 0.1
    alpha = np.array([0.1, 0.1])
    misses = np.array([[1.0, 0.0], [1.0, 0.0], [np.nan, 0.0]])  # column 0: 2 misses; column 1: 3 hits
    new = cal.aci_step(alpha, misses, target, gamma=0.05)
    assert new == pytest.approx([0.1 + 0.05 * (0.2 - 2), 0.1 + 0.05 * 0.3])
    assert cal.aci_scale(target, target) == pytest.approx(1.0)
    assert cal.aci_scale(0.01, target) > 1 > cal.aci_scale(0.3, target)
    assert cal.aci_scale(-0.2, target, max_scale=7) == 7 and cal.aci_scale(1.2, target) == 0
    lo, hi = cal.scale_interval(10.0, 8.0, 13.0, 2.0)
    assert (lo, hi) == (6.0, 16.0)


def test_aci_holds_coverage_under_a_drifting_error():
    """Intervals calibrated at the start, then the errors grow tenfold: ACI brings coverage back to 90 %."""
    rng = np.random.default_rng(0)
    n = 4000
    sd_true = np.linspace(1, 10, n)
    y = sd_true * rng.standard_normal(n)
    alpha, hits = np.array(0.1), []
    for i in range(n):
        half = cal.gaussian_factor(0.9) * cal.aci_scale(alpha, 0.1, max_scale=100)
        miss = float(abs(y[i]) > half)
        hits.append(1 - miss)
        alpha = cal.aci_step(alpha, [miss], 0.1, gamma=0.01)
    assert np.mean(hits) == pytest.approx(0.9, abs=0.02)
    assert np.mean(np.abs(y) <= cal.gaussian_factor(0.9)) < 0.5  # without it


def test_error_table_and_empirical_factors_agree_with_the_gaussian_ones():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0, 100, 20000)
    resid = np.where(pred < 50, 1.0, 3.0) * rng.standard_normal(20000)
    at, rms = cal.error_table(pred, resid, np.linspace(0, 1, 5))
    assert rms == pytest.approx([1, 1, 3, 3], rel=0.1) and np.all(np.diff(at) > 0)
    z = rng.standard_normal(100000)
    assert cal.interval_factors(z, [0.5, 0.9]) == pytest.approx(cal.gaussian_factor([0.5, 0.9]), abs=0.02)


def test_dispersion_is_blind_to_a_shift_in_points_with_unequal_stds():
    rng = np.random.default_rng(3)
    std = rng.uniform(0.5, 8, 50)
    resid = std * rng.standard_normal(50)
    z = resid / std
    plain = cal.dispersion_test(z, std=std)
    shifted = cal.dispersion_test((resid + 20) / std, std=std)
    assert shifted[0] == pytest.approx(plain[0]) and shifted[1] == 49
    assert cal.dispersion_test((resid + 20) / std)[2] < 1e-6  # z-centred: the shift looks like spread
    assert cal.dispersion_test(z, std=np.ones(50))[0] == pytest.approx(cal.dispersion_test(z)[0])
    # exact under the null: the chi2(n - 1) tail holds its level
    p = [cal.dispersion_test(rng.standard_normal(8), std=rng.uniform(0.5, 8, 8))[2] for _ in range(4000)]
    assert abs(np.mean(np.array(p) < 0.05) - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 4000)
