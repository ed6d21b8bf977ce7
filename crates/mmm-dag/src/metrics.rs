//! Structure-recovery metrics of an estimated graph against a true binary graph.
//!
//! Convention: `adj[i, j] != 0` means the edge `i → j`. Diagonal entries are ignored by every
//! metric (self-loops are not scored). Let `E` be the estimated and `T` the true edge set.
//!
//! - **SHD** (structural Hamming distance): the number of unordered node pairs `{i, j}` whose
//!   edge configuration (none, `i → j`, `j → i`, both) differs between estimate and truth. A
//!   missing, an extra and a reversed edge each count 1.
//! - **TPR** = `|E ∩ T| / |T|` (direction must match); 1 when `T` is empty.
//! - **FDR** = `|E \ T| / |E|` (a reversed edge is a false discovery); 0 when `E` is empty.
//! - **AUROC** of the scores `|W_ij|` over all ordered off-diagonal pairs, labelled by
//!   `T_ij ≠ 0`, via the Mann–Whitney statistic with average ranks for ties:
//!   `(Σ_{positives} rank − P(P+1)/2) / (P·N)`. NaN when there are no positives or no negatives.

use ndarray::ArrayView2;

fn check(est: &ArrayView2<f64>, truth: &ArrayView2<f64>) -> usize {
    let d = truth.nrows();
    assert_eq!(
        truth.dim(),
        (d, d),
        "true adjacency must be square, got {:?}",
        truth.dim()
    );
    assert_eq!(
        est.dim(),
        (d, d),
        "estimate shape {:?} must match the truth {:?}",
        est.dim(),
        truth.dim()
    );
    d
}

/// Structural Hamming distance between the estimated graph `est` and `true_adj`.
///
/// # Panics
/// If the matrices are not square of equal size.
pub fn shd(est: ArrayView2<f64>, true_adj: ArrayView2<f64>) -> usize {
    let d = check(&est, &true_adj);
    let mut count = 0;
    for i in 0..d {
        for j in i + 1..d {
            let e = (est[[i, j]] != 0.0, est[[j, i]] != 0.0);
            let t = (true_adj[[i, j]] != 0.0, true_adj[[j, i]] != 0.0);
            if e != t {
                count += 1;
            }
        }
    }
    count
}

fn counts(est: &ArrayView2<f64>, truth: &ArrayView2<f64>) -> (usize, usize, usize) {
    let d = check(est, truth);
    let (mut tp, mut n_est, mut n_true) = (0, 0, 0);
    for i in 0..d {
        for j in 0..d {
            if i == j {
                continue;
            }
            let e = est[[i, j]] != 0.0;
            let t = truth[[i, j]] != 0.0;
            n_est += e as usize;
            n_true += t as usize;
            tp += (e && t) as usize;
        }
    }
    (tp, n_est, n_true)
}

/// True-positive rate (recall) of directed edges; 1 when the true graph has no edges.
///
/// # Panics
/// If the matrices are not square of equal size.
pub fn tpr(est: ArrayView2<f64>, true_adj: ArrayView2<f64>) -> f64 {
    let (tp, _, n_true) = counts(&est, &true_adj);
    if n_true == 0 {
        1.0
    } else {
        tp as f64 / n_true as f64
    }
}

/// False-discovery rate of directed edges; 0 when the estimate has no edges.
///
/// # Panics
/// If the matrices are not square of equal size.
pub fn fdr(est: ArrayView2<f64>, true_adj: ArrayView2<f64>) -> f64 {
    let (tp, n_est, _) = counts(&est, &true_adj);
    if n_est == 0 {
        0.0
    } else {
        (n_est - tp) as f64 / n_est as f64
    }
}

/// Area under the ROC curve of the scores `|w_ij|` for the true edges (off-diagonal pairs).
///
/// Ties get average ranks, so a constant score gives 0.5. NaN if either class is empty.
///
/// # Panics
/// If the matrices are not square of equal size.
pub fn auroc(w: ArrayView2<f64>, true_adj: ArrayView2<f64>) -> f64 {
    let d = check(&w, &true_adj);
    let mut items: Vec<(f64, bool)> = Vec::with_capacity(d * d.saturating_sub(1));
    for i in 0..d {
        for j in 0..d {
            if i != j {
                let s = w[[i, j]].abs();
                items.push((if s.is_nan() { 0.0 } else { s }, true_adj[[i, j]] != 0.0));
            }
        }
    }
    let pos = items.iter().filter(|x| x.1).count();
    let neg = items.len() - pos;
    if pos == 0 || neg == 0 {
        return f64::NAN;
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum_pos = 0.0;
    let mut k = 0;
    while k < items.len() {
        let mut end = k + 1;
        while end < items.len() && items[end].0 == items[k].0 {
            end += 1;
        }
        // ranks k+1 ..= end share the average rank
        let avg = (k + 1 + end) as f64 / 2.0;
        rank_sum_pos += avg * items[k..end].iter().filter(|x| x.1).count() as f64;
        k = end;
    }
    let p = pos as f64;
    (rank_sum_pos - p * (p + 1.0) / 2.0) / (p * neg as f64)
}

/// All four structure metrics at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StructureMetrics {
    /// Structural Hamming distance.
    pub shd: usize,
    /// True-positive rate.
    pub tpr: f64,
    /// False-discovery rate.
    pub fdr: f64,
    /// AUROC of the continuous scores.
    pub auroc: f64,
}

/// Computes [`StructureMetrics`]: AUROC from the continuous `w`, the others from `est` (binary use).
///
/// # Panics
/// If the matrices are not square of equal size.
pub fn evaluate(
    w: ArrayView2<f64>,
    est: ArrayView2<f64>,
    true_adj: ArrayView2<f64>,
) -> StructureMetrics {
    StructureMetrics {
        shd: shd(est, true_adj),
        tpr: tpr(est, true_adj),
        fdr: fdr(est, true_adj),
        auroc: auroc(w, true_adj),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    // Truth: 0→1, 1→2, 0→2 (4 nodes, node 3 isolated).
    fn truth() -> ndarray::Array2<f64> {
        array![
            [0., 1., 1., 0.],
            [0., 0., 1., 0.],
            [0., 0., 0., 0.],
            [0., 0., 0., 0.]
        ]
    }

    #[test]
    fn perfect_estimate() {
        let t = truth();
        assert_eq!(shd(t.view(), t.view()), 0);
        assert_eq!(tpr(t.view(), t.view()), 1.0);
        assert_eq!(fdr(t.view(), t.view()), 0.0);
        assert_eq!(auroc(t.view(), t.view()), 1.0);
    }

    #[test]
    fn reversed_missing_extra_by_hand() {
        // Estimate: 1→0 (reversed), 1→2 (correct), 0→2 missing, 2→3 extra, diagonal ignored.
        let e = array![
            [5., 0., 0., 0.],
            [1., 0., 1., 0.],
            [0., 0., 0., 1.],
            [0., 0., 0., 0.]
        ];
        let t = truth();
        assert_eq!(shd(e.view(), t.view()), 3); // reversed + missing + extra
        assert_eq!(tpr(e.view(), t.view()), 1.0 / 3.0);
        assert_eq!(fdr(e.view(), t.view()), 2.0 / 3.0);
        // both directions where truth has one: one differing pair
        let mut both = t.clone();
        both[[1, 0]] = 1.0;
        assert_eq!(shd(both.view(), t.view()), 1);
    }

    #[test]
    fn empty_cases() {
        let z = ndarray::Array2::<f64>::zeros((3, 3));
        assert_eq!(tpr(z.view(), z.view()), 1.0);
        assert_eq!(fdr(z.view(), z.view()), 0.0);
        assert!(auroc(z.view(), z.view()).is_nan());
        let t = truth();
        let z4 = ndarray::Array2::<f64>::zeros((4, 4));
        assert_eq!(shd(z4.view(), t.view()), 3);
        assert_eq!(tpr(z4.view(), t.view()), 0.0);
    }

    #[test]
    fn auroc_by_hand_with_ties() {
        // 2 nodes: pairs (0,1) true, (1,0) false.
        let t = array![[0., 1.], [0., 0.]];
        assert_eq!(auroc(array![[0., 0.9], [-0.2, 0.]].view(), t.view()), 1.0);
        assert_eq!(auroc(array![[0., 0.1], [-0.2, 0.]].view(), t.view()), 0.0);
        assert_eq!(auroc(array![[0., 0.3], [-0.3, 0.]].view(), t.view()), 0.5);
        // 3 nodes, positives (0,1),(1,2); scores by pair (row-major off-diagonal):
        // (0,1)=0.8+, (0,2)=0.5, (1,0)=0.5, (1,2)=0.5+, (2,0)=0.1, (2,1)=0.9
        // ranks: 0.1→1, 0.5×3→3 (avg of 2,3,4), 0.8→5, 0.9→6. Positive ranks 5+3 = 8.
        // AUC = (8 − 2·3/2)/(2·4) = 5/8.
        let t3 = array![[0., 1., 0.], [0., 0., 1.], [0., 0., 0.]];
        let w3 = array![[0., 0.8, 0.5], [0.5, 0., -0.5], [0.1, 0.9, 0.]];
        assert_eq!(auroc(w3.view(), t3.view()), 5.0 / 8.0);
        let m = evaluate(w3.view(), t3.view(), t3.view());
        assert_eq!(m.shd, 0);
        assert_eq!(m.auroc, 5.0 / 8.0);
    }
}
