//! imbarb-live: what runs a battery on a trained policy. `safety` stands between the policy and
//! the set-point.

pub mod http;
pub mod journal;
pub mod page;
pub mod replay;
pub mod run;
pub mod safety;
pub mod service;
