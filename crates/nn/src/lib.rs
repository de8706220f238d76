//! imbarb-nn: the small, exact training engine (MLP layers, fused losses, Adam, checkpoints).
//! Filled by the imbarb-nn issue; empty until then.
