//! Checking a [`FittedModel`] read from `model.json` before anything computes with it: every array
//! has the shape its regions × weeks × channels × controls say, every number is finite and in its
//! range, the calendar is evenly spaced, the split partitions it, the channel DAG is acyclic, and
//! the names can name components of the decomposition. A failure names the field
//! (`dag.weights[3]: expected 10 entries, found 9`, `dag.weights: cycle tv → search → tv`), so
//! the computations after [`FittedModel::load`] can index without checks.

use crate::model::FittedModel;
use crate::{Error, Result};
use mmm_data::Week;

/// A failed check: the field and what is wrong with it.
struct Invalid {
    field: String,
    problem: String,
}

type Check = std::result::Result<(), Invalid>;

fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Check {
    Err(Invalid {
        field: field.into(),
        problem: problem.into(),
    })
}

fn len(field: &str, found: usize, expected: usize, of: &str) -> Check {
    if found == expected {
        Ok(())
    } else {
        invalid(
            field,
            format!("expected {expected} entries ({of}), found {found}"),
        )
    }
}

/// What a number must be.
#[derive(Clone, Copy, PartialEq)]
enum Range {
    Finite,
    NonNegative,
    Positive,
}

fn number(field: &str, v: f64, range: Range) -> Check {
    let (ok, expected) = match range {
        Range::Finite => (v.is_finite(), "a finite number"),
        Range::NonNegative => (v.is_finite() && v >= 0.0, "a finite number ≥ 0"),
        Range::Positive => (v.is_finite() && v > 0.0, "a finite number > 0"),
    };
    if ok {
        Ok(())
    } else {
        invalid(field, format!("expected {expected}, found {v}"))
    }
}

/// Every value of `values` in `range` (`field[i]` names a bad one).
fn numbers<'a>(field: &str, values: impl IntoIterator<Item = &'a f64>, range: Range) -> Check {
    for (i, &v) in values.into_iter().enumerate() {
        number(&format!("{field}[{i}]"), v, range)?;
    }
    Ok(())
}

/// `v` as a `rows × cols` table (`field[i]` names a bad row).
fn table(
    field: &str,
    v: &[Vec<f64>],
    rows: (usize, &str),
    cols: (usize, &str),
    range: Range,
) -> Check {
    len(field, v.len(), rows.0, rows.1)?;
    for (i, row) in v.iter().enumerate() {
        let f = format!("{field}[{i}]");
        len(&f, row.len(), cols.0, cols.1)?;
        numbers(&f, row, range)?;
    }
    Ok(())
}

/// `v` as a regions × weeks × `inner` array.
fn cube(field: &str, v: &[Vec<Vec<f64>>], dims: [(usize, &str); 3], range: Range) -> Check {
    len(field, v.len(), dims[0].0, dims[0].1)?;
    for (r, m) in v.iter().enumerate() {
        table(&format!("{field}[{r}]"), m, dims[1], dims[2], range)?;
    }
    Ok(())
}

/// A directed cycle of the graph `w[i][j] != 0` (i → j), as its nodes with the first repeated at
/// the end; `None` for a DAG. `w` must be square.
fn find_cycle(w: &[Vec<f64>]) -> Option<Vec<usize>> {
    let n = w.len();
    // 0 = unvisited, 1 = on the current path, 2 = done.
    let mut state = vec![0u8; n];
    let mut path: Vec<usize> = Vec::new();
    fn visit(
        i: usize,
        w: &[Vec<f64>],
        state: &mut [u8],
        path: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for j in 0..w.len() {
            if w[i][j] == 0.0 {
                continue;
            }
            if state[j] == 1 {
                let start = path.iter().position(|&k| k == j).unwrap_or(0);
                let mut cycle = path[start..].to_vec();
                cycle.push(j);
                return Some(cycle);
            }
            if state[j] == 0
                && let Some(c) = visit(j, w, state, path)
            {
                return Some(c);
            }
        }
        path.pop();
        state[i] = 2;
        None
    }
    (0..n).find_map(|i| {
        if state[i] == 0 {
            visit(i, w, &mut state, &mut path)
        } else {
            None
        }
    })
}

fn distinct(field: &str, names: &[String]) -> Check {
    for (i, n) in names.iter().enumerate() {
        if n.trim().is_empty() {
            return invalid(format!("{field}[{i}]"), "empty name");
        }
        if let Some(j) = names[..i].iter().position(|m| m == n) {
            return invalid(
                format!("{field}[{i}]"),
                format!("`{n}` repeats {field}[{j}]"),
            );
        }
    }
    Ok(())
}

impl FittedModel {
    /// Checks every field against the others (see the module docs); `source` (the file) starts
    /// the message of the [`Error::InvalidModel`] returned for the first problem found.
    pub fn validate(&self, source: &str) -> Result<()> {
        self.check()
            .map_err(|Invalid { field, problem }| Error::InvalidModel {
                path: source.to_string(),
                field,
                problem,
            })?;
        mmm_data::check_component_names(
            std::path::Path::new(source),
            &self.channels,
            &self.controls,
        )?;
        Ok(())
    }

    fn check(&self) -> Check {
        let (r_n, t_n, c_n, k_n) = (
            self.regions.len(),
            self.weeks.len(),
            self.channels.len(),
            self.controls.len(),
        );
        let regions = (r_n, "one per region");
        let weeks = (t_n, "one per week");
        let channels = (c_n, "one per channel");
        let controls = (k_n, "one per control");
        if r_n == 0 {
            return invalid("regions", "no regions");
        }
        if c_n == 0 {
            return invalid("channels", "no channels");
        }
        distinct("regions", &self.regions)?;
        self.check_config()?;
        self.check_calendar()?;

        numbers(
            "target_scaler.means",
            &self.target_scaler.means,
            Range::Positive,
        )?;
        len(
            "target_scaler.means",
            self.target_scaler.means.len(),
            r_n,
            regions.1,
        )?;
        let media = &self.media_scaler;
        len("media_scaler.size", media.size.len(), r_n, regions.1)?;
        numbers("media_scaler.size", &media.size, Range::Positive)?;
        len(
            "media_scaler.channel_means",
            media.channel_means.len(),
            c_n,
            channels.1,
        )?;
        numbers(
            "media_scaler.channel_means",
            &media.channel_means,
            Range::Positive,
        )?;
        if let Some((i, c)) = media
            .degenerate
            .iter()
            .enumerate()
            .find(|(_, c)| **c >= c_n)
        {
            return invalid(
                format!("media_scaler.degenerate[{i}]"),
                format!("channel index {c}, but there are {c_n} channels"),
            );
        }
        let control = &self.control_scaler;
        len(
            "control_scaler.center",
            control.center.len(),
            k_n,
            controls.1,
        )?;
        numbers("control_scaler.center", &control.center, Range::Finite)?;
        len("control_scaler.scale", control.scale.len(), k_n, controls.1)?;
        numbers("control_scaler.scale", &control.scale, Range::Positive)?;

        let n_params = self
            .model()
            .map_err(|e| Invalid {
                field: "config.model".into(),
                problem: e.to_string(),
            })?
            .n_params();
        len(
            "params",
            self.params.len(),
            n_params,
            "the model's parameter count for its configuration",
        )?;
        numbers("params", &self.params, Range::Finite)?;

        let dag = &self.dag;
        table(
            "dag.weights",
            &dag.weights,
            channels,
            channels,
            Range::NonNegative,
        )?;
        table(
            "dag.standardized",
            &dag.standardized,
            channels,
            channels,
            Range::Finite,
        )?;
        table("dag.scores", &dag.scores, channels, channels, Range::Finite)?;
        number("dag.h", dag.h, Range::Finite)?;
        if let Some(cycle) = find_cycle(&dag.weights) {
            let names: Vec<&str> = cycle.iter().map(|&c| self.channels[c].as_str()).collect();
            return invalid("dag.weights", format!("cycle {}", names.join(" → ")));
        }

        let h = &self.history;
        len("history.target", h.target.len(), r_n, regions.1)?;
        for (r, row) in h.target.iter().enumerate() {
            let f = format!("history.target[{r}]");
            len(&f, row.len(), t_n, weeks.1)?;
            numbers(&f, row.iter().flatten(), Range::Finite)?;
        }
        cube(
            "history.media",
            &h.media,
            [regions, weeks, channels],
            Range::NonNegative,
        )?;
        if let Some(spend) = &h.spend {
            cube(
                "history.spend",
                spend,
                [regions, weeks, channels],
                Range::NonNegative,
            )?;
        }
        cube(
            "history.controls",
            &h.controls,
            [regions, weeks, controls],
            Range::Finite,
        )?;

        if let Some(k) = &self.kernel_start {
            len("kernel_start", k.len(), c_n, channels.1)?;
            numbers("kernel_start", k.iter().flatten(), Range::Positive)?;
        }
        if let Some(m) = &self.screened_media {
            len("screened_media.kernels", m.kernels.len(), c_n, channels.1)?;
            numbers(
                "screened_media.kernels",
                m.kernels.iter().flatten(),
                Range::Positive,
            )?;
            len("screened_media.curves", m.curves.len(), c_n, channels.1)?;
            numbers(
                "screened_media.curves",
                m.curves.iter().flatten(),
                Range::Positive,
            )?;
            len("screened_media.effects", m.effects.len(), c_n, channels.1)?;
            numbers("screened_media.effects", &m.effects, Range::NonNegative)?;
            number("screened_media.media_share", m.media_share, Range::Finite)?;
            if !m.evidence.is_empty() {
                len("screened_media.evidence", m.evidence.len(), c_n, channels.1)?;
            }
        }
        Ok(())
    }

    fn check_config(&self) -> Check {
        let config = |e: &dyn std::fmt::Display| Invalid {
            field: "config".into(),
            problem: e.to_string(),
        };
        self.config.model.validate().map_err(|e| config(&e))?;
        self.config.train.validate().map_err(|e| config(&e))?;
        self.config.dag.validate().map_err(|e| config(&e))?;
        if let Some(split) = &self.config.model.initial_media_split {
            len(
                "config.model.initial_media_split",
                split.len(),
                self.channels.len(),
                "one per channel",
            )?;
        }
        Ok(())
    }

    /// The weeks: one kind, strictly increasing by one step; the split partitions them.
    fn check_calendar(&self) -> Check {
        let t_n = self.weeks.len();
        let Some(first) = self.weeks.first() else {
            return invalid("weeks", "no weeks");
        };
        if t_n > mmm_data::MAX_CALENDAR_WEEKS {
            return invalid(
                "weeks",
                format!(
                    "{t_n} weeks, more than the {} a panel may have",
                    mmm_data::MAX_CALENDAR_WEEKS
                ),
            );
        }
        // The weeks a panel file can hold, so that the arithmetic of forecasts cannot overflow.
        let dates = mmm_data::days_from_civil(1, 1, 1)..=mmm_data::days_from_civil(9999, 12, 31);
        let indices = -mmm_data::MAX_WEEK_INDEX..=mmm_data::MAX_WEEK_INDEX;
        for (t, w) in self.weeks.iter().enumerate() {
            let ok = match w {
                Week::Date(d) => dates.contains(d),
                Week::Index(i) => indices.contains(i),
            };
            if !ok {
                return invalid(
                    format!("weeks[{t}]"),
                    format!(
                        "expected a date in the years 1 to 9999 or a week number of at most \
                         {} in absolute value, found {w}",
                        mmm_data::MAX_WEEK_INDEX
                    ),
                );
            }
        }
        let step = match self.weeks.get(1) {
            Some(second) => second.key().checked_sub(first.key()).unwrap_or(0),
            None => 1,
        };
        for (t, w) in self.weeks.iter().enumerate() {
            let expected = (t as i64)
                .checked_mul(step)
                .and_then(|d| first.key().checked_add(d));
            if w.is_date() != first.is_date() || step <= 0 || expected != Some(w.key()) {
                return invalid(
                    format!("weeks[{t}]"),
                    format!(
                        "expected the weeks to continue the calendar {first}, {} … evenly, found {w}",
                        self.weeks.get(1).map_or(String::new(), ToString::to_string)
                    ),
                );
            }
        }
        let s = &self.split;
        let holdout = self.config.holdout_weeks;
        let train_end = t_n.checked_sub(holdout);
        let ok = train_end.is_some_and(|end| {
            end >= 1
                && s.train == (0..end)
                && s.holdout == (end..t_n)
                && s.validation.end == end
                && s.validation.start <= end
        });
        if !ok {
            return invalid(
                "split",
                format!(
                    "expected train 0..n−h, validation inside it at its end, holdout n−h..n with \
                     n = {t_n} weeks and h = {holdout} (config.holdout_weeks), found train {:?}, \
                     validation {:?}, holdout {:?}",
                    s.train, s.validation, s.holdout
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::find_cycle;

    #[test]
    fn cycles_are_found_with_their_path() {
        let w = |edges: &[(usize, usize)], n: usize| {
            let mut m = vec![vec![0.0; n]; n];
            for &(i, j) in edges {
                m[i][j] = 0.5;
            }
            m
        };
        assert_eq!(find_cycle(&w(&[(0, 1), (1, 2), (0, 2)], 3)), None);
        assert_eq!(find_cycle(&w(&[(0, 1), (1, 0)], 2)), Some(vec![0, 1, 0]));
        assert_eq!(
            find_cycle(&w(&[(0, 1), (1, 2), (2, 1)], 3)),
            Some(vec![1, 2, 1])
        );
        assert_eq!(find_cycle(&w(&[(1, 1)], 2)), Some(vec![1, 1]));
    }
}
