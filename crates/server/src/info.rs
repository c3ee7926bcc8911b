//! INFO: the sections and field names Redis 7.0 prints for a standalone
//! master, with figures taken from the running server.

use crate::config::key;
use std::fmt::Write;

use bytes::Bytes;
use keyspace::Call;
use resp_codec::Frame;

use crate::alloc;
use crate::server::{unix_ms, Server};
use crate::session::Session;

/// Sections printed by `INFO` and `INFO default`.
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Every section, in print order (`INFO all` / `everything`).
const ALL: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Formats a byte count the way Redis's `bytesToHuman` does.
pub fn human_bytes(n: u64) -> String {
    let n = n as f64;
    const K: f64 = 1024.0;
    if n < K {
        format!("{}B", n as u64)
    } else if n < K * K {
        format!("{:.2}K", n / K)
    } else if n < K * K * K {
        format!("{:.2}M", n / (K * K))
    } else if n < K * K * K * K {
        format!("{:.2}G", n / (K * K * K))
    } else {
        format!("{:.2}T", n / (K * K * K * K))
    }
}

fn rusage(who: i32) -> (f64, f64) {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    #[allow(unsafe_code)]
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        ru
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(ru.ru_stime), t(ru.ru_utime))
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

fn os_name() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    format!(
        "Linux {} {}",
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    )
}

fn section(s: &Server, name: &str, out: &mut String) {
    let now = unix_ms();
    let w = out;
    match name {
        "server" => {
            let uptime = s.process.uptime_secs();
            let _ = write!(
                w,
                "# Server\r\nredis_version:{}\r\nreplikv_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                crate::VERSION,
                crate::REPLIKV_VERSION,
                os_name(),
                std::process::id(),
                s.process.run_id,
                s.process.port,
                now * 1000,
                uptime,
                uptime / 86400,
                s.config.int(key::HZ),
                s.config.int(key::HZ),
                (now / 1000) & ((1 << 24) - 1),
                s.process.executable,
                s.config.file.as_deref().unwrap_or(""),
            );
        }
        "clients" => {
            let _ = write!(
                w,
                "# Clients\r\nconnected_clients:{}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:{}\r\nclient_recent_max_output_buffer:{}\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                s.clients
                    .values()
                    .filter(|c| c.kind.get() != crate::session::ClientKind::Replica)
                    .count(),
                s.config.int(key::MAXCLIENTS),
                s.clients.values().map(|c| c.qbuf.get()).max().unwrap_or(0),
                s.clients.values().map(|c| c.obuf.get()).max().unwrap_or(0),
                s.blocking.clients.len() + s.clients.waiting(),
            );
        }
        "memory" => {
            let figures = alloc::figures();
            let used = figures.allocated as u64;
            let peak = alloc::peak() as u64;
            let rss = alloc::rss() as u64;
            let sysmem = total_system_memory();
            let maxmem = s.config.int(key::MAXMEMORY).max(0) as u64;
            let backlog = s.repl.node.master.backlog().map_or(0, |b| b.size()) as u64;
            let frag = if used > 0 {
                rss as f64 / used as f64
            } else {
                0.0
            };
            let scripts_info = {
                let lua = s.scripting.vm_memory();
                let fvm = s.scripting.functions_vm_memory();
                let scripts = s.scripting.scripts_memory();
                let (libs, funcs) = s.scripting.function_counts();
                format!(
                    "used_memory_lua:{lua}\r\nused_memory_vm_eval:{lua}\r\nused_memory_lua_human:{}\r\nused_memory_scripts_eval:{scripts}\r\nnumber_of_cached_scripts:{}\r\nnumber_of_functions:{funcs}\r\nnumber_of_libraries:{libs}\r\nused_memory_vm_functions:{fvm}\r\nused_memory_vm_total:{}\r\nused_memory_vm_total_human:{}\r\nused_memory_functions:0\r\nused_memory_scripts:{scripts}\r\nused_memory_scripts_human:{}\r\n",
                    human_bytes(lua as u64),
                    s.scripting.cached(),
                    lua + fvm,
                    human_bytes((lua + fvm) as u64),
                    human_bytes(scripts as u64),
                )
            };
            let _ = write!(
                w,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{peak}\r\nused_memory_peak_human:{}\r\nused_memory_peak_perc:{:.2}%\r\nused_memory_overhead:{backlog}\r\nused_memory_startup:0\r\nused_memory_dataset:{}\r\nused_memory_dataset_perc:{:.2}%\r\nallocator_allocated:{used}\r\nallocator_active:{}\r\nallocator_resident:{}\r\ntotal_system_memory:{sysmem}\r\ntotal_system_memory_human:{}\r\n{scripts_info}maxmemory:{maxmem}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nallocator_frag_ratio:1.00\r\nallocator_frag_bytes:0\r\nallocator_rss_ratio:{frag:.2}\r\nallocator_rss_bytes:{}\r\nrss_overhead_ratio:1.00\r\nrss_overhead_bytes:0\r\nmem_fragmentation_ratio:{frag:.2}\r\nmem_fragmentation_bytes:{}\r\nmem_not_counted_for_evict:0\r\nmem_replication_backlog:{backlog}\r\nmem_total_replication_buffers:{backlog}\r\nmem_clients_slaves:0\r\nmem_clients_normal:{}\r\nmem_cluster_links:0\r\nmem_aof_buffer:0\r\nmem_allocator:{}\r\nactive_defrag_running:0\r\nlazyfree_pending_objects:{}\r\nlazyfreed_objects:{}\r\n",
                human_bytes(used),
                human_bytes(rss),
                human_bytes(peak),
                if peak > 0 { used as f64 * 100.0 / peak as f64 } else { 0.0 },
                used.saturating_sub(backlog),
                if used > 0 { used.saturating_sub(backlog) as f64 * 100.0 / used as f64 } else { 0.0 },
                figures.active,
                figures.resident,
                human_bytes(sysmem),
                human_bytes(maxmem),
                s.config.str(key::MAXMEMORY_POLICY),
                rss as i64 - used as i64,
                rss as i64 - used as i64,
                s.clients.values().map(|c| c.qbuf.get() + c.obuf.get()).sum::<usize>(),
                alloc::name(),
                s.lazyfree.pending(),
                s.lazyfree.freed(),
            );
        }
        "persistence" => {
            let sv = &s.saving;
            let (perc, eta) = if sv.loading && sv.loading_total > 0 {
                (sv.loading_read as f64 * 100.0 / sv.loading_total as f64, 1)
            } else {
                (0.0, 0)
            };
            let aof_sizes = s.aof.as_ref().map_or(String::new(), |a| {
                format!(
                    "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:0\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
                    a.current_size(),
                    a.base_size(),
                    u8::from(sv.aof_rewrite_scheduled)
                )
            });
            let loading = if sv.loading {
                format!("loading_start_time:{}\r\nloading_total_bytes:{}\r\nloading_rdb_used_mem:0\r\nloading_loaded_bytes:{}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n", s.saving.lastsave, sv.loading_total, sv.loading_read)
            } else {
                String::new()
            };
            let current = sv
                .child
                .map_or(-1, |c| c.started.elapsed().as_secs() as i64);
            let _ = write!(
                w,
                "# Persistence\r\nloading:{}\r\nasync_loading:{}\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n{loading}rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{current}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\naof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n{aof_sizes}",
                u8::from(sv.loading),
                u8::from(sv.async_loading),
                s.ks.dirty(),
                u8::from(
                    crate::commands::persistence::active_child(s)
                        == Some(crate::commands::persistence::ChildKind::Rdb)
                ),
                s.saving.lastsave,
                if sv.last_ok { "ok" } else { "err" },
                sv.last_secs,
                sv.saves,
                sv.loaded_expired,
                sv.loaded_keys,
                u8::from(s.aof.is_some()),
                u8::from(s.aof.as_ref().is_some_and(|a| a.rewrite.is_some())),
                u8::from(sv.aof_rewrite_scheduled),
                if s.aof.as_ref().is_some_and(|a| a.error().is_some()) {
                    "err"
                } else {
                    "ok"
                },
            );
        }
        "stats" => {
            let st = &s.stats;
            let ks = &s.ks.stats;
            let (kin, kout) = st.instantaneous_kbps();
            let sync = s.repl.node.master.stats();
            let _ = write!(
                w,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:{}\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{kin:.2}\r\ninstantaneous_output_kbps:{kout:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\nsync_full:{}\r\nsync_partial_ok:{}\r\nsync_partial_err:{}\r\nexpired_keys:{}\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\npubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
                st.total_connections_received,
                st.total_commands_processed,
                st.instantaneous_ops(),
                st.net_input_bytes,
                st.net_output_bytes,
                st.net_repl_input_bytes,
                st.rejected_connections,
                sync.sync_full,
                sync.sync_partial_ok,
                sync.sync_partial_err,
                ks.expired_keys,
                ks.keyspace_hits,
                ks.keyspace_misses,
                st.total_error_replies,
                st.total_reads,
                st.total_writes,
            );
        }
        "replication" => {
            let now = now as u64;
            w.push_str("# Replication\r\n");
            if s.repl.is_replica {
                w.push_str("role:slave\r\n");
                if let Some(ri) = s.repl.node.replica.info(now) {
                    w.push_str(&ri.to_info_string());
                }
                let _ = write!(
                    w,
                    "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                    s.config.int(key::REPLICA_PRIORITY),
                    u8::from(s.config.bool(key::REPLICA_READ_ONLY)),
                    u8::from(s.config.bool(key::REPLICA_ANNOUNCED)),
                );
            } else {
                w.push_str("role:master\r\n");
            }
            let mut mi = s.repl.node.master.info(now);
            if !mi.backlog_active {
                mi.backlog_size =
                    usize::try_from(s.config.int(key::REPL_BACKLOG_SIZE)).unwrap_or(0);
            }
            w.push_str(&mi.to_info_string());
        }
        "cpu" => {
            let (sys, user) = rusage(libc::RUSAGE_SELF);
            let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
            let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
            let _ = write!(
                w,
                "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:{csys:.6}\r\nused_cpu_user_children:{cuser:.6}\r\nused_cpu_sys_main_thread:{tsys:.6}\r\nused_cpu_user_main_thread:{tuser:.6}\r\n",
            );
        }
        "modules" => w.push_str("# Modules\r\n"),
        "commandstats" => {
            w.push_str("# Commandstats\r\n");
            let mut calls: Vec<_> = s.stats.calls.iter().collect();
            calls.sort();
            for (name, n) in calls {
                let _ = write!(
                    w,
                    "cmdstat_{name}:calls={n},usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n"
                );
            }
        }
        "errorstats" => {
            w.push_str("# Errorstats\r\n");
            for (code, n) in &s.stats.errors {
                let _ = write!(w, "errorstat_{code}:count={n}\r\n");
            }
        }
        "latencystats" => w.push_str("# Latencystats\r\n"),
        "cluster" => w.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "keyspace" => {
            w.push_str("# Keyspace\r\n");
            for i in 0..s.ks.db_count() {
                if let Some(db) = s.ks.db(i) {
                    if !db.is_empty() {
                        let _ = write!(
                            w,
                            "db{i}:keys={},expires={},avg_ttl=0\r\n",
                            db.len(),
                            db.volatile_len()
                        );
                    }
                }
            }
        }
        _ => {}
    }
}

/// Renders the INFO text for the requested section names (lowercase).
pub fn render(s: &Server, requested: &[String]) -> String {
    let mut wanted: Vec<&str> = Vec::new();
    if requested.is_empty() {
        wanted.extend(DEFAULT);
    }
    for r in requested {
        match r.as_str() {
            "default" => wanted.extend(DEFAULT),
            "all" | "everything" => wanted.extend(ALL),
            other => {
                if let Some(n) = ALL.iter().find(|n| **n == other) {
                    wanted.push(n);
                }
            }
        }
    }
    let mut out = String::new();
    for name in ALL {
        if wanted.contains(name) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            section(s, name, &mut out);
        }
    }
    out
}

/// INFO [section ...]
pub fn info_command(s: &mut Server, _sess: &mut Session, c: &mut Call<'_>) -> Frame {
    crate::repl::flush_stream(s);
    let requested: Vec<String> = (1..c.argc())
        .map(|i| String::from_utf8_lossy(c.arg(i)).to_ascii_lowercase())
        .collect();
    Frame::Verbatim {
        format: *b"txt",
        text: Bytes::from(render(s, &requested)),
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(100), "100B");
        assert_eq!(human_bytes(941184), "919.12K");
        assert_eq!(human_bytes(6860800), "6.54M");
        assert_eq!(human_bytes(25276502016), "23.54G");
    }
}
