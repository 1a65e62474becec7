"""Times `tack serve` from exec to the first 200 from /readyz, on an empty data folder (or an
empty PostgreSQL database), RUNS times; reports median and max, and the RSS when ready and after
SETTLE seconds idle. Polls /readyz every 2 ms over raw sockets (no HTTP library in the loop)."""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def readyz(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            data = s.recv(64)
            return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def rss_split_kib(pid):
    """(anonymous, file-backed) resident KiB: the heap versus mapped libraries."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out.get("RssAnon"), out.get("RssFile")


def reset_postgres(psql, pg_port):
    for sql in ("DROP DATABASE IF EXISTS tack WITH (FORCE)", "CREATE DATABASE tack"):
        subprocess.run(psql + ["-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-qc", sql],
                       check=True, stdout=subprocess.DEVNULL)


def main(a):
    results = []
    env = dict(os.environ, TACK_LOG_LEVEL="warning")
    for i in range(a.runs):
        data = tempfile.mkdtemp(prefix="tack-startup.", dir="/tmp")
        os.makedirs(f"{data}/public")
        if a.database_url:
            reset_postgres(a.psql.split(), a.pg_port)
        args = [a.tack, "serve", "--host", "127.0.0.1", "--port", str(a.port), "--data-dir", data,
                "--public-dir", f"{data}/public"]
        if a.database_url:
            args += ["--database-url", a.database_url]
        log = open(f"{data}/server.log", "w")
        t0 = time.monotonic()
        proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not readyz(a.port):
                if proc.poll() is not None:
                    sys.exit(f"server exited with {proc.returncode}: {open(f'{data}/server.log').read()[-2000:]}")
                if time.monotonic() - t0 > 60:
                    sys.exit("not ready after 60 s")
                time.sleep(0.002)
            ready = time.monotonic() - t0
            rss_ready = rss_kib(proc.pid)
            time.sleep(a.settle)  # measuring idle memory, not synchronising
            rss_idle = rss_kib(proc.pid)
            anon, filebacked = rss_split_kib(proc.pid)
            t1 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            stop = time.monotonic() - t1
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            shutil.rmtree(data, ignore_errors=True)
        results.append({"ready_ms": round(ready * 1000, 1), "rss_ready_kib": rss_ready,
                        "rss_idle_kib": rss_idle, "anon_kib": anon, "file_kib": filebacked, "stop_ms": round(stop * 1000, 1), "exit": proc.returncode})
        print(f"  run {i + 1}: ready in {ready * 1000:7.1f} ms, RSS {rss_ready / 1024:.1f} MiB at ready, "
              f"{rss_idle / 1024:.1f} MiB after {a.settle:g} s; SIGTERM → exit {proc.returncode} in {stop * 1000:.0f} ms",
              file=sys.stderr, flush=True)
    ms = [r["ready_ms"] for r in results]
    summary = {
        "runs": len(ms), "ready_ms_median": statistics.median(ms), "ready_ms_min": min(ms), "ready_ms_max": max(ms),
        "rss_idle_mib_median": round(statistics.median(r["rss_idle_kib"] for r in results) / 1024, 1),
        "rss_ready_mib_median": round(statistics.median(r["rss_ready_kib"] for r in results) / 1024, 1),
        "anon_mib_median": round(statistics.median(r["anon_kib"] for r in results) / 1024, 1),
        "file_mib_median": round(statistics.median(r["file_kib"] for r in results) / 1024, 1),
        "stop_ms_median": statistics.median(r["stop_ms"] for r in results),
        "exit_codes": sorted({r["exit"] for r in results}),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--tack", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--settle", type=float, default=2)
    p.add_argument("--database-url")
    p.add_argument("--pg-port", type=int)
    p.add_argument("--psql", default="runuser -u postgres -- /usr/lib/postgresql/15/bin/psql")
    main(p.parse_args())
