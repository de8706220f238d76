//! imbarb-sim: battery physics, settlement, cycle budget, observations and the vectorised
//! environment. Filled by the simulator issue; empty until then.
