//! imbarb-eval: backtests, metrics, reports and experiment grids. Filled by the simulator and
//! experiment issues; empty until then.
