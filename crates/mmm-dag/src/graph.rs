//! Graph utilities: topological order, DAG test, and thresholding a weight matrix to a DAG.
//!
//! An adjacency or weight matrix `A` (d × d) has the edge `i → j` iff `A_ij ≠ 0`. Self-loops
//! (`A_ii ≠ 0`) are cycles.
//!
//! [`threshold`] first zeroes every weight with `|w| < τ`. A continuous optimiser only reaches
//! `h(W) ≈ 0`, so small cycles can survive; they are then broken greedily: while the graph has
//! a cycle, the weakest remaining edge *that lies on a cycle* (both ends in the same strongly
//! connected component) is removed. Edges outside every cycle are never removed by this step, so
//! the result is the thresholded graph minus the fewest-by-weight edges needed greedily.

use ndarray::{Array2, ArrayView2};

/// A topological order of the graph (Kahn's algorithm), or `None` if it has a cycle.
///
/// Among ready nodes the smallest index is taken first, so the order is deterministic.
///
/// # Panics
/// If `adj` is not square.
pub fn topological_order(adj: ArrayView2<f64>) -> Option<Vec<usize>> {
    let d = adj.nrows();
    assert_eq!(
        d,
        adj.ncols(),
        "adjacency matrix must be square, got {}x{}",
        d,
        adj.ncols()
    );
    let mut indeg: Vec<usize> = (0..d)
        .map(|j| (0..d).filter(|&i| adj[[i, j]] != 0.0).count())
        .collect();
    let mut ready: std::collections::BTreeSet<usize> = (0..d).filter(|&j| indeg[j] == 0).collect();
    let mut order = Vec::with_capacity(d);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for j in 0..d {
            if adj[[i, j]] != 0.0 {
                indeg[j] -= 1;
                if indeg[j] == 0 {
                    ready.insert(j);
                }
            }
        }
    }
    (order.len() == d).then_some(order)
}

/// `true` iff the graph with edges `adj[i, j] != 0` has no directed cycle (self-loops count).
///
/// # Panics
/// If `adj` is not square.
pub fn is_dag(adj: ArrayView2<f64>) -> bool {
    topological_order(adj).is_some()
}

/// Strongly connected component label of every node (Kosaraju, iterative).
fn scc_labels(adj: &Array2<f64>) -> Vec<usize> {
    let d = adj.nrows();
    // First pass: finishing order on the graph.
    let mut visited = vec![false; d];
    let mut finish = Vec::with_capacity(d);
    for start in 0..d {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut stack = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut next)) = stack.last_mut() {
            if let Some(u) = (*next..d).find(|&u| adj[[v, u]] != 0.0) {
                *next = u + 1;
                if !visited[u] {
                    visited[u] = true;
                    stack.push((u, 0));
                }
            } else {
                finish.push(v);
                stack.pop();
            }
        }
    }
    // Second pass on the transposed graph in reverse finishing order.
    let mut label = vec![usize::MAX; d];
    let mut count = 0;
    for &start in finish.iter().rev() {
        if label[start] != usize::MAX {
            continue;
        }
        label[start] = count;
        let mut stack = vec![start];
        while let Some(v) = stack.pop() {
            for u in 0..d {
                if adj[[u, v]] != 0.0 && label[u] == usize::MAX {
                    label[u] = count;
                    stack.push(u);
                }
            }
        }
        count += 1;
    }
    label
}

/// Thresholds `w` at `tau` and then breaks any remaining cycles; the result is always a DAG.
///
/// Entries with `|w_ij| < tau` (and NaN entries) become 0; the others keep their value. Then,
/// while the graph is cyclic, the weakest (smallest `|w|`, ties broken by lowest `(i, j)`)
/// edge lying on a cycle is set to 0 (self-loops are always on a cycle).
///
/// # Panics
/// If `w` is not square.
pub fn threshold(w: ArrayView2<f64>, tau: f64) -> Array2<f64> {
    let d = w.nrows();
    assert_eq!(
        d,
        w.ncols(),
        "weight matrix must be square, got {}x{}",
        d,
        w.ncols()
    );
    let mut out = w.mapv(|x| if x.abs() >= tau { x } else { 0.0 });
    while !is_dag(out.view()) {
        let label = scc_labels(&out);
        let mut weakest: Option<(f64, usize, usize)> = None;
        for i in 0..d {
            for j in 0..d {
                let v = out[[i, j]].abs();
                if v != 0.0 && label[i] == label[j] && weakest.is_none_or(|(b, _, _)| v < b) {
                    weakest = Some((v, i, j));
                }
            }
        }
        let (_, i, j) =
            weakest.expect("a cyclic graph has an edge inside a strongly connected component");
        out[[i, j]] = 0.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn topological_order_of_a_chain_and_a_cycle() {
        let chain = array![[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]; // 1→2→0
        assert_eq!(topological_order(chain.view()), Some(vec![1, 2, 0]));
        assert!(is_dag(chain.view()));
        let mut cyc = chain.clone();
        cyc[[0, 1]] = 0.5; // 0→1 closes 0→1→2→0
        assert_eq!(topological_order(cyc.view()), None);
        assert!(!is_dag(cyc.view()));
        let self_loop = array![[0.0, 1.0], [0.0, 2.0]];
        assert!(!is_dag(self_loop.view()));
        assert!(is_dag(Array2::<f64>::zeros((0, 0)).view()));
    }

    #[test]
    fn scc_labels_group_cycles() {
        // 0↔1, 1→2, 2→3, 3→2, 4 isolated
        let mut a = Array2::<f64>::zeros((5, 5));
        a[[0, 1]] = 1.0;
        a[[1, 0]] = 1.0;
        a[[1, 2]] = 1.0;
        a[[2, 3]] = 1.0;
        a[[3, 2]] = 1.0;
        let l = scc_labels(&a);
        assert_eq!(l[0], l[1]);
        assert_eq!(l[2], l[3]);
        assert_ne!(l[0], l[2]);
        assert_ne!(l[4], l[0]);
        assert_ne!(l[4], l[2]);
    }

    #[test]
    fn threshold_removes_small_weights_then_weakest_cycle_edge() {
        // 0→1 (0.9), 1→2 (0.8), 2→0 (0.5): cycle; 0→3 (0.4) is weaker but not on the cycle;
        // 3→1 (0.1) is below tau.
        let mut w = Array2::<f64>::zeros((4, 4));
        w[[0, 1]] = 0.9;
        w[[1, 2]] = -0.8;
        w[[2, 0]] = 0.5;
        w[[0, 3]] = 0.4;
        w[[3, 1]] = 0.1;
        let t = threshold(w.view(), 0.3);
        let mut expect = w.clone();
        expect[[3, 1]] = 0.0;
        expect[[2, 0]] = 0.0;
        assert_eq!(t, expect);
        assert!(is_dag(t.view()));
    }

    #[test]
    fn threshold_keeps_a_dag_untouched_above_tau() {
        let w = array![[0.0, 0.5, -2.0], [0.0, 0.0, 0.31], [0.0, 0.0, 0.0]];
        assert_eq!(threshold(w.view(), 0.3), w);
        let t = threshold(w.view(), 0.4);
        assert_eq!(t[[1, 2]], 0.0);
        assert_eq!(t[[0, 1]], 0.5);
    }
}
