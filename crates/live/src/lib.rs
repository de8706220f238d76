//! imbarb-live: what runs a battery on a trained policy. `safety` stands between the policy and
//! the set-point.

pub mod journal;
pub mod replay;
pub mod safety;
pub mod service;
