//! Tests: parsers are unit-tested in `replies`; here are the state
//! machines, driven directly and through a simulated network.

mod integration;
mod master_unit;
mod props;
mod replica_unit;
mod sim;
