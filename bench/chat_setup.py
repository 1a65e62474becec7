"""Set-up for the chat benchmarks (standard library only; builds on tackapi.py).

    python3 chat_setup.py group --port P --setup SETUP.json --out-dir DIR [--senders K]
        The organisation's root department group (every member is in it). Writes
        DIR/group.json {"org", "conversation", "members", "users": [userId of each token]},
        DIR/ws-tokens.txt (every token, one a line) and DIR/senders.txt ("TOKEN PATH" lines: the
        first K people posting to the group).

    python3 chat_setup.py directs --port P --setup SETUP.json --senders N --per-sender M --out FILE
        Opens M 1:1 conversations for each of the first N people, each with a different one of
        the people N, N+1, …; writes "TOKEN PATH" lines ordered so that lines i, i+N, i+2N, …
        belong to sender i (chatload's connection i cycles over exactly those), and FILE.json
        {"org", "conversations": [...]}.

    python3 chat_setup.py watermarks --port P --group DIR/group.json --setup SETUP.json --last-seq S
        Every member but the owner reads up to a different point: member i of n up to S·i/n
        (so a message's unread count depends on where it is).

    python3 chat_setup.py receipts-requests --port P --group DIR/group.json --setup SETUP.json
            --reps R --out FILE
        The measured requests for bench/chat-receipts (chatload seq format): R rounds of
        /healthz, mark read (a member moves their watermark one message further), receipts for one
        message, a page of 50 messages (with unreadCount of the caller's own), and readers of one
        message; the messages are the owner's, spread over the whole history.
"""
import argparse
import concurrent.futures
import json
import random
import sys

from tackapi import request


def load(path):
    with open(path) as f:
        return json.load(f)


def user_ids(port, org, token, count):
    """userId of each token's person (tokens[i] is "Person {i:05d}", see tackapi.setup)."""
    items = request(port, "GET", f"/api/v1/orgs/{org}/members?limit=1000", token=token)["items"]
    by_name = {m["name"]: m for m in items}
    return [by_name[f"Person {i:05d}"] for i in range(count)]


def group(a):
    s = load(a.setup)
    org, tokens = s["org"], s["tokens"]
    items = request(a.port, "GET", f"/api/v1/orgs/{org}/conversations", token=tokens[0])["items"]
    departments = sorted((c for c in items if c["kind"] == "department"), key=lambda c: -c["memberCount"])
    if not departments:
        sys.exit("no department group")
    conv = departments[0]
    members = user_ids(a.port, org, tokens[0], len(tokens)) if len(tokens) <= 1000 else []
    path = f"/api/v1/orgs/{org}/conversations/{conv['id']}/messages"
    with open(f"{a.out_dir}/group.json", "w") as f:
        json.dump({"org": org, "conversation": conv["id"], "members": conv["memberCount"], "lastSeq": conv["lastSeq"],
                   "users": [m["userId"] for m in members]}, f)
    with open(f"{a.out_dir}/ws-tokens.txt", "w") as f:
        f.write("".join(t + "\n" for t in tokens))
    with open(f"{a.out_dir}/senders.txt", "w") as f:
        f.write("".join(f"{t} {path}\n" for t in tokens[:a.senders]))
    print(f"group {conv['id']} ({conv['name']!r}): {conv['memberCount']} members, lastSeq {conv['lastSeq']}", file=sys.stderr)


def directs(a):
    s = load(a.setup)
    org, tokens = s["org"], s["tokens"]
    n, m = a.senders, a.per_sender
    others = len(tokens) - n
    if m > others:
        sys.exit(f"{m} conversations per sender need {m} other people; there are {others}")
    members = user_ids(a.port, org, tokens[0], len(tokens))

    def open_one(pair):
        sender, partner = pair
        c = request(a.port, "POST", f"/api/v1/orgs/{org}/conversations/direct", {"memberId": members[partner]["id"]},
                    token=tokens[sender])
        return sender, c["id"]

    pairs = [(i, n + (i + j) % others) for j in range(m) for i in range(n)]  # line j*n + i belongs to sender i
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        opened = list(pool.map(open_one, pairs))
    if len({c for _, c in opened}) != len(opened):
        sys.exit("conversations are not distinct")
    with open(a.out, "w") as f:
        f.write("".join(f"{tokens[i]} /api/v1/orgs/{org}/conversations/{c}/messages\n" for i, c in opened))
    with open(a.out + ".json", "w") as f:
        json.dump({"org": org, "conversations": [c for _, c in opened], "senders": [tokens[i] for i in range(n)]}, f)
    print(f"{len(opened)} 1:1 conversations ({n} senders × {m})", file=sys.stderr)


def watermarks(a):
    g, s = load(a.group), load(a.setup)
    tokens = s["tokens"]
    n = len(tokens)
    base = f"/api/v1/orgs/{g['org']}/conversations/{g['conversation']}"

    def read(i):
        return request(a.port, "POST", f"{base}/read", {"seq": a.last_seq * i // n}, token=tokens[i])["readSeq"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        got = list(pool.map(read, range(1, n)))
    print(f"watermarks of {len(got)} members set, {min(got)}…{max(got)}", file=sys.stderr)


def receipts_requests(a):
    g, s = load(a.group), load(a.setup)
    tokens = s["tokens"]
    owner, owner_id = tokens[0], g["users"][0]
    base = f"/api/v1/orgs/{g['org']}/conversations/{g['conversation']}"
    last = request(a.port, "GET", f"{base}/messages?limit=1", token=owner)["lastSeq"]
    rng = random.Random(1)
    # The owner's messages, sampled over the whole history.
    own = []
    for _ in range(60):
        before = rng.randint(100, last + 1)
        page = request(a.port, "GET", f"{base}/messages?before={before}&limit=100", token=owner)["items"]
        own += [m["seq"] for m in page if m["sender"]["userId"] == owner_id and m["kind"] != "system"]
    own = sorted(set(own))
    if not own:
        sys.exit("the owner has no messages in the group")
    n = len(tokens)
    # Each member's watermark now (set by `watermarks`); mark read moves it one further each time.
    marks = {i: last * i // n for i in range(1, n)}
    lines = []
    for r in range(a.reps):
        seq = own[rng.randrange(len(own))]
        i = 1 + r % (n - 1)
        marks[i] = min(marks[i] + 1, last)
        lines.append(f"healthz GET - /healthz")
        lines.append(f"mark-read POST {tokens[i]} {base}/read {json.dumps({'seq': marks[i]}, separators=(',', ':'))}")
        lines.append(f"receipts-1 GET {owner} {base}/receipts?from={seq}&to={seq}")
        lines.append(f"messages-50 GET {owner} {base}/messages?before={seq + 1}&limit=50")
        lines.append(f"readers GET {owner} {base}/messages/{seq}/readers")
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{len(lines)} requests; {len(own)} of the owner's messages sampled, lastSeq {last}", file=sys.stderr)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    x = sub.add_parser("group")
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--setup", required=True)
    x.add_argument("--out-dir", required=True)
    x.add_argument("--senders", type=int, default=10)
    x = sub.add_parser("directs")
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--setup", required=True)
    x.add_argument("--senders", type=int, default=64)
    x.add_argument("--per-sender", type=int, default=8)
    x.add_argument("--out", required=True)
    x = sub.add_parser("watermarks")
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--group", required=True)
    x.add_argument("--setup", required=True)
    x.add_argument("--last-seq", type=int, required=True)
    x = sub.add_parser("receipts-requests")
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--group", required=True)
    x.add_argument("--setup", required=True)
    x.add_argument("--reps", type=int, default=2000)
    x.add_argument("--out", required=True)
    a = p.parse_args()
    {"group": group, "directs": directs, "watermarks": watermarks, "receipts-requests": receipts_requests}[a.cmd](a)
