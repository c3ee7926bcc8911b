#!/usr/bin/env python3
"""Side-by-side measurements of replikv and the reference redis-server.

Usage: python3 benches/scripts/compare.py [memory|persistence|replication|all] [--keys N] [--types T1,T2 (memory rows)]

Every figure is measured for both servers in the same run, on 127.0.0.1,
each server pinned to CPU 0 and the load generator to CPU 1 (taskset), and
printed with the ratio replikv/redis. Build first: cargo build --release -p replikv-server
"""
import os, re, shutil, socket, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPLIKV = os.path.join(ROOT, "target/release/replikv-server")
SERVERS = {"replikv": REPLIKV, "redis": shutil.which("redis-server") or "redis-server"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def pinned(cpu, argv):
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") else []) + argv


class Node:
    def __init__(self, kind, *extra):
        self.kind, self.port = kind, free_port()
        self.dir = tempfile.mkdtemp(prefix=f"cmp-{kind}-")
        self.extra = list(extra)
        self.start()

    def start(self):
        argv = [SERVERS[self.kind], "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"] + self.extra
        self.log = open(os.path.join(self.dir, "log"), "a")
        self.proc = subprocess.Popen(pinned(0, argv), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if self.cmd("PING") == "PONG":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.kind} did not start")

    def cmd(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port)] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=600)
        return out.stdout.strip()

    def info(self, section=""):
        text = self.cmd("INFO", section) if section else self.cmd("INFO")
        return dict(l.split(":", 1) for l in text.splitlines() if ":" in l and not l.startswith("#"))

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def pipe(node, lines):
    data = "".join(lines).encode()
    subprocess.run(pinned(1, ["redis-cli", "-p", str(node.port), "--pipe"]), input=data,
                   capture_output=True, check=True, timeout=1200)


def resp(*args):
    parts = [f"*{len(args)}\r\n"]
    for a in args:
        a = str(a)
        parts.append(f"${len(a.encode())}\r\n{a}\r\n")
    return "".join(parts)


def populate(node, n, value_len=100):
    val = "x" * value_len
    for start in range(0, n, 100_000):
        pipe(node, [resp("SET", f"key:{i}", val) for i in range(start, min(n, start + 100_000))])


def table(title, rows):
    print(f"\n### {title}\n")
    print("| measure | replikv | redis | replikv/redis |")
    print("|---|---|---|---|")
    for name, a, b in rows:
        ratio = f"{a / b:.2f}" if b else "-"
        print(f"| {name} | {a:.3f} | {b:.3f} | {ratio} |")


def memory(n, only=None):
    gens = {
        "string": lambda i: resp("SET", f"s:{i}", "value"),
        "list": lambda i: resp("RPUSH", f"l:{i}", "a", "b", "c"),
        "hash": lambda i: resp("HSET", f"h:{i}", "f1", "v1", "f2", "v2"),
        "set": lambda i: resp("SADD", f"t:{i}", "1", "2", "3"),
        "zset": lambda i: resp("ZADD", f"z:{i}", "1", "a", "2", "b"),
        # Beyond the smallest cases: longer keys and values, expiry times,
        # collections too big to live inside the value.
        "string (100-byte value)": lambda i: resp("SET", f"s:{i}", "v" * 100),
        "string with TTL": lambda i: resp("SET", f"s:{i}", "value", "EX", "100000"),
        "string (33-byte key)": lambda i: resp("SET", f"session:user:{i:020d}", "value"),
        "list (20 el.)": lambda i: resp("RPUSH", f"l:{i}", *[f"element-{j}" for j in range(20)]),
        "hash (10 fields)": lambda i: resp("HSET", f"h:{i}", *[x for j in range(10) for x in (f"field{j}", f"value-{j}")]),
        "set (10 strings)": lambda i: resp("SADD", f"t:{i}", *[f"member-{j}" for j in range(10)]),
        "zset (10 members)": lambda i: resp("ZADD", f"z:{i}", *[x for j in range(10) for x in (str(j * 1.5), f"member-{j}")]),
        # One big collection: the rows read as bytes per element.
        "element of one list": lambda i: resp("RPUSH", "biglist", f"element:{i:012d}"),
        "member of one set": lambda i: resp("SADD", "bigset", f"element:{i:012d}"),
        "field of one hash": lambda i: resp("HSET", "bighash", f"element:{i:012d}", "xxx"),
        "member of one zset": lambda i: resp("ZADD", "bigzset", str(i % 1000), f"element:{i:012d}"),
    }
    rows, rss_rows = [], []
    for typ, gen in gens.items():
        if only and typ not in only:
            continue
        per, rss = {}, {}
        for kind in SERVERS:
            node = Node(kind)
            info = node.info("memory")
            before, rss_before = int(info["used_memory"]), int(info["used_memory_rss"])
            for start in range(0, n, 100_000):
                pipe(node, [gen(i) for i in range(start, min(n, start + 100_000))])
            info = node.info("memory")
            per[kind] = (int(info["used_memory"]) - before) / n
            # RSS also counts allocator overhead (size classes, chunk
            # headers) that used_memory may not, so it is shown too.
            rss[kind] = (int(info["used_memory_rss"]) - rss_before) / n
            node.stop()
        big = typ.split()[0] in ("element", "member", "field")
        unit = f"{typ} ({n} elements)" if big else f"{typ} key ({n} keys)"
        rows.append((f"bytes per {unit}", per["replikv"], per["redis"]))
        rss_rows.append((f"RSS bytes per {unit}", rss["replikv"], rss["redis"]))
    table("Memory per key (INFO used_memory delta)", rows)
    table("Memory per key (INFO used_memory_rss delta)", rss_rows)


def bench_max_latency(node, seconds):
    out = subprocess.run(pinned(1, ["redis-benchmark", "-p", str(node.port), "-t", "get", "-c", "50",
                                    "-n", str(seconds * 40_000), "-r", "100000", "--csv"]),
                         capture_output=True, text=True, timeout=600).stdout
    for line in out.splitlines():
        f = [x.strip('"') for x in line.split(",")]
        if f and f[0] == "GET":
            return float(f[1]), float(f[-1])
    return 0.0, 0.0


def persistence(n):
    rows = []
    res = {}
    for kind in SERVERS:
        node = Node(kind)
        populate(node, n)
        t = time.time()
        node.cmd("SAVE")
        save_s = time.time() - t
        size = os.path.getsize(os.path.join(node.dir, "dump.rdb"))
        # Slowest GET reply while a BGSAVE of the whole data set runs.
        _, base_max = bench_max_latency(node, 2)
        node.cmd("BGSAVE")
        rps, bg_max = bench_max_latency(node, 3)
        while node.info("persistence").get("rdb_bgsave_in_progress") == "1":
            time.sleep(0.05)
        node.proc.kill(); node.proc.wait()
        t = time.time()
        node.start()
        while node.info("persistence").get("loading") == "1":
            time.sleep(0.01)
        load_s = time.time() - t
        keys = node.cmd("DBSIZE")
        res[kind] = (save_s, load_s, bg_max, base_max, size, keys)
        node.stop()
    a, b = res["replikv"], res["redis"]
    rows.append((f"SAVE of {n} keys, seconds", a[0], b[0]))
    rows.append((f"start-up load of {n} keys, seconds", a[1], b[1]))
    rows.append(("slowest GET during BGSAVE, ms", a[2], b[2]))
    rows.append(("slowest GET without BGSAVE, ms", a[3], b[3]))
    rows.append(("dump.rdb size, MB", a[4] / 1e6, b[4] / 1e6))
    table(f"Persistence ({n} keys, 100-byte values; keys after reload: replikv {a[5]}, redis {b[5]})", rows)


def wait_synced(replica, master, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = replica.info("replication")
        if r.get("master_link_status") == "up" and r.get("master_sync_in_progress") == "0":
            return True
        time.sleep(0.01)
    return False


def set_rps(master, pipeline):
    out = subprocess.run(pinned(1, ["redis-benchmark", "-p", str(master.port), "-t", "set", "-c", "50",
                                    "-n", "300000", "-P", str(pipeline), "-r", "100000", "--csv"]),
                         capture_output=True, text=True, timeout=600).stdout
    for line in out.splitlines():
        f = [x.strip('"') for x in line.split(",")]
        if f and f[0] == "SET":
            return float(f[1])
    return 0.0


def replication(n):
    res = {}
    for kind in SERVERS:
        master = Node(kind)
        populate(master, n)
        rps0 = set_rps(master, 16)
        replica = Node(kind)
        t = time.time()
        replica.cmd("REPLICAOF", "127.0.0.1", master.port)
        ok = wait_synced(replica, master)
        sync_s = time.time() - t if ok else float("nan")
        rps1 = set_rps(master, 16)
        replica2 = Node(kind)
        replica2.cmd("REPLICAOF", "127.0.0.1", master.port)
        wait_synced(replica2, master)
        rps2 = set_rps(master, 16)
        # Lag: bytes the replica is behind while a pipelined SET load runs.
        bench = subprocess.Popen(pinned(1, ["redis-benchmark", "-p", str(master.port), "-t", "set", "-c", "50",
                                            "-n", "400000", "-P", "16", "-r", "100000", "-q"]),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        lags = []
        while bench.poll() is None:
            mo = int(master.info("replication").get("master_repl_offset", 0))
            ro = int(replica.info("replication").get("slave_repl_offset", 0))
            lags.append(max(0, mo - ro))
            time.sleep(0.05)
        t = time.time()
        target = int(master.info("replication").get("master_repl_offset", 0))
        while int(replica.info("replication").get("slave_repl_offset", 0)) < target and time.time() - t < 60:
            time.sleep(0.005)
        catchup = time.time() - t
        same = master.cmd("DBSIZE") == replica.cmd("DBSIZE")
        res[kind] = (sync_s, rps0, rps1, rps2, max(lags or [0]), sum(lags) / max(1, len(lags)), catchup, same)
        for x in (replica2, replica, master):
            x.stop()
    a, b = res["replikv"], res["redis"]
    table(f"Replication ({n} keys, 100-byte values; data sets equal after load: replikv {a[7]}, redis {b[7]})", [
        (f"full sync of {n} keys (replica in sync), seconds", a[0], b[0]),
        ("master SET P16 rps, 0 replicas", a[1], b[1]),
        ("master SET P16 rps, 1 replica", a[2], b[2]),
        ("master SET P16 rps, 2 replicas", a[3], b[3]),
        ("max replication lag under load, bytes", a[4], b[4]),
        ("mean replication lag under load, bytes", a[5], b[5]),
        ("replica catch-up after load, seconds", a[6], b[6]),
    ])


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    n = int(sys.argv[sys.argv.index("--keys") + 1]) if "--keys" in sys.argv else 1_000_000
    if not os.path.exists(REPLIKV):
        sys.exit("build first: cargo build --release -p replikv-server")
    only = sys.argv[sys.argv.index("--types") + 1].split(",") if "--types" in sys.argv else None
    if what in ("memory", "all"):
        memory(n, only)
    if what in ("persistence", "all"):
        persistence(n)
    if what in ("replication", "all"):
        replication(n)


if __name__ == "__main__":
    main()
