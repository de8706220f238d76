//! imbarb-baselines: perfect-foresight oracle (DP, LP), rules and MPC. Filled by the simulator
//! issue; empty until then.
