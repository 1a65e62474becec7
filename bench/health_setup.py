"""Set-up for bench/health-surge (standard library only).

    python3 health_setup.py setup --port P --members N --db DB --out DIR
        An owner signs up and creates an organisation (time zone UTC), imports N members by CSV
        (each in one of 560 departments: 10 workshops in each of 56 factories), and creates a
        daily report for everyone, open all day. Each member gets a session written
        straight into the database (signing 45,000 people up through the API would take longer
        than the benchmark), and DIR/targets.txt gets one line per member: "TOKEN PATH BODY",
        today's report. DIR/setup.json holds the ids and the owner's token.
    python3 health_setup.py history --days D --db DB --dir DIR
        Writes D earlier report days for every member (as if they had reported) and the kept
        totals of those days, straight into the database: the dashboard's 14 days.
DB is a path to tack.sqlite or "postgres:PORT" (written with psql as the postgres user).
"""
import argparse
import csv
import io
import datetime
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(__file__))
from tackapi import request, signup  # noqa: E402

QUESTIONS = [
    {"id": "temp", "kind": "temperature", "title": "Body temperature", "required": True},
    {"id": "symptoms", "kind": "multiple_choice", "title": "Symptoms", "required": True,
     "options": [{"id": "none", "label": "None"}, {"id": "cough", "label": "Cough", "colour": "yellow"},
                 {"id": "fever", "label": "Fever", "colour": "yellow"}]},
    {"id": "contact", "kind": "yes_no", "title": "Contact with a confirmed case?", "required": True, "yesColour": "red"},
    {"id": "city", "kind": "city", "title": "Current city", "required": False},
]


def psql(port, sql, stdin=None):
    cmd = ["runuser", "-u", "postgres", "--", "/usr/lib/postgresql/15/bin/psql", "-h", "127.0.0.1", "-p", str(port),
           "-U", "postgres", "-d", "tack", "-v", "ON_ERROR_STOP=1", "-tAc", sql]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=True).stdout


def query(db, sql, params=()):
    """Rows of a read query on either engine (SQLite ids are upper-case text)."""
    if db.startswith("postgres:"):
        for p in params:
            sql = sql.replace("?", "'" + str(p) + "'", 1)
        out = psql(db.split(":")[1], sql)
        return [line.split("|") for line in out.splitlines() if line]
    con = sqlite3.connect(db, timeout=30)
    rows = [list(r) for r in con.execute(sql, [str(p).upper() for p in params])]
    con.close()
    return rows


def copy(db, table, columns, rows):
    """Inserts rows (tuples of str/float/int; datetime as seconds) into a table."""
    if db.startswith("postgres:"):
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows([["" if v is None else v for v in r] for r in rows])
        lines = out.getvalue()
        psql(db.split(":")[1], f"\\copy {table}({','.join(columns)}) FROM STDIN WITH (FORMAT csv)", stdin=lines)
        return
    con = sqlite3.connect(db, timeout=30)
    con.executemany(f"INSERT INTO {table}({','.join(columns)}) VALUES ({','.join('?' * len(columns))})", rows)
    con.commit()
    con.close()


def ts(db, seconds):
    """A time for the engine: seconds on SQLite, an ISO text on PostgreSQL."""
    if db.startswith("postgres:"):
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()
    return seconds


def ident(db, value):
    return value.upper() if not db.startswith("postgres:") else value.lower()


def setup(port, members, db, out):
    owner = signup(port, 0, "127.0.2.1")
    org = request(port, "POST", "/api/v1/orgs", {"name": "Surge School", "timeZone": "UTC"}, token=owner)["organization"]["id"]
    # Like Mengniu's 56 factories: each member in one of 10 workshops of one of 56 factories.
    rows = ["name,email,department"] + [f"Student {i:05d},s{i:05d}@surge.example,Factory {i % 56:02d}/Workshop {i // 56 % 10}"
                                        for i in range(1, members + 1)]
    t0 = time.time()
    request(port, "POST", f"/api/v1/orgs/{org}/members/import", "\n".join(rows) + "\n", token=owner, content_type="text/csv")
    print(f"imported {members} members in {time.time() - t0:.1f} s", file=sys.stderr)
    report = request(port, "POST", f"/api/v1/orgs/{org}/health/reports",
                     {"title": "Daily health", "wholeOrganization": True, "questions": QUESTIONS, "opensAt": "00:00",
                      "closesAt": "24:00", "skipWeekends": False}, token=owner)["id"]
    users = [r[0] for r in query(db, "SELECT m.user_id FROM members m WHERE m.org_id = ? AND m.role = 'member' ORDER BY m.sort_name",
                                 (org,))]
    assert len(users) == members, (len(users), members)
    now = time.time()
    tokens = [f"hs{uuid.uuid4().hex}" for _ in users]
    copy(db, "sessions", ["token_hash", "user_id", "kind", "created_at", "expires_at", "last_seen_at"],
         [(hashlib.sha256(t.encode()).hexdigest(), u, "token", ts(db, now), ts(db, now + 30 * 86400), ts(db, now))
          for t, u in zip(tokens, users)])
    day = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    path = f"/api/v1/orgs/{org}/health/reports/{report}/submission"
    rnd = random.Random(7)
    with open(os.path.join(out, "targets.txt"), "w") as f:
        for t in tokens:
            temp = round(rnd.gauss(36.6, 0.35), 1)
            body = json.dumps({"day": day, "answers": [
                {"questionId": "temp", "temperature": temp},
                {"questionId": "symptoms", "choices": ["cough"] if rnd.random() < 0.03 else ["none"]},
                {"questionId": "contact", "yes": rnd.random() < 0.002},
                {"questionId": "city", "text": "Hangzhou"}]}, separators=(",", ":"))
            f.write(f"{t} {path} {body}\n")
    with open(os.path.join(out, "setup.json"), "w") as f:
        json.dump({"org": org, "report": report, "owner": owner, "day": day, "members": members}, f)
    print(f"set up: organisation {org}, report {report}, {members} members with sessions", file=sys.stderr)


def history(days, db, directory):
    s = json.load(open(os.path.join(directory, "setup.json")))
    org, report = s["org"], s["report"]
    users = [r[0] for r in query(db, "SELECT user_id FROM members WHERE org_id = ?", (org,))]
    today = datetime.date.fromisoformat(s["day"])
    rnd = random.Random(11)
    answers = json.dumps([{"questionId": "temp", "temperature": 36.6}, {"questionId": "symptoms", "choices": ["none"]},
                          {"questionId": "contact", "yes": False}])
    o, r = ident(db, org), ident(db, report)
    for back in range(1, days + 1):
        day = (today - datetime.timedelta(days=back)).isoformat()
        at = time.time() - back * 86400
        rows, colours = [], {"green": 0, "yellow": 0, "red": 0}
        for u in users:
            if rnd.random() < 0.04:
                continue  # did not report
            colour = "yellow" if rnd.random() < 0.02 else "green"
            colours[colour] += 1
            rows.append((o, r, day, u, answers if back <= 14 else None, 36.6, colour, 1, u, ts(db, at)))
        copy(db, "health_submissions", ["org_id", "report_id", "day", "user_id", "answers", "temperature", "colour", "revision",
                                        "submitted_by", "submitted_at"], rows)
        copy(db, "health_day_totals", ["org_id", "report_id", "day", "audience", "reported", "green", "yellow", "red"],
             [(o, r, day, len(users), len(rows), colours["green"], colours["yellow"], colours["red"])])
    print(f"history: {days} earlier days for {len(users)} members", file=sys.stderr)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("setup")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--members", type=int, required=True)
    a.add_argument("--db", required=True)
    a.add_argument("--out", required=True)
    h = sub.add_parser("history")
    h.add_argument("--days", type=int, required=True)
    h.add_argument("--db", required=True)
    h.add_argument("--dir", required=True)
    args = p.parse_args()
    if args.cmd == "setup":
        setup(args.port, args.members, args.db, args.out)
    else:
        history(args.days, args.db, args.dir)
