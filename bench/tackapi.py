"""Set-up helpers for the benchmarks: accounts, an organisation, members (standard library only).

Sign-ups are limited per client address (AuthService: 30 an hour at 43f0dee, 300 since 515d93e),
so they are spread over source addresses 127.0.1.1, 127.0.1.2, …, 25 each (any 127/8 address
reaches a server on 127.0.0.1).

    python3 tackapi.py setup --port P --people N [--members M] --out FILE

writes a JSON file {"org": id, "tokens": [...]}: the first person owns the organisation, the
other N-1 are imported by CSV and then claim their accounts by signing up (so every token's
person is a member); M-N more members are imported without accounts (a directory of M people).
"""
import argparse
import concurrent.futures
import http.client
import json
import sys

SIGNUPS_PER_ADDRESS = 25


def request(port, method, path, body=None, token=None, content_type="application/json", source=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60,
                                      source_address=(source, 0) if source else None)
    headers = {}
    if body is not None:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status >= 300:
        raise RuntimeError(f"{method} {path} -> {resp.status}: {data[:300]!r}")
    return json.loads(data) if data else None


def signup(port, i, source):
    r = request(port, "POST", "/api/v1/auth/signup",
                {"name": f"Person {i:05d}", "login": f"p{i:05d}@bench.example", "password": "bench-password-1",
                 "mode": "token"}, source=source)
    return r["token"]


def source_for(i):
    n = i // SIGNUPS_PER_ADDRESS
    return f"127.0.1.{n + 1}"


def setup(port, people, members, out):
    owner = signup(port, 0, source_for(0))
    org = request(port, "POST", "/api/v1/orgs", {"name": "Bench School"}, token=owner)["organization"]["id"]
    rows = ["name,email"]
    rows += [f"Person {i:05d},p{i:05d}@bench.example" for i in range(1, max(people, members))]
    request(port, "POST", f"/api/v1/orgs/{org}/members/import", "\n".join(rows) + "\n", token=owner,
            content_type="text/csv")
    tokens = [owner]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        tokens += list(pool.map(lambda i: signup(port, i, source_for(i)), range(1, people)))
    count = len(request(port, "GET", f"/api/v1/orgs/{org}/members?limit=1000", token=owner)["items"]) \
        if max(people, members) <= 1000 else None
    with open(out, "w") as f:
        json.dump({"org": org, "tokens": tokens, "members": count}, f)
    print(f"set up: organisation {org}, {len(tokens)} signed-in people, "
          f"{max(people, members)} members (listed: {count})", file=sys.stderr)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("setup")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--people", type=int, required=True)
    s.add_argument("--members", type=int, default=0)
    s.add_argument("--out", required=True)
    a = p.parse_args()
    setup(a.port, a.people, a.members, a.out)
