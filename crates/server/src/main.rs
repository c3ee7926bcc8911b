//! `replikv-server`: a Redis-compatible server, started the way
//! `redis-server` is: `replikv-server [config-file] [--directive value ...]`.

mod alloc;
mod aof;
mod clients;
mod commands;
mod config;
mod conn;
mod convert;
mod daemon;
mod digest;
mod fork;
mod info;
mod lazyfree;
mod logging;
mod persist;
mod process;
mod propagate;
mod repl;
mod replica_own_keys;
mod server;
mod session;
mod startup;
mod sync_load;

/// The Redis version whose behaviour replikv reproduces; reported as
/// `redis_version` because tools (Sentinel, clients) gate features on it.
pub const VERSION: &str = "7.0.15";
/// replikv's own version.
pub const REPLIKV_VERSION: &str = env!("CARGO_PKG_VERSION");

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(startup::run(args));
}
