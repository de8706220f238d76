//! imbarb-live: what runs a battery on a trained policy. `safety` stands between the policy and
//! the set-point.

pub mod book;
pub mod drift;
pub mod guard;
pub mod http;
pub mod journal;
pub mod lifecycle;
pub mod page;
pub mod replay;
pub mod run;
pub mod safety;
pub mod service;
pub mod shadow;
