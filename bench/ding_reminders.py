"""10,000 DINGs due in the same minute (bench/ding-reminders; standard library only).

    python3 ding_reminders.py --ports P[,P2] --setup SETUP.json --dings N --db sqlite:PATH|postgres:URL --out FILE

Creates N in-app DINGs, each to one member (spread over the organisation's members), all
scheduled at one minute, alternating over the nodes given; waits for that minute; then reads the
database until every DING's in-app delivery attempt is recorded (the attempt is recorded right
after the in-app event was published) and reports how long after the minute the deliveries were
made, how many jobs ran per second, and whether any DING or delivery happened twice.
"""
import argparse
import concurrent.futures
import datetime
import json
import sqlite3
import subprocess
import sys
import time

from tackapi import request


def query(db, sql):
    kind, where = db.split(":", 1)
    if kind == "sqlite":
        with sqlite3.connect(f"file:{where}?mode=ro", uri=True) as c:
            return c.execute(sql).fetchall()
    out = subprocess.run(["/usr/lib/postgresql/15/bin/psql", where, "-tAF", "|", "-c", sql], capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("|")) for line in out.splitlines() if line]


def epoch(db, column):
    return column if db.startswith("sqlite") else f"extract(epoch from {column})"


def main(a):
    s = json.load(open(a.setup))
    ports = [int(p) for p in a.ports.split(",")]
    org, tokens = s["org"], s["tokens"]
    members = request(ports[0], "GET", f"/api/v1/orgs/{org}/members?limit=1000", token=tokens[0])["items"]
    senders = tokens[:10]
    sender_users = {request(ports[0], "GET", "/api/v1/me", token=t)["user"]["id"] for t in senders}
    recipients = [m["id"] for m in members if m["userId"] not in sender_users]
    start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=a.lead)
    minute = start.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    at = minute.strftime("%Y-%m-%dT%H:%M:%SZ")

    def create(i):
        body = {"memberIds": [recipients[i % len(recipients)]], "text": f"Reminder {i}", "scheduledAt": at}
        return request(ports[i % len(ports)], "POST", f"/api/v1/orgs/{org}/dings", body, token=senders[i % len(senders)])["id"]

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        ids = list(pool.map(create, range(a.dings)))
    created = time.monotonic() - t0
    due = minute.timestamp()
    if time.time() >= due:
        sys.exit(f"creating {a.dings} DINGs took {created:.0f} s and passed the minute: raise --lead")
    print(f"{a.dings} DINGs created in {created:.1f} s ({a.dings / created:.0f}/s), due at {at}, "
          f"{len(recipients)} recipients, nodes on ports {ports}", file=sys.stderr)
    time.sleep(max(0, due - time.time()))
    deadline = due + a.timeout
    while True:
        n = int(query(a.db, "SELECT COUNT(*) FROM ding_attempts WHERE channel = 'app'")[0][0])
        if n >= a.dings or time.time() > deadline:
            break
        time.sleep(0.2)
    time.sleep(2)  # anything that would run twice has had its chance
    rows = query(a.db, f"SELECT {epoch(a.db, 'updated_at')} FROM ding_attempts WHERE channel = 'app' ORDER BY 1")
    lags = sorted(float(r[0]) - due for r in rows)
    twice = int(query(a.db, "SELECT COUNT(*) FROM (SELECT ding_id, user_id FROM ding_attempts WHERE channel = 'app' "
                            "GROUP BY ding_id, user_id HAVING COUNT(*) > 1) x")[0][0])
    sent = int(query(a.db, "SELECT COUNT(*) FROM dings WHERE sent_at IS NOT NULL")[0][0])
    jobs = query(a.db, f"SELECT COUNT(*), MIN({epoch(a.db, 'due_at')}), MAX({epoch(a.db, 'finished_at')}) FROM jobs "
                       f"WHERE state = 'done' AND kind IN ('ding.send', 'ding.notify')")[0]
    workers = query(a.db, "SELECT claimed_by, COUNT(*) FROM jobs WHERE kind IN ('ding.send', 'ding.notify') GROUP BY claimed_by")
    pct = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))] if lags else float("nan")
    job_count, first, last = int(jobs[0]), float(jobs[1] or 0), float(jobs[2] or 0)
    result = {
        "dings": a.dings, "sent": sent, "delivered": len(lags), "delivered_twice": twice, "nodes": len(ports),
        "p50_s": pct(0.5), "p99_s": pct(0.99), "all_within_s": lags[-1] if lags else None,
        "jobs": job_count, "jobs_per_s": job_count / (last - due) if last > due else None,
        "workers": {w: int(c) for w, c in workers},
    }
    print(f"delivered {len(lags)} of {a.dings} in-app (twice: {twice}; DINGs sent: {sent}); after the minute: "
          f"p50 {result['p50_s']:.2f} s, p99 {result['p99_s']:.2f} s, all within {result['all_within_s']:.2f} s")
    print(f"jobs done: {job_count} (ding.send + ding.notify) in {last - due:.2f} s = {result['jobs_per_s']:.0f} jobs/s; "
          f"by worker: {', '.join(f'{c}' for c in result['workers'].values())}")
    with open(a.out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--ports", required=True)
    p.add_argument("--setup", required=True)
    p.add_argument("--dings", type=int, default=10000)
    p.add_argument("--db", required=True)
    p.add_argument("--lead", type=int, default=45, help="seconds to leave for creating them")
    p.add_argument("--timeout", type=int, default=120)
    p.add_argument("--out", required=True)
    main(p.parse_args())
