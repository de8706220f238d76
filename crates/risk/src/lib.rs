//! imbarb-risk: return-distribution representations, risk measures and distortions. Filled by
//! the risk / value-agent issue; empty until then.
