//! imbarb-agents: replay, DQN/C51/QR-DQN/IQN/SAC/DSAC and the trainer. Filled by the agent
//! issues; empty until then.
