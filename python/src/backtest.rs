//! Backtests from Python: a named policy (`rule`, `schedule`, `mpc`, `idle`, `oracle`,
//! `run:DIR`) runs exactly as `imbarb backtest` runs it; a Python callable (an SB3 model's
//! `predict`, a loaded run, any function of the observation and mask) runs through the same
//! rollout, ledger and metrics, so both are booked by one set of rules.

use crate::errors::{err, IntoPy};
use crate::spec::{resolve, Resolved};
use imbarb_eval::{backtest as run_backtest, Backtest, Metrics, Oracle};
use imbarb_experiment::policy::metrics_of;
use imbarb_experiment::{run_policy, PolicySpec, DEFAULT_MPC_HORIZON};
use imbarb_sim::{Action, ActionSpace, Decision, Policy};
use numpy::PyArray1;
use pyo3::prelude::*;
use serde::Serialize;

/// What a backtest returns to Python (as JSON): the ledger and daily P&L as CSV (the files
/// `imbarb backtest --ledger` writes), the metrics, and what was evaluated.
#[derive(Serialize)]
struct BacktestOut {
    policy: String,
    metrics: Metrics,
    ledger_csv: String,
    daily_csv: String,
    oracle_method: String,
    description: String,
    data_hash: String,
}

/// Backtests `policy` (a name or a callable `policy(obs, mask) -> action`) on the day set of
/// `spec`; returns JSON (see `BacktestOut`). `name` labels a callable's results.
#[pyfunction]
#[pyo3(signature = (spec, policy, name=None, mpc_horizon=DEFAULT_MPC_HORIZON))]
pub fn backtest(
    spec: &str,
    policy: &Bound<'_, PyAny>,
    name: Option<String>,
    mpc_horizon: usize,
) -> PyResult<String> {
    let Resolved { setup: s, .. } = resolve(spec)?;
    let oracle = Oracle::solve(&s.days, &s.eval, &s.config).py_err()?;
    let (bt, metrics): (Backtest, Metrics) = if let Ok(text) = policy.extract::<String>() {
        let spec: PolicySpec = text.parse().map_err(err)?;
        run_policy(&spec, &s, &oracle, mpc_horizon).py_err()?
    } else {
        if !policy.is_callable() {
            return Err(err(
                "policy: expected a name (rule, schedule, mpc, smpc, plan, idle, oracle, run:DIR, run-plan:DIR) or a callable policy(obs, mask) -> action",
            ));
        }
        let mut p = PyPolicy {
            f: policy.clone(),
            name: name.unwrap_or_else(|| "python".into()),
            space: s.config.actions,
            error: None,
        };
        let bt = run_backtest(&s.days, &s.features, &s.config, &s.eval, &mut p).py_err()?;
        if let Some(e) = p.error {
            return Err(e);
        }
        let m = metrics_of(&bt, &s.config.battery, oracle.total_eur());
        (bt, m)
    };
    let out = BacktestOut {
        policy: bt.policy.clone(),
        metrics,
        ledger_csv: bt.ledger_csv(),
        daily_csv: bt.daily_csv(),
        oracle_method: oracle.method.clone(),
        description: s.describe(),
        data_hash: s.data_hash.clone(),
    };
    serde_json::to_string(&out).map_err(|e| err(e.to_string()))
}

/// A Python callable as a `Policy`. The first exception it raises (or a bad action it returns)
/// stops it: later decisions idle and the backtest raises that error.
struct PyPolicy<'py> {
    f: Bound<'py, PyAny>,
    name: String,
    space: ActionSpace,
    error: Option<PyErr>,
}

impl PyPolicy<'_> {
    fn call(&self, d: &Decision) -> PyResult<Action> {
        let py = self.f.py();
        let obs = PyArray1::from_slice(py, d.observation);
        let mask = PyArray1::from_slice(py, d.mask);
        let out = self.f.call1((obs, mask))?;
        // A scalar, or an array / sequence holding one number.
        let value: f64 = match out.extract::<f64>() {
            Ok(v) => v,
            Err(_) => {
                let arr =
                    numpy::PyArrayLike1::<f64, numpy::AllowTypeChange>::extract(out.as_borrowed())
                        .map_err(|_| {
                            err(format!(
                                "policy {}: returned {}, expected one action (a number)",
                                self.name,
                                out.repr().map_or("?".into(), |r| r.to_string())
                            ))
                        })?;
                let slice = arr.as_slice().map_err(|e| err(e.to_string()))?;
                match slice {
                    [v] => *v,
                    _ => {
                        return Err(err(format!(
                            "policy {}: returned {} numbers, expected one action",
                            self.name,
                            slice.len()
                        )))
                    }
                }
            }
        };
        match self.space {
            ActionSpace::Discrete { levels } => {
                if value.fract() != 0.0 || !(0.0..levels as f64).contains(&value) {
                    return Err(err(format!(
                        "policy {}: action {value} on {}, expected a level 0..{}",
                        self.name,
                        d.date,
                        levels - 1
                    )));
                }
                Ok(Action::Discrete(value as usize))
            }
            ActionSpace::Continuous => {
                if !(-1.0..=1.0).contains(&value) {
                    return Err(err(format!(
                        "policy {}: action {value} on {}, expected a power fraction in [-1, 1]",
                        self.name, d.date
                    )));
                }
                Ok(Action::Continuous(value))
            }
        }
    }
}

impl Policy for PyPolicy<'_> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn act(&mut self, d: &Decision) -> Action {
        // After an error the results are discarded (the backtest raises it): any action does.
        let idle = match self.space {
            ActionSpace::Discrete { levels } => Action::Discrete(levels / 2),
            ActionSpace::Continuous => Action::Continuous(0.0),
        };
        if self.error.is_some() {
            return idle;
        }
        match self.call(d) {
            Ok(a) => a,
            Err(e) => {
                self.error = Some(e);
                idle
            }
        }
    }
}
