//! The statistics of a sweep: the Wilson lower bound of a pass rate, pass^k, and how many
//! seeds a bound needs. Pure arithmetic, so the loader (which refuses a bound no sweep can
//! meet) and the sweep itself both use it without importing each other.

/// The fewest seeds (each run `repeat` times) whose runs, all passing, have a Wilson lower
/// bound of at least `rate`; `None` when no number can (a rate of 1: the bound of n passes
/// out of n is n / (n + 1.96²), always under 1).
pub fn seeds_needed(rate: f64, repeat: u32) -> Option<u64> {
    if rate >= 1.0 {
        return None;
    }
    if rate <= 0.0 {
        return Some(1);
    }
    const Z2: f64 = 1.959_963_984_540_054 * 1.959_963_984_540_054;
    // n / (n + z²) >= rate  ⇔  n >= rate z² / (1 - rate); then checked against the bound
    // as it is computed, so float rounding cannot make a count one too few.
    let mut runs = ((rate * Z2 / (1.0 - rate)).ceil() as u64).max(1);
    while runs > 1 && wilson_lower(runs - 1, runs - 1) >= rate {
        runs -= 1;
    }
    while wilson_lower(runs, runs) < rate {
        runs += 1;
    }
    Some(runs.div_ceil(u64::from(repeat.max(1))))
}

/// The Wilson score lower bound of a pass rate at 95% confidence (z = 1.96): how low the
/// true rate may be, given `passes` of `runs`. 0 for no runs.
pub fn wilson_lower(passes: u64, runs: u64) -> f64 {
    if runs == 0 {
        return 0.0;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let n = runs as f64;
    let p = passes as f64 / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let spread = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // Never above the rate (exactly 0 with no pass), whatever the rounding.
    ((centre - spread) / (1.0 + z2 / n)).clamp(0.0, p)
}

/// pass^k: the chance that `k` runs drawn from these, without replacement, all pass:
/// C(passes, k) / C(runs, k). 0 when `k` exceeds `passes`.
pub fn pass_hat_k(passes: u64, runs: u64, k: u64) -> f64 {
    if k > runs || k > passes {
        return 0.0;
    }
    // The product form, without large binomials: ∏ (passes - i) / (runs - i).
    (0..k).fold(1.0, |acc, i| acc * (passes - i) as f64 / (runs - i) as f64)
}
