//! Transforms chosen by name: the built-in adstocks and saturations plus any a user registers.
//!
//! A [`TransformRegistry`] maps names (`"weibull"`, `"hill"`, …) to factories that build a fresh
//! transform. The model configuration and `model.json` store only the names; whatever builds a
//! model from them (fitting, loading a fitted model, the simulator) takes a registry, so a
//! user-defined implementation of [`Adstock`] or [`Saturation`] is fitted, saved, reloaded and
//! analysed exactly like a built-in one. The registry is a plain value passed explicitly — there
//! is no global state — and cloning it is cheap (the factories are shared).
//!
//! ```
//! use mmm_transforms::{Hill, Saturation, TransformRegistry};
//!
//! let mut registry = TransformRegistry::with_builtins();
//! // A user transform: here simply Hill under another name (a real one implements the trait).
//! #[derive(Debug)]
//! struct MyCurve;
//! # impl Saturation for MyCurve {
//! #     fn name(&self) -> &str { "my-curve" }
//! #     fn n_params(&self) -> usize { Hill.n_params() }
//! #     fn default_params(&self) -> Vec<f64> { Hill.default_params() }
//! #     fn describe(&self, p: &[f64]) -> Vec<(&'static str, f64)> { Hill.describe(p) }
//! #     fn eval(&self, p: &[f64], x: f64) -> f64 { Hill.eval(p, x) }
//! #     fn derivative(&self, p: &[f64], x: f64) -> f64 { Hill.derivative(p, x) }
//! #     fn forward(&self, p: &[f64], x: ndarray::ArrayView2<f64>, out: ndarray::ArrayViewMut2<f64>) {
//! #         Hill.forward(p, x, out)
//! #     }
//! #     fn vjp(&self, p: &[f64], x: ndarray::ArrayView2<f64>, g: ndarray::ArrayView2<f64>,
//! #            gx: Option<ndarray::ArrayViewMut2<f64>>, gp: &mut [f64]) { Hill.vjp(p, x, g, gx, gp) }
//! # }
//! registry.register_saturation("my-curve", || Box::new(MyCurve)).unwrap();
//! assert_eq!(registry.saturation("my-curve").unwrap().name(), "my-curve");
//! assert!(registry.saturation("nope").is_err());
//! ```

use crate::{Adstock, DelayedAdstock, Error, GeometricAdstock, Hill, Logistic, Result};
use crate::{Saturation, WeibullAdstock};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Builds a fresh adstock (one per channel).
pub type AdstockFactory = Arc<dyn Fn() -> Box<dyn Adstock> + Send + Sync>;
/// Builds a fresh saturation (one per channel).
pub type SaturationFactory = Arc<dyn Fn() -> Box<dyn Saturation> + Send + Sync>;

/// The adstocks and saturations a model may name (see the [module docs](self)).
#[derive(Clone, Default)]
pub struct TransformRegistry {
    adstocks: BTreeMap<String, AdstockFactory>,
    saturations: BTreeMap<String, SaturationFactory>,
}

impl std::fmt::Debug for TransformRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformRegistry")
            .field("adstocks", &self.adstocks.keys().collect::<Vec<_>>())
            .field("saturations", &self.saturations.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl TransformRegistry {
    /// A registry without any transform.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in transforms: adstocks `geometric` (normalised, exact recursion), `delayed`
    /// (13 lags) and `weibull` (13 lags); saturations `hill` and `logistic`. A new built-in
    /// transform is one file in this crate and one line here (docs/architecture.md,
    /// *Where to add a transform*).
    pub fn with_builtins() -> Self {
        let mut r = Self::empty();
        let builtin = "built-in names are distinct";
        r.register_adstock(GeometricAdstock::NAME, || {
            Box::new(GeometricAdstock::new(None, true))
        })
        .expect(builtin);
        r.register_adstock(DelayedAdstock::NAME, || Box::new(DelayedAdstock::default()))
            .expect(builtin);
        r.register_adstock(WeibullAdstock::NAME, || Box::new(WeibullAdstock::default()))
            .expect(builtin);
        r.register_saturation(Hill::NAME, || Box::new(Hill))
            .expect(builtin);
        r.register_saturation(Logistic::NAME, || Box::new(Logistic))
            .expect(builtin);
        r
    }

    /// Registers an adstock under `name`, which must be the name the transform reports
    /// ([`Adstock::name`]: what `model.json` stores).
    ///
    /// # Errors
    /// [`Error::DuplicateTransform`] if the name is taken; [`Error::TransformName`] if the
    /// factory's transform reports another name.
    pub fn register_adstock<F>(&mut self, name: &str, factory: F) -> Result<()>
    where
        F: Fn() -> Box<dyn Adstock> + Send + Sync + 'static,
    {
        check_new(
            "adstock",
            name,
            factory().name(),
            self.adstocks.contains_key(name),
        )?;
        self.adstocks.insert(name.to_string(), Arc::new(factory));
        Ok(())
    }

    /// Registers a saturation under `name`, which must be the name the transform reports
    /// ([`Saturation::name`]).
    ///
    /// # Errors
    /// [`Error::DuplicateTransform`] if the name is taken; [`Error::TransformName`] if the
    /// factory's transform reports another name.
    pub fn register_saturation<F>(&mut self, name: &str, factory: F) -> Result<()>
    where
        F: Fn() -> Box<dyn Saturation> + Send + Sync + 'static,
    {
        check_new(
            "saturation",
            name,
            factory().name(),
            self.saturations.contains_key(name),
        )?;
        self.saturations.insert(name.to_string(), Arc::new(factory));
        Ok(())
    }

    /// A fresh adstock named `name`.
    ///
    /// # Errors
    /// [`Error::UnknownTransform`] naming the registered adstocks.
    pub fn adstock(&self, name: &str) -> Result<Box<dyn Adstock>> {
        self.adstocks
            .get(name)
            .map(|f| f())
            .ok_or_else(|| unknown("adstock", name, self.adstocks.keys()))
    }

    /// A fresh saturation named `name`.
    ///
    /// # Errors
    /// [`Error::UnknownTransform`] naming the registered saturations.
    pub fn saturation(&self, name: &str) -> Result<Box<dyn Saturation>> {
        self.saturations
            .get(name)
            .map(|f| f())
            .ok_or_else(|| unknown("saturation", name, self.saturations.keys()))
    }

    /// Names of the registered adstocks, sorted.
    pub fn adstock_names(&self) -> impl Iterator<Item = &str> {
        self.adstocks.keys().map(String::as_str)
    }

    /// Names of the registered saturations, sorted.
    pub fn saturation_names(&self) -> impl Iterator<Item = &str> {
        self.saturations.keys().map(String::as_str)
    }
}

fn check_new(kind: &'static str, name: &str, reported: &str, taken: bool) -> Result<()> {
    if taken {
        return Err(Error::DuplicateTransform {
            kind,
            name: name.to_string(),
        });
    }
    if reported != name {
        return Err(Error::TransformName {
            kind,
            name: name.to_string(),
            reported: reported.to_string(),
        });
    }
    Ok(())
}

fn unknown<'a>(kind: &'static str, name: &str, known: impl Iterator<Item = &'a String>) -> Error {
    Error::UnknownTransform {
        kind,
        name: name.to_string(),
        known: known.map(String::as_str).collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_found_by_the_names_they_report() {
        let r = TransformRegistry::with_builtins();
        let adstocks: Vec<&str> = r.adstock_names().collect();
        assert_eq!(adstocks, ["delayed", "geometric", "weibull"]);
        for name in adstocks {
            assert_eq!(r.adstock(name).unwrap().name(), name);
        }
        let saturations: Vec<&str> = r.saturation_names().collect();
        assert_eq!(saturations, ["hill", "logistic"]);
        for name in saturations {
            assert_eq!(r.saturation(name).unwrap().name(), name);
        }
    }

    #[test]
    fn unknown_duplicate_and_misnamed_transforms_are_typed_errors() {
        let mut r = TransformRegistry::with_builtins();
        let err = r.saturation("tanh").unwrap_err();
        assert_eq!(
            err,
            Error::UnknownTransform {
                kind: "saturation",
                name: "tanh".into(),
                known: "hill, logistic".into()
            }
        );
        assert!(err.to_string().contains("hill, logistic"), "{err}");
        assert!(matches!(
            r.register_saturation("hill", || Box::new(Hill)),
            Err(Error::DuplicateTransform {
                kind: "saturation",
                ..
            })
        ));
        assert!(matches!(
            r.register_adstock("carryover", || Box::new(WeibullAdstock::default())),
            Err(Error::TransformName {
                kind: "adstock",
                ..
            })
        ));
        assert!(TransformRegistry::empty().adstock("weibull").is_err());
    }
}
