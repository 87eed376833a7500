//! A small L-BFGS minimiser (Nocedal & Wright, algorithm 7.5) with a
//! backtracking Armijo line search. Deterministic: no randomness, no
//! threads.

/// Outcome of a minimisation.
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub evaluations: usize,
}

/// Minimise `f` (returns the value and writes the gradient) from `x0`.
pub(crate) fn minimize<F: FnMut(&[f64], &mut [f64]) -> f64>(
    mut f: F,
    x0: &[f64],
    max_iter: usize,
    memory: usize,
) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = f(&x, &mut g);
    let mut evaluations = 1;
    let mut hist: Vec<(Vec<f64>, Vec<f64>, f64)> = Vec::new();
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    let mut small_steps = 0;
    for _ in 0..max_iter {
        // Two-loop recursion: d = −H·g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(hist.len());
        for (s, y, rho) in hist.iter().rev() {
            let a = rho * dot(s, &q);
            axpy(-a, y, &mut q);
            alphas.push(a);
        }
        if let Some((s, y, _)) = hist.last() {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            axpy(a - b, s, &mut q);
        }
        let mut d: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &d);
        if slope >= 0.0 || !slope.is_finite() {
            hist.clear();
            d = g.iter().map(|v| -v).collect();
            slope = -dot(&g, &g);
        }
        if slope == 0.0 {
            break;
        }
        // First step (no curvature known yet): at most 0.5 in any
        // coordinate.
        let mut t = if hist.is_empty() {
            let dmax = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            (0.5 / dmax).min(1.0)
        } else {
            1.0
        };
        let mut accepted = false;
        for _ in 0..40 {
            for i in 0..n {
                xn[i] = x[i] + t * d[i];
            }
            let fnew = f(&xn, &mut gn);
            evaluations += 1;
            if fnew.is_finite() && fnew <= fx + 1e-4 * t * slope {
                let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
                let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
                    hist.push((s, y, 1.0 / sy));
                    if hist.len() > memory {
                        hist.remove(0);
                    }
                }
                let rel = (fx - fnew) / fx.abs().max(1e-12);
                small_steps = if rel < 1e-7 { small_steps + 1 } else { 0 };
                fx = fnew;
                std::mem::swap(&mut x, &mut xn);
                std::mem::swap(&mut g, &mut gn);
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted || small_steps >= 3 {
            break;
        }
    }
    Minimum {
        x,
        f: fx,
        evaluations,
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    y.iter_mut().zip(x).for_each(|(y, x)| *y += a * x);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_rosenbrock() {
        let m = minimize(
            |x, g| {
                let (a, b) = (x[0], x[1]);
                g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
                g[1] = 200.0 * (b - a * a);
                (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
            },
            &[-1.2, 1.0],
            500,
            8,
        );
        // The minimum is (1, 1); L-BFGS gets there to ~1e-5 well within the
        // iteration budget.
        assert!(
            (m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 1.0).abs() < 1e-3,
            "{:?}",
            m.x
        );
    }
}
