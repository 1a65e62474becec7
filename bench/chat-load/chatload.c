/*
 * chatload — the load generator of Tack's chat benchmarks (bench/chat-fanout, chat-sends,
 * chat-receipts) and of bench/overload. One thread, epoll, non-blocking sockets, a minimal HTTP/1.1 client and a
 * minimal RFC 6455 client (handshake by hand, unmasked server frames, masked client frames).
 * Built by the scripts with `cc -O2` (no dependencies); one clock (CLOCK_MONOTONIC) for sending
 * and receiving.
 *
 *   chatload fanout --port P --ws-tokens FILE --senders FILE --rates 10,25,… [--step-secs 10]
 *            [--drain-secs 5] [--sources 127.0.0.2,…] [--bare TEMPLATE] [--sample-out FILE]
 *            [--server-pid PID] [--label NAME] [--json FILE] [--on-step RATE:COMMAND] [--stop-p99-ms MS]
 *       Opens one WebSocket per line of --ws-tokens (hello → resume {} → resumed), then per rate
 *       posts that many messages a second for --step-secs (senders: lines "TOKEN PATH", one
 *       keep-alive connection each, one request in flight each), each text carrying
 *       "BT:<step>:<index>:<monotonic ns>:"; every WebSocket frame is searched for "BT:" (no JSON
 *       decoding) and the send-to-receive latency recorded. With --bare the POST body is the
 *       event itself (a broadcaster sends it to every socket): TEMPLATE is a message.created
 *       frame whose "text" value is replaced.
 *   chatload sends --port P --targets FILE --conns N --secs S [--max M] [--server-pid PID] [--json FILE]
 *       N keep-alive connections post as fast as they are answered for S seconds, connection i
 *       cycling over the target lines i, i+N, … ("TOKEN PATH"), each with a unique clientKey;
 *       then waits for every request in flight. Counts 201s exactly.
 *   chatload submits --port P --targets FILE --conns N [--secs S] [--server-pid PID] [--json FILE]
 *       Every target line ("TOKEN PATH BODY": one person's health report) is PUT once, N
 *       connections at a time as fast as they are answered; an answer 429/503 (shed) is sent
 *       again after its Retry-After (default 1 s) until it is accepted (200) or S seconds pass.
 *       Reports accepted/s, latency of accepted and shed answers, and how many were shed.
 *   chatload overload --port P --token T --path PATH [--method GET] [--body JSON] --rate R --conns C --secs S
 *            [--timeout-secs 10] [--retry] [--sources 127.0.0.2,…] [--server-pid PID] [--label NAME] [--json FILE]
 *       Open loop: R people a second for S seconds each make one request, sent on a free one of C
 *       keep-alive connections (one request in flight each; a request that finds every connection
 *       busy is not sent, and counted). Answers are sorted into accepted (2xx), shed (503, with
 *       their Retry-After) and other; a request unanswered after --timeout-secs counts as timed
 *       out and its connection is closed and opened again, as a person who gives up. With
 *       --retry a 503 is sent again after its Retry-After, 4 attempts in all (as the web app).
 *   chatload seq --port P --requests FILE [--json FILE]
 *       Runs the requests of FILE ("LABEL METHOD TOKEN PATH [BODY]"; TOKEN "-" for none) one
 *       after another on one keep-alive connection and reports each label's latency.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------- small utilities ---------- */

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p && n) die("out of memory");
    return p;
}

/* Latencies in units of 100 ns (uint32: up to 429 s). */
typedef struct { uint32_t *v; size_t n, cap; } lat_t;

static void lat_add(lat_t *l, uint64_t ns) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->v = xrealloc(l->v, l->cap * sizeof *l->v);
    }
    uint64_t u = ns / 100;
    l->v[l->n++] = u > UINT32_MAX ? UINT32_MAX : (uint32_t)u;
}
static int cmpu32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}
static void lat_sort(lat_t *l) { if (l->n) qsort(l->v, l->n, sizeof *l->v, cmpu32); }
/* Nearest-rank percentile of a sorted array, in microseconds. */
static double lat_pct(const lat_t *l, double p) {
    if (!l->n) return NAN;
    size_t rank = (size_t)ceil(p / 100.0 * (double)l->n);
    if (rank < 1) rank = 1;
    return l->v[rank - 1] / 10.0;
}
static double lat_mean(const lat_t *l) {
    if (!l->n) return NAN;
    double s = 0;
    for (size_t i = 0; i < l->n; i++) s += l->v[i];
    return s / (double)l->n / 10.0;
}

static double cpu_self_s(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static int server_pid = 0;
static double cpu_pid_s(int pid) {
    if (!pid) return NAN;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return NAN;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return NAN;
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) … utime(14) stime(15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return NAN;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
static long rss_kib(int pid) {
    if (!pid) return -1;
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) { v = atol(line + 6); break; }
    fclose(f);
    return v;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = xrealloc(NULL, (size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) die("cannot read %s", path);
    fclose(f);
    b[n] = 0;
    if (len) *len = (size_t)n;
    return b;
}

/* Splits a file into lines (in place); returns the count. */
static int split_lines(char *b, char ***out) {
    int n = 0, cap = 0;
    char **v = NULL;
    for (char *p = b; *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        if (*p && *p != '#') {
            if (n == cap) { cap = cap ? cap * 2 : 256; v = xrealloc(v, cap * sizeof *v); }
            v[n++] = p;
        }
        if (!e) break;
        p = e + 1;
    }
    *out = v;
    return n;
}

/* ---------- connections ---------- */

enum { K_WS = 1, K_HTTP = 2 };
enum { S_CONNECTING = 1, S_HANDSHAKE, S_HELLO, S_RESUMING, S_OPEN, S_READY, S_BUSY, S_DEAD };

typedef struct conn {
    int fd, kind, state, idx;
    char *rb;
    size_t rn, rcap;
    char *wb;
    size_t wn, woff, wcap;
    int out_armed;
    const char *token;
    const char *src;
    /* HTTP: the request in flight */
    uint64_t t_req;
    int step, msg, label;
    int target_next; /* sends: the next target line of this connection */
    int reconnects;
    int listed; /* overload: on the free list */
} conn;

static int ep;
static int port;
static uint64_t tnow;

static struct {
    int ws_open, ws_failed, ws_lost, ws_connecting;
    long frames_other, frames_bt, pings_answered;
    int close_codes[8];
    int close_code_vals[8];
    int http_errors;
} G;

static void arm(conn *c, int out) {
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    c->out_armed = out;
}

static int conn_open(conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { fprintf(stderr, "socket: %s\n", strerror(errno)); return -1; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->src) {
        struct sockaddr_in s = {.sin_family = AF_INET};
        inet_pton(AF_INET, c->src, &s.sin_addr);
        if (bind(c->fd, (struct sockaddr *)&s, sizeof s) < 0) { fprintf(stderr, "bind %s: %s\n", c->src, strerror(errno)); close(c->fd); return -1; }
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        fprintf(stderr, "connect: %s\n", strerror(errno));
        close(c->fd);
        return -1;
    }
    c->state = S_CONNECTING;
    c->rn = c->wn = c->woff = 0;
    if (!c->rb) { c->rcap = 65536; c->rb = xrealloc(NULL, c->rcap); }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl add: %s", strerror(errno));
    c->out_armed = 1;
    return 0;
}

static void conn_close(conn *c) {
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->state = S_DEAD;
}

static void flush_out(conn *c) {
    while (c->woff < c->wn) {
        ssize_t k = send(c->fd, c->wb + c->woff, c->wn - c->woff, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN) break;
            return; /* the read side sees the error */
        }
        c->woff += (size_t)k;
    }
    if (c->woff == c->wn) {
        c->woff = c->wn = 0;
        if (c->out_armed && c->state != S_CONNECTING) arm(c, 0);
    } else if (!c->out_armed) {
        arm(c, 1);
    }
}

static void conn_write(conn *c, const void *d, size_t n) {
    if (c->wn + n > c->wcap) {
        c->wcap = (c->wn + n) * 2;
        c->wb = xrealloc(c->wb, c->wcap);
    }
    memcpy(c->wb + c->wn, d, n);
    c->wn += n;
    if (c->state != S_CONNECTING) flush_out(c);
}

/* A masked client text frame. */
static void ws_send_text(conn *c, const char *s, size_t n, int opcode) {
    unsigned char h[14];
    size_t hl = 0;
    h[hl++] = 0x80 | (unsigned char)opcode;
    if (n < 126) h[hl++] = 0x80 | (unsigned char)n;
    else { h[hl++] = 0x80 | 126; h[hl++] = (unsigned char)(n >> 8); h[hl++] = (unsigned char)n; }
    uint32_t r = (uint32_t)rand();
    unsigned char *mask = h + hl;
    memcpy(mask, &r, 4);
    hl += 4;
    char buf[256];
    if (n > sizeof buf) die("client frame too long");
    for (size_t i = 0; i < n; i++) buf[i] = (char)(s[i] ^ mask[i & 3]);
    conn_write(c, h, hl);
    conn_write(c, buf, n);
}

/* ---------- the fan-out state ---------- */

typedef struct {
    int rate, total;        /* messages to send in this step */
    int sent, acked, non2xx, late;
    lat_t ack, deliv;
    uint64_t received, bad;
    uint16_t *per_msg;      /* deliveries per message index */
    uint64_t t_start, t_send_end, t_end, t_last_recv;
    double cpu_client, cpu_server;
    long rss_end;
    int status_other[4];
} step_t;

static step_t *steps;
static int nsteps;
static int ws_target;        /* how many sockets should be open */
static const char *sample_out;
static int sample_saved;

static void on_bt(const char *d, size_t n, const char *m) {
    /* "BT:<step>:<index>:<ns>:" */
    const char *e = d + n;
    const char *p = m + 3;
    long v[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        long x = 0;
        int digits = 0;
        while (p < e && *p >= '0' && *p <= '9') { x = x * 10 + (*p - '0'); p++; digits++; }
        if (!digits || p >= e || *p != ':') { G.frames_other++; return; }
        p++;
        v[k] = x;
    }
    G.frames_bt++;
    int s = (int)v[0], i = (int)v[1];
    if (s < 0 || s >= nsteps || i < 0 || i >= steps[s].total) { G.frames_other++; return; }
    step_t *st = &steps[s];
    uint64_t sent = (uint64_t)v[2];
    lat_add(&st->deliv, tnow > sent ? tnow - sent : 0);
    st->received++;
    st->per_msg[i]++;
    st->t_last_recv = tnow;
    if (sample_out && !sample_saved) {
        FILE *f = fopen(sample_out, "w");
        if (f) { fwrite(d, 1, n, f); fclose(f); }
        sample_saved = 1;
    }
}

static void ws_frame(conn *c, int op, const char *d, size_t n) {
    if (op == 1) {
        if (c->state == S_OPEN) {
            const char *m = memmem(d, n, "BT:", 3);
            if (m) on_bt(d, n, m);
            else G.frames_other++;
        } else if (c->state == S_HELLO) {
            static const char resume[] = "{\"type\":\"resume\",\"cursors\":{}}";
            ws_send_text(c, resume, sizeof resume - 1, 1);
            c->state = S_RESUMING;
        } else if (c->state == S_RESUMING) {
            if (memmem(d, n, "\"resumed\"", 9)) {
                c->state = S_OPEN;
                G.ws_open++;
                G.ws_connecting--;
            }
        }
    } else if (op == 8) {
        int code = n >= 2 ? ((unsigned char)d[0] << 8 | (unsigned char)d[1]) : 1005;
        for (int k = 0; k < 8; k++)
            if (G.close_code_vals[k] == code || G.close_code_vals[k] == 0) { G.close_code_vals[k] = code; G.close_codes[k]++; break; }
        if (c->state == S_OPEN) { G.ws_open--; G.ws_lost++; }
        else { G.ws_connecting--; G.ws_failed++; }
        conn_close(c);
    } else if (op == 9) {
        G.pings_answered++;
        if (n < 126) ws_send_text(c, d, n, 10);
    }
}

static void ws_lost(conn *c, const char *why) {
    if (c->state == S_DEAD) return;
    if (c->state == S_OPEN) { G.ws_open--; G.ws_lost++; }
    else { G.ws_connecting--; G.ws_failed++; }
    static int reported;
    if (reported++ < 5) fprintf(stderr, "websocket %d: %s\n", c->idx, why);
    conn_close(c);
}

static void ws_process(conn *c) {
    size_t off = 0;
    if (c->state == S_HANDSHAKE) {
        char *e = memmem(c->rb, c->rn, "\r\n\r\n", 4);
        if (!e) return;
        if (c->rn < 12 || memcmp(c->rb + 9, "101", 3)) {
            char why[64];
            snprintf(why, sizeof why, "handshake answered %.12s", c->rb);
            ws_lost(c, why);
            return;
        }
        off = (size_t)(e + 4 - c->rb);
        c->state = S_HELLO;
    }
    while (c->rn - off >= 2) {
        unsigned char *p = (unsigned char *)c->rb + off;
        size_t avail = c->rn - off, h = 2;
        uint64_t len = p[1] & 0x7f;
        if (len == 126) {
            if (avail < 4) break;
            len = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
            h = 10;
        }
        if (p[1] & 0x80) h += 4; /* a masked server frame would be a protocol error; skip its key */
        if (avail < h + len) {
            if (h + len > c->rcap) { c->rcap = h + len + 4096; c->rb = xrealloc(c->rb, c->rcap); }
            break;
        }
        ws_frame(c, p[0] & 0x0f, (const char *)p + h, (size_t)len);
        if (c->state == S_DEAD) return;
        off += h + len;
    }
    if (off) {
        memmove(c->rb, c->rb + off, c->rn - off);
        c->rn -= off;
    }
}

/* ---------- HTTP ---------- */

typedef void (*on_response_fn)(conn *c, int status, const char *body, size_t len);
static on_response_fn on_response;
static void (*on_http_ready)(conn *c);

/* The Retry-After of the last response that had one (seconds). */
static long last_retry_after;

/* Bytes of one complete response at the start of rb, or 0. */
static size_t http_complete(conn *c, int *status, size_t *body_off, size_t *body_len) {
    char *e = memmem(c->rb, c->rn, "\r\n\r\n", 4);
    if (!e) return 0;
    size_t hl = (size_t)(e + 4 - c->rb);
    *status = atoi(c->rb + 9);
    long cl = -1;
    int chunked = 0;
    for (char *line = c->rb; line < e;) {
        char *nl = memchr(line, '\n', (size_t)(e + 2 - line));
        if (!nl) break;
        if (!strncasecmp(line, "content-length:", 15)) cl = atol(line + 15);
        else if (!strncasecmp(line, "retry-after:", 12)) last_retry_after = atol(line + 12);
        else if (!strncasecmp(line, "transfer-encoding:", 18) && memmem(line, (size_t)(nl - line), "chunked", 7)) chunked = 1;
        line = nl + 1;
    }
    *body_off = hl;
    if (cl >= 0) {
        if (c->rn < hl + (size_t)cl) {
            if (hl + (size_t)cl > c->rcap) { c->rcap = hl + (size_t)cl + 4096; c->rb = xrealloc(c->rb, c->rcap); }
            return 0;
        }
        *body_len = (size_t)cl;
        return hl + (size_t)cl;
    }
    if (chunked) {
        if (c->rn >= hl + 5 && !memcmp(c->rb + hl, "0\r\n\r\n", 5)) { *body_len = 0; return hl + 5; }
        char *z = memmem(c->rb + hl, c->rn - hl, "\r\n0\r\n\r\n", 7);
        if (!z) {
            if (c->rn == c->rcap) { c->rcap *= 2; c->rb = xrealloc(c->rb, c->rcap); }
            return 0;
        }
        *body_len = (size_t)(z - (c->rb + hl)); /* raw chunked body */
        return (size_t)(z + 7 - c->rb);
    }
    *body_len = 0;
    return hl;
}

static void http_process(conn *c) {
    for (;;) {
        int status;
        size_t bo, bl;
        size_t k = http_complete(c, &status, &bo, &bl);
        if (!k) return;
        c->state = S_READY;
        on_response(c, status, c->rb + bo, bl);
        memmove(c->rb, c->rb + k, c->rn - k);
        c->rn -= k;
        if (c->state == S_READY && on_http_ready) on_http_ready(c);
    }
}

static void http_request(conn *c, const char *method, const char *path, const char *token, const char *body, size_t blen) {
    char head[2048];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", method, path, port);
    if (token && strcmp(token, "-")) n += snprintf(head + n, sizeof head - n, "Authorization: Bearer %s\r\n", token);
    if (body) n += snprintf(head + n, sizeof head - n, "Content-Type: application/json\r\nContent-Length: %zu\r\n", blen);
    n += snprintf(head + n, sizeof head - n, "\r\n");
    c->state = S_BUSY;
    c->t_req = now_ns();
    conn_write(c, head, (size_t)n);
    if (body) conn_write(c, body, blen);
}

static void http_failed(conn *c, const char *why);

/* ---------- the event loop ---------- */

static void on_connected(conn *c) {
    if (c->kind == K_WS) {
        char req[1024];
        int n = snprintf(req, sizeof req,
                         "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                         "Authorization: Bearer %s\r\n\r\n",
                         port, c->token);
        c->state = S_HANDSHAKE;
        conn_write(c, req, (size_t)n);
    } else {
        c->state = S_READY;
        flush_out(c);
        if (on_http_ready) on_http_ready(c);
    }
}

static void handle(conn *c, uint32_t evs) {
    if (c->state == S_CONNECTING) {
        if (evs & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            int err = 0;
            socklen_t l = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
            if (err) {
                if (c->kind == K_WS) ws_lost(c, strerror(err));
                else http_failed(c, strerror(err));
                return;
            }
            arm(c, 0);
            on_connected(c);
        }
        return;
    }
    if (evs & EPOLLOUT) flush_out(c);
    if (evs & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (c->rn == c->rcap) { c->rcap *= 2; c->rb = xrealloc(c->rb, c->rcap); }
        ssize_t k = recv(c->fd, c->rb + c->rn, c->rcap - c->rn, 0);
        if (k <= 0) {
            if (k < 0 && errno == EAGAIN) return;
            if (c->kind == K_WS) ws_lost(c, k == 0 ? "closed by the server" : strerror(errno));
            else http_failed(c, k == 0 ? "closed by the server" : strerror(errno));
            return;
        }
        c->rn += (size_t)k;
        if (c->kind == K_WS) ws_process(c);
        else http_process(c);
    }
}

static void loop_once(int timeout_ms) {
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, timeout_ms);
    tnow = now_ns();
    for (int i = 0; i < n; i++) handle(evs[i].data.ptr, evs[i].events);
    if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
}

/* ---------- options ---------- */

static const char *opt(int argc, char **argv, const char *name, const char *def) {
    for (int i = 2; i < argc - 1; i++)
        if (!strcmp(argv[i], name)) return argv[i + 1];
    return def;
}

static char **sources;
static int nsources;
static void parse_sources(const char *s) {
    if (!s || !*s) return;
    char *d = strdup(s);
    for (char *t = strtok(d, ","); t; t = strtok(NULL, ",")) {
        sources = xrealloc(sources, (nsources + 1) * sizeof *sources);
        sources[nsources++] = t;
    }
}

static FILE *json_out;
static void json_open(int argc, char **argv) {
    const char *p = opt(argc, argv, "--json", NULL);
    if (p && !(json_out = fopen(p, "w"))) die("cannot write %s", p);
}

/* ---------- fanout ---------- */

typedef struct { char *token, *path; } target_t;
static target_t *targets;
static int ntargets;

static void read_targets(const char *path) {
    char **lines;
    int n = split_lines(read_file(path, NULL), &lines);
    targets = xrealloc(NULL, n * sizeof *targets);
    for (int i = 0; i < n; i++) {
        char *sp = strchr(lines[i], ' ');
        if (!sp) die("%s: want \"TOKEN PATH\" lines", path);
        *sp = 0;
        targets[i].token = lines[i];
        targets[i].path = sp + 1;
    }
    ntargets = n;
}

static conn *senders;
static int nsenders;
static const char *bare_prefix, *bare_suffix; /* bare: the template around the text value */
static char run_id[32];

static void fanout_response(conn *c, int status, const char *body, size_t len) {
    (void)body;
    (void)len;
    step_t *st = &steps[c->step];
    if (status == 201 || status == 200) {
        st->acked++;
        lat_add(&st->ack, tnow - c->t_req);
    } else {
        st->non2xx++;
        if (st->non2xx <= 3) fprintf(stderr, "send answered %d: %.*s\n", status, (int)(len > 200 ? 200 : len), body);
    }
}

static void http_failed(conn *c, const char *why) {
    G.http_errors++;
    if (G.http_errors <= 5) fprintf(stderr, "http connection %d: %s\n", c->idx, why);
    int was_busy = c->state == S_BUSY;
    conn_close(c);
    if (was_busy && steps && c->kind == K_HTTP && c->step >= 0 && c->step < nsteps) steps[c->step].status_other[0]++;
    /* reconnect (bounded) */
    if (c->reconnects++ < 20) conn_open(c);
}

static conn *free_sender(void) {
    static int rr;
    for (int k = 0; k < nsenders; k++) {
        conn *c = &senders[(rr + k) % nsenders];
        if (c->state == S_READY) { rr = (rr + k + 1) % nsenders; return c; }
    }
    return NULL;
}

static const char pad[] = "the quick brown fox jumps over the lazy dog, 敏捷的棕色狐狸跳过了懒狗";

static void send_one(conn *c, int step, int i) {
    char text[256], body[8192];
    uint64_t t = now_ns();
    int tl = snprintf(text, sizeof text, "BT:%d:%d:%llu: %s", step, i, (unsigned long long)t, pad);
    int bl;
    if (bare_prefix)
        bl = snprintf(body, sizeof body, "%s%s%s", bare_prefix, text, bare_suffix);
    else
        bl = snprintf(body, sizeof body, "{\"clientKey\":\"fo-%s-%d-%d\",\"text\":\"%s\"}", run_id, step, i, text);
    (void)tl;
    c->step = step;
    c->msg = i;
    http_request(c, "POST", bare_prefix ? "/broadcast" : targets[c->idx % ntargets].path, targets[c->idx % ntargets].token, body, (size_t)bl);
    c->t_req = t;
}

static int run_fanout(int argc, char **argv) {
    const char *ws_tokens = opt(argc, argv, "--ws-tokens", NULL);
    const char *sender_file = opt(argc, argv, "--senders", NULL);
    const char *rates_s = opt(argc, argv, "--rates", "10,25,50,100,150,200");
    double step_secs = atof(opt(argc, argv, "--step-secs", "10"));
    double drain_secs = atof(opt(argc, argv, "--drain-secs", "5"));
    double warm_secs = atof(opt(argc, argv, "--warmup-secs", "2"));
    const char *bare = opt(argc, argv, "--bare", NULL);
    const char *label = opt(argc, argv, "--label", "tack");
    int in_flight_max = atoi(opt(argc, argv, "--connect-parallel", "100"));
    /* --on-step RATE:COMMAND runs COMMAND (sh -c, in the background) as the step of that rate starts */
    const char *hook = opt(argc, argv, "--on-step", NULL);
    int hook_rate = hook ? atoi(hook) : -1;
    const char *hook_cmd = hook && strchr(hook, ':') ? strchr(hook, ':') + 1 : NULL;
    pid_t hook_pid = 0;
    /* steps stop once one loses sockets or its p99 exceeds this */
    double stop_p99_ms = atof(opt(argc, argv, "--stop-p99-ms", "5000"));
    sample_out = opt(argc, argv, "--sample-out", NULL);
    parse_sources(opt(argc, argv, "--sources", NULL));
    if (!ws_tokens || !sender_file) die("fanout: --ws-tokens and --senders are required");
    snprintf(run_id, sizeof run_id, "%lx", (unsigned long)(now_ns() / 1000));
    read_targets(sender_file);

    if (bare) {
        /* the template: a real message.created frame; its "text" value is replaced */
        char *t = read_file(bare, NULL);
        char *v = strstr(t, "\"text\":\"");
        if (!v) die("%s: no \"text\" in the template", bare);
        v += 8;
        char *q = v;
        while (*q && !(*q == '"' && q[-1] != '\\')) q++;
        if (!*q) die("%s: unterminated text", bare);
        char *suffix = strdup(q);
        size_t nl = strlen(suffix);
        while (nl && (suffix[nl - 1] == '\n' || suffix[nl - 1] == '\r')) suffix[--nl] = 0;
        *v = 0;
        bare_prefix = t;
        bare_suffix = suffix;
    }

    /* steps: 0 is the warm-up */
    nsteps = 1;
    int rates[64];
    rates[0] = 10;
    for (char *d = strdup(rates_s), *r = strtok(d, ","); r && nsteps < 64; r = strtok(NULL, ",")) rates[nsteps++] = atoi(r);
    steps = calloc((size_t)nsteps, sizeof *steps);
    for (int s = 0; s < nsteps; s++) {
        steps[s].rate = rates[s];
        steps[s].total = (int)(rates[s] * (s == 0 ? warm_secs : step_secs) + 0.5);
        steps[s].per_msg = calloc((size_t)steps[s].total + 1, sizeof(uint16_t));
    }

    char **tok;
    int ntok = split_lines(read_file(ws_tokens, NULL), &tok);
    ws_target = ntok;
    conn *ws = calloc((size_t)ntok, sizeof *ws);
    int per_source = nsources ? (ntok + nsources - 1) / nsources : ntok;

    ep = epoll_create1(EPOLL_CLOEXEC);
    on_response = fanout_response;

    uint64_t t0 = now_ns();
    double cpu0 = cpu_self_s(), scpu0 = cpu_pid_s(server_pid);
    long rss_before = rss_kib(server_pid);
    int next = 0;
    while (next < ntok || G.ws_connecting > 0) {
        while (next < ntok && G.ws_connecting < in_flight_max) {
            conn *c = &ws[next];
            c->idx = next;
            c->kind = K_WS;
            c->token = tok[next];
            c->src = nsources ? sources[next / per_source % nsources] : NULL;
            next++;
            if (conn_open(c) == 0) G.ws_connecting++;
            else G.ws_failed++;
        }
        loop_once(100);
        if (now_ns() - t0 > 120ull * 1000000000ull) { fprintf(stderr, "opening took over 120 s\n"); break; }
    }
    double open_s = (now_ns() - t0) / 1e9;
    fprintf(stderr, "%s: %d websockets open (%d failed) in %.1f s; server RSS %.1f → %.1f MiB; server CPU %.0f%%, client CPU %.0f%% meanwhile\n",
            label, G.ws_open, G.ws_failed, open_s, rss_before / 1024.0, rss_kib(server_pid) / 1024.0,
            100 * (cpu_pid_s(server_pid) - scpu0) / open_s, 100 * (cpu_self_s() - cpu0) / open_s);
    int receivers = G.ws_open;
    if (json_out) fprintf(json_out, "{\"label\":\"%s\",\"websockets\":%d,\"failed\":%d,\"open_secs\":%.2f,\"steps\":[", label, G.ws_open, G.ws_failed, open_s);

    /* the sender connections */
    nsenders = atoi(opt(argc, argv, "--sender-conns", "0"));
    if (nsenders <= 0) nsenders = ntargets;
    senders = calloc((size_t)nsenders, sizeof *senders);
    for (int i = 0; i < nsenders; i++) {
        senders[i].idx = i;
        senders[i].kind = K_HTTP;
        senders[i].step = -1;
        if (conn_open(&senders[i]) < 0) die("sender connection failed");
    }
    for (uint64_t until = now_ns() + 5000000000ull; now_ns() < until;) {
        int ready = 0;
        for (int i = 0; i < nsenders; i++) ready += senders[i].state == S_READY;
        if (ready == nsenders) break;
        loop_once(10);
    }

    uint64_t last_ping = now_ns();
    printf("%-6s %6s %8s %8s %6s %9s %9s %12s %9s %9s %9s %9s %8s %8s %8s\n", "", "rate/s", "sent", "acked", "errors", "ack p50", "ack p99",
           "deliveries/s", "received", "missing", "p50", "p99", "max", "srv CPU", "cli CPU");
    for (int s = 0; s < nsteps; s++) {
        step_t *st = &steps[s];
        double dur = s == 0 ? warm_secs : step_secs;
        if (s > 0 && st->rate == hook_rate && hook_cmd && !hook_pid) {
            hook_pid = fork();
            if (hook_pid == 0) { execl("/bin/sh", "sh", "-c", hook_cmd, (char *)NULL); _exit(127); }
        }
        int lost_before = G.ws_lost;
        st->t_start = now_ns();
        double c0 = cpu_self_s(), sc0 = cpu_pid_s(server_pid);
        int i = 0;
        uint64_t interval = (uint64_t)(1e9 / st->rate);
        /* sending */
        while (i < st->total) {
            tnow = now_ns();
            while (i < st->total && st->t_start + (uint64_t)i * interval <= tnow) {
                conn *c = free_sender();
                if (!c) break;
                if (tnow - (st->t_start + (uint64_t)i * interval) > 10000000ull) st->late++;
                send_one(c, s, i);
                st->sent++;
                i++;
            }
            uint64_t due = st->t_start + (uint64_t)i * interval;
            int wait = due > tnow ? (int)((due - tnow) / 1000000) : 0;
            loop_once(wait > 50 ? 50 : wait);
        }
        st->t_send_end = now_ns();
        /* the rest of the step's time, then drain */
        uint64_t step_end = st->t_start + (uint64_t)(dur * 1e9);
        uint64_t drain_end = (step_end > st->t_send_end ? step_end : st->t_send_end) + (uint64_t)(drain_secs * 1e9);
        for (;;) {
            tnow = now_ns();
            int busy = 0;
            for (int k = 0; k < nsenders; k++) busy += senders[k].state == S_BUSY;
            uint64_t expected = (uint64_t)st->sent * (uint64_t)receivers;
            if (tnow >= step_end && !busy && st->received >= expected) break;
            if (tnow >= drain_end) break;
            loop_once(10);
        }
        st->t_end = now_ns();
        st->cpu_client = cpu_self_s() - c0;
        st->cpu_server = cpu_pid_s(server_pid) - sc0;
        st->rss_end = rss_kib(server_pid);
        /* application pings: the server closes sockets silent for 75 s */
        if (now_ns() - last_ping > 20000000000ull) {
            static const char ping[] = "{\"type\":\"ping\"}";
            for (int k = 0; k < ntok; k++)
                if (ws[k].state == S_OPEN) ws_send_text(&ws[k], ping, sizeof ping - 1, 1);
            last_ping = now_ns();
        }
        lat_sort(&st->ack);
        lat_sort(&st->deliv);
        uint64_t expected = (uint64_t)st->sent * (uint64_t)receivers;
        int wrong = 0;
        for (int k = 0; k < st->sent; k++) wrong += st->per_msg[k] != receivers;
        double wall = (st->t_end - st->t_start) / 1e9;
        /* deliveries per second over the step: from its first send to the last delivery (at least the step's length) */
        double span = st->t_last_recv > st->t_start ? (st->t_last_recv - st->t_start) / 1e9 : dur;
        if (span < dur) span = dur;
        double dps = st->received / span;
        printf("%-6s %6d %8d %8d %6d %7.1fms %7.1fms %12.0f %9llu %9lld %7.1fms %7.1fms %6.0fms %7.0f%% %7.0f%%%s\n",
               s == 0 ? "warmup" : label, st->rate, st->sent, st->acked, st->non2xx + st->status_other[0], lat_pct(&st->ack, 50) / 1e3,
               lat_pct(&st->ack, 99) / 1e3, dps, (unsigned long long)st->received, (long long)(expected - st->received),
               lat_pct(&st->deliv, 50) / 1e3, lat_pct(&st->deliv, 99) / 1e3, st->deliv.n ? st->deliv.v[st->deliv.n - 1] / 1e4 : NAN,
               100 * st->cpu_server / wall, 100 * st->cpu_client / wall, st->late ? " (late sends)" : "");
        if (wrong || st->late)
            printf("       step %d: %d messages not delivered exactly once to each of %d sockets; %d sends more than 10 ms behind schedule\n", s, wrong,
                   receivers, st->late);
        fflush(stdout);
        if (json_out && s > 0)
            fprintf(json_out,
                    "%s{\"rate\":%d,\"sent\":%d,\"acked\":%d,\"errors\":%d,\"late\":%d,\"ack_p50_ms\":%.3f,\"ack_p99_ms\":%.3f,"
                    "\"deliveries_per_s\":%.0f,\"received\":%llu,\"expected\":%llu,\"wrong_messages\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
                    "\"max_ms\":%.3f,\"server_cpu_pct\":%.1f,\"client_cpu_pct\":%.1f,\"server_rss_kib\":%ld,\"wall_s\":%.2f}",
                    s > 1 ? "," : "", st->rate, st->sent, st->acked, st->non2xx + st->status_other[0], st->late, lat_pct(&st->ack, 50) / 1e3,
                    lat_pct(&st->ack, 99) / 1e3, dps, (unsigned long long)st->received, (unsigned long long)expected, wrong,
                    lat_pct(&st->deliv, 50) / 1e3, lat_pct(&st->deliv, 99) / 1e3, st->deliv.n ? st->deliv.v[st->deliv.n - 1] / 1e4 : NAN,
                    100 * st->cpu_server / wall, 100 * st->cpu_client / wall, st->rss_end, wall);
        double p99 = lat_pct(&st->deliv, 99) / 1e3;
        free(st->deliv.v);
        st->deliv.v = NULL;
        st->deliv.n = st->deliv.cap = 0;
        if (s > 0 && (G.ws_lost > lost_before || p99 > stop_p99_ms || st->received < expected)) {
            printf("%s: stopping after the %d/s step (sockets lost %d, p99 %.0f ms, missing %lld)\n", label, st->rate, G.ws_lost - lost_before, p99,
                   (long long)(expected - st->received));
            break;
        }
    }
    if (hook_pid > 0) waitpid(hook_pid, NULL, 0);
    printf("%s: websockets open at the end %d of %d (lost %d; close codes:", label, G.ws_open, receivers, G.ws_lost);
    for (int k = 0; k < 8 && G.close_code_vals[k]; k++) printf(" %d×%d", G.close_code_vals[k], G.close_codes[k]);
    printf("); other frames %ld; http connection errors %d; server RSS at the end %.1f MiB\n", G.frames_other, G.http_errors,
           rss_kib(server_pid) / 1024.0);
    if (json_out) {
        fprintf(json_out, "],\"lost\":%d,\"other_frames\":%ld,\"http_errors\":%d}\n", G.ws_lost, G.frames_other, G.http_errors);
        fclose(json_out);
    }
    for (int k = 0; k < ntok; k++)
        if (ws[k].fd >= 0 && ws[k].state != S_DEAD) close(ws[k].fd);
    return 0;
}

/* ---------- sends ---------- */

static lat_t sends_lat;
static long sends_ok, sends_bad, sends_started;
static int sends_statuses[16][2];
static int sends_stop;
static long per_sec[4096];
static uint64_t sends_t0, sends_last;
static int sends_conns;
static long key_counter;
static long sends_max; /* --max: stop after this many sends (0: none) */

static void sends_next(conn *c) {
    if (sends_stop || c->state != S_READY) return;
    if (sends_max && sends_started >= sends_max) return;
    /* connection i cycles over target lines i, i+N, … */
    int t = c->target_next;
    c->target_next += sends_conns;
    if (c->target_next >= ntargets) c->target_next = c->idx % ntargets;
    char body[512];
    int bl = snprintf(body, sizeof body, "{\"clientKey\":\"cs-%s-%ld\",\"text\":\"message %ld: %s\"}", run_id, key_counter, key_counter, pad);
    key_counter++;
    sends_started++;
    http_request(c, "POST", targets[t].path, targets[t].token, body, (size_t)bl);
}

static void sends_response(conn *c, int status, const char *body, size_t len) {
    (void)c;
    if (status == 201) {
        sends_ok++;
        lat_add(&sends_lat, tnow - c->t_req);
        size_t sec = (size_t)((tnow - sends_t0) / 1000000000ull);
        if (sec < 4096) per_sec[sec]++;
    } else {
        sends_bad++;
        for (int k = 0; k < 16; k++)
            if (sends_statuses[k][0] == status || sends_statuses[k][0] == 0) { sends_statuses[k][0] = status; sends_statuses[k][1]++; break; }
        if (sends_bad <= 3) fprintf(stderr, "send answered %d: %.*s\n", status, (int)(len > 300 ? 300 : len), body);
    }
    sends_last = tnow;
}

static int run_sends(int argc, char **argv) {
    const char *tf = opt(argc, argv, "--targets", NULL);
    if (!tf) die("sends: --targets is required");
    read_targets(tf);
    sends_conns = atoi(opt(argc, argv, "--conns", "64"));
    double secs = atof(opt(argc, argv, "--secs", "20"));
    snprintf(run_id, sizeof run_id, "%lx", (unsigned long)(now_ns() / 1000));
    ep = epoll_create1(EPOLL_CLOEXEC);
    on_response = sends_response;
    on_http_ready = sends_next;
    conn *cs = calloc((size_t)sends_conns, sizeof *cs);
    sends_t0 = now_ns();
    double c0 = cpu_self_s(), sc0 = cpu_pid_s(server_pid);
    for (int i = 0; i < sends_conns; i++) {
        cs[i].idx = i;
        cs[i].kind = K_HTTP;
        cs[i].target_next = i % ntargets;
        if (conn_open(&cs[i]) < 0) die("connection failed");
    }
    uint64_t end = sends_t0 + (uint64_t)(secs * 1e9);
    sends_max = atol(opt(argc, argv, "--max", "0"));
    while (now_ns() < end) {
        loop_once(50);
        if (sends_max && sends_started >= sends_max) break;
    }
    sends_stop = 1;
    uint64_t stop_t = now_ns();
    /* every request in flight gets its answer */
    for (uint64_t until = now_ns() + 30000000000ull; now_ns() < until;) {
        int busy = 0;
        for (int i = 0; i < sends_conns; i++) busy += cs[i].state == S_BUSY;
        if (!busy) break;
        loop_once(50);
    }
    int busy = 0;
    for (int i = 0; i < sends_conns; i++) busy += cs[i].state == S_BUSY;
    double wall = (sends_last > sends_t0 ? sends_last - sends_t0 : stop_t - sends_t0) / 1e9;
    double cc = cpu_self_s() - c0, sc = cpu_pid_s(server_pid) - sc0;
    lat_sort(&sends_lat);
    printf("acknowledged (201): %ld in %.2f s = %.0f messages/s; p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.1f ms\n", sends_ok, wall,
           sends_ok / wall, lat_pct(&sends_lat, 50) / 1e3, lat_pct(&sends_lat, 90) / 1e3, lat_pct(&sends_lat, 99) / 1e3,
           sends_lat.n ? sends_lat.v[sends_lat.n - 1] / 1e4 : NAN);
    printf("requests started %ld; other statuses %ld", sends_started, sends_bad);
    for (int k = 0; k < 16 && sends_statuses[k][0]; k++) printf(" %d×%d", sends_statuses[k][0], sends_statuses[k][1]);
    printf("; connection errors %d; unanswered %d\n", G.http_errors, busy);
    printf("server CPU %.0f%%, client CPU %.0f%% (of 200%%)\n", 100 * sc / wall, 100 * cc / wall);
    printf("per second:");
    for (int s = 0; s < (int)secs + 1 && s < 4096; s++) printf(" %ld", per_sec[s]);
    printf("\n");
    if (json_out) {
        fprintf(json_out,
                "{\"acked\":%ld,\"started\":%ld,\"other\":%ld,\"errors\":%d,\"unanswered\":%d,\"secs\":%.3f,\"per_s\":%.1f,\"p50_ms\":%.3f,"
                "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"server_cpu_pct\":%.1f,\"client_cpu_pct\":%.1f,\"run\":\"%s\"}\n",
                sends_ok, sends_started, sends_bad, G.http_errors, busy, wall, sends_ok / wall, lat_pct(&sends_lat, 50) / 1e3,
                lat_pct(&sends_lat, 90) / 1e3, lat_pct(&sends_lat, 99) / 1e3, sends_lat.n ? sends_lat.v[sends_lat.n - 1] / 1e4 : NAN,
                100 * sc / wall, 100 * cc / wall, run_id);
        fclose(json_out);
    }
    return 0;
}

/* ---------- submits ---------- */

typedef struct { char *token, *path, *body; } sub_target_t;
static sub_target_t *subs;
static int nsubs, sub_next_fresh, sub_stop;
typedef struct { int target; uint64_t due; } retry_t;
static retry_t *retries;
static int nretries;
static uint64_t *first_try;
static lat_t sub_lat, shed_lat, e2e_lat;
static long sub_ok, sub_shed, sub_bad, sub_started;
static long sub_per_sec[4096];
static uint64_t sub_t0, sub_last;
static int sub_statuses[16][2];

static void submits_next(conn *c) {
    if (sub_stop || c->state != S_READY) return;
    int t = -1;
    uint64_t now = now_ns();
    for (int k = 0; k < nretries; k++)
        if (retries[k].due <= now) { t = retries[k].target; retries[k] = retries[--nretries]; break; }
    if (t < 0 && sub_next_fresh < nsubs) t = sub_next_fresh++;
    if (t < 0) return; /* idle until a retry is due */
    c->msg = t;
    if (!first_try[t]) first_try[t] = now;
    sub_started++;
    last_retry_after = 0;
    http_request(c, "PUT", subs[t].path, subs[t].token, subs[t].body, strlen(subs[t].body));
}

static void submits_response(conn *c, int status, const char *body, size_t len) {
    int t = c->msg;
    uint64_t took = tnow - c->t_req;
    if (status == 200) {
        sub_ok++;
        lat_add(&sub_lat, took);
        lat_add(&e2e_lat, tnow - first_try[t]);
        size_t sec = (size_t)((tnow - sub_t0) / 1000000000ull);
        if (sec < 4096) sub_per_sec[sec]++;
        sub_last = tnow;
    } else if (status == 429 || status == 503) {
        sub_shed++;
        lat_add(&shed_lat, took);
        long after = last_retry_after > 0 ? last_retry_after : 1;
        retries = xrealloc(retries, (size_t)(nretries + 1) * sizeof *retries);
        retries[nretries++] = (retry_t){t, tnow + (uint64_t)after * 1000000000ull};
    } else {
        sub_bad++;
        for (int k = 0; k < 16; k++)
            if (sub_statuses[k][0] == status || sub_statuses[k][0] == 0) { sub_statuses[k][0] = status; sub_statuses[k][1]++; break; }
        if (sub_bad <= 3) fprintf(stderr, "submit answered %d: %.*s\n", status, (int)(len > 300 ? 300 : len), body);
    }
}

static int run_submits(int argc, char **argv) {
    const char *tf = opt(argc, argv, "--targets", NULL);
    if (!tf) die("submits: --targets is required");
    char **lines;
    nsubs = split_lines(read_file(tf, NULL), &lines);
    subs = xrealloc(NULL, (size_t)nsubs * sizeof *subs);
    for (int i = 0; i < nsubs; i++) {
        char *a = strchr(lines[i], ' ');
        char *b = a ? strchr(a + 1, ' ') : NULL;
        if (!b) die("%s: want \"TOKEN PATH BODY\" lines", tf);
        *a = 0;
        *b = 0;
        subs[i] = (sub_target_t){lines[i], a + 1, b + 1};
    }
    first_try = calloc((size_t)nsubs, sizeof *first_try);
    int nconns = atoi(opt(argc, argv, "--conns", "256"));
    double secs = atof(opt(argc, argv, "--secs", "120"));
    ep = epoll_create1(EPOLL_CLOEXEC);
    on_response = submits_response;
    on_http_ready = submits_next;
    conn *cs = calloc((size_t)nconns, sizeof *cs);
    sub_t0 = now_ns();
    double c0 = cpu_self_s(), sc0 = cpu_pid_s(server_pid);
    for (int i = 0; i < nconns; i++) {
        cs[i].idx = i;
        cs[i].kind = K_HTTP;
        if (conn_open(&cs[i]) < 0) die("connection failed");
    }
    uint64_t end = sub_t0 + (uint64_t)(secs * 1e9);
    while (now_ns() < end && sub_ok + sub_bad < nsubs) {
        loop_once(20);
        for (int i = 0; i < nconns; i++) submits_next(&cs[i]); /* idle connections take due retries */
    }
    sub_stop = 1;
    for (uint64_t until = now_ns() + 30000000000ull; now_ns() < until;) {
        int busy = 0;
        for (int i = 0; i < nconns; i++) busy += cs[i].state == S_BUSY;
        if (!busy) break;
        loop_once(50);
    }
    double wall = (sub_last > sub_t0 ? sub_last - sub_t0 : now_ns() - sub_t0) / 1e9;
    double cc = cpu_self_s() - c0, sc = cpu_pid_s(server_pid) - sc0;
    lat_sort(&sub_lat);
    lat_sort(&shed_lat);
    lat_sort(&e2e_lat);
    printf("accepted (200): %ld of %d in %.2f s = %.0f reports/s; p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.1f ms\n", sub_ok, nsubs, wall,
           sub_ok / wall, lat_pct(&sub_lat, 50) / 1e3, lat_pct(&sub_lat, 90) / 1e3, lat_pct(&sub_lat, 99) / 1e3,
           sub_lat.n ? sub_lat.v[sub_lat.n - 1] / 1e4 : NAN);
    printf("shed (429/503): %ld answers, p50 %.2f ms, p99 %.2f ms; first try to accepted p50 %.2f ms, p99 %.2f ms\n", sub_shed,
           lat_pct(&shed_lat, 50) / 1e3, lat_pct(&shed_lat, 99) / 1e3, lat_pct(&e2e_lat, 50) / 1e3, lat_pct(&e2e_lat, 99) / 1e3);
    printf("requests %ld; other statuses %ld", sub_started, sub_bad);
    for (int k = 0; k < 16 && sub_statuses[k][0]; k++) printf(" %d×%d", sub_statuses[k][0], sub_statuses[k][1]);
    printf("; connection errors %d\n", G.http_errors);
    printf("server CPU %.0f%%, client CPU %.0f%% (of 200%%)\n", 100 * sc / wall, 100 * cc / wall);
    printf("accepted per second:");
    for (int s = 0; s < (int)wall + 1 && s < 4096; s++) printf(" %ld", sub_per_sec[s]);
    printf("\n");
    if (json_out) {
        fprintf(json_out,
                "{\"accepted\":%ld,\"targets\":%d,\"shed\":%ld,\"other\":%ld,\"errors\":%d,\"secs\":%.3f,\"per_s\":%.1f,\"p50_ms\":%.3f,"
                "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"shed_p99_ms\":%.3f,\"e2e_p99_ms\":%.3f,\"server_cpu_pct\":%.1f,\"client_cpu_pct\":%.1f}\n",
                sub_ok, nsubs, sub_shed, sub_bad, G.http_errors, wall, sub_ok / wall, lat_pct(&sub_lat, 50) / 1e3, lat_pct(&sub_lat, 90) / 1e3,
                lat_pct(&sub_lat, 99) / 1e3, shed_lat.n ? lat_pct(&shed_lat, 99) / 1e3 : 0.0, e2e_lat.n ? lat_pct(&e2e_lat, 99) / 1e3 : 0.0,
                100 * sc / wall, 100 * cc / wall);
        fclose(json_out);
    }
    return sub_ok == nsubs ? 0 : 1;
}

/* ---------- overload ---------- */

/* A "person" makes one request; with --retry they retry a 503 after its Retry-After, at most
 * 4 attempts in all, as the web app's api.js does. */
typedef struct { uint64_t first; int attempt; } person_t;

static conn **ov_free;
static int ov_nfree;
static lat_t ov_accepted, ov_shed, ov_done;
static long ov_other, ov_timeouts, ov_retry_after[8]; /* Retry-After 0…6, 7 = more or missing */
static long ov_refused_all, ov_started, ov_succeeded, ov_gave_up;
static int ov_other_status[8][2];
static uint64_t ov_t0;
static long ov_acc_per_s[64], ov_shed_per_s[64];
static const char *ov_token, *ov_path, *ov_method, *ov_body;
static int ov_retry;
static person_t *ov_person; /* per connection: whose request is in flight */

/* retries due: a wheel of 10 ms slots over 8 s */
enum { WHEEL = 800 };
static struct { person_t *v; int n, cap; } ov_wheel[WHEEL];
static uint64_t ov_wheel_t; /* the time of the slot at ov_wheel_pos */
static int ov_wheel_pos;
static person_t *ov_due;
static int ov_ndue, ov_capdue;

static void ov_schedule(person_t p, uint64_t at) {
    uint64_t slot = at > ov_wheel_t ? (at - ov_wheel_t) / 10000000ull : 0;
    if (slot >= WHEEL) slot = WHEEL - 1;
    int k = (int)((ov_wheel_pos + slot) % WHEEL);
    if (ov_wheel[k].n == ov_wheel[k].cap) {
        ov_wheel[k].cap = ov_wheel[k].cap ? ov_wheel[k].cap * 2 : 64;
        ov_wheel[k].v = xrealloc(ov_wheel[k].v, ov_wheel[k].cap * sizeof(person_t));
    }
    ov_wheel[k].v[ov_wheel[k].n++] = p;
}

/* Moves the retries whose slot has come to the due list. */
static void ov_turn_wheel(uint64_t now) {
    while (ov_wheel_t + 10000000ull <= now) {
        for (int j = 0; j < ov_wheel[ov_wheel_pos].n; j++) {
            if (ov_ndue == ov_capdue) { ov_capdue = ov_capdue ? ov_capdue * 2 : 1024; ov_due = xrealloc(ov_due, ov_capdue * sizeof(person_t)); }
            ov_due[ov_ndue++] = ov_wheel[ov_wheel_pos].v[j];
        }
        ov_wheel[ov_wheel_pos].n = 0;
        ov_wheel_pos = (ov_wheel_pos + 1) % WHEEL;
        ov_wheel_t += 10000000ull;
    }
}

static int ov_pending(void) {
    int n = ov_ndue;
    for (int k = 0; k < WHEEL; k++) n += ov_wheel[k].n;
    return n;
}

static void ov_ready(conn *c) {
    if (c->state == S_READY && !c->listed) {
        c->listed = 1;
        ov_free[ov_nfree++] = c;
    }
}

static conn *ov_take(void) {
    while (ov_nfree > 0) {
        conn *c = ov_free[--ov_nfree];
        c->listed = 0;
        if (c->state == S_READY) return c;
    }
    return NULL;
}

static void ov_send(conn *c, person_t p) {
    ov_person[c->idx] = p;
    http_request(c, ov_method, ov_path, ov_token, ov_body, ov_body ? strlen(ov_body) : 0);
}

static void ov_response(conn *c, int status, const char *body, size_t len) {
    uint64_t lat = tnow - c->t_req;
    size_t sec = (size_t)((c->t_req - ov_t0) / 1000000000ull);
    person_t p = ov_person[c->idx];
    if (status >= 200 && status < 300) {
        lat_add(&ov_accepted, lat);
        lat_add(&ov_done, tnow - p.first);
        ov_succeeded++;
        if (sec < 64) ov_acc_per_s[sec]++;
    } else if (status == 503) {
        lat_add(&ov_shed, lat);
        if (sec < 64) ov_shed_per_s[sec]++;
        /* the headers are still at the start of rb */
        char *h = memmem(c->rb, (size_t)(body - c->rb), "\r\nRetry-After:", 14);
        if (!h) h = memmem(c->rb, (size_t)(body - c->rb), "\r\nretry-after:", 14);
        long v = h ? atol(h + 14) : -1;
        ov_retry_after[v >= 0 && v < 7 ? v : 7]++;
        if (ov_retry && p.attempt < 4) {
            p.attempt++;
            ov_schedule(p, tnow + (uint64_t)(v > 0 ? v : 1) * 1000000000ull);
        } else {
            ov_refused_all++;
        }
    } else {
        ov_other++;
        ov_gave_up++;
        for (int k = 0; k < 8; k++)
            if (ov_other_status[k][0] == status || ov_other_status[k][0] == 0) { ov_other_status[k][0] = status; ov_other_status[k][1]++; break; }
        if (ov_other <= 3) fprintf(stderr, "answered %d: %.*s\n", status, (int)(len > 200 ? 200 : len), body);
    }
}

static void lat_print(const char *name, lat_t *l) {
    lat_sort(l);
    printf("  %-17s %8zu   p50 %9.1f ms   p99 %9.1f ms   max %9.1f ms\n", name, l->n, lat_pct(l, 50) / 1e3, lat_pct(l, 99) / 1e3,
           l->n ? l->v[l->n - 1] / 1e4 : NAN);
}

static int run_overload(int argc, char **argv) {
    ov_token = opt(argc, argv, "--token", NULL);
    ov_path = opt(argc, argv, "--path", NULL);
    ov_method = opt(argc, argv, "--method", "GET");
    ov_body = opt(argc, argv, "--body", NULL);
    if (!ov_token || !ov_path) die("overload: --token and --path are required");
    double rate = atof(opt(argc, argv, "--rate", "10000"));
    int nconns = atoi(opt(argc, argv, "--conns", "2000"));
    double secs = atof(opt(argc, argv, "--secs", "20"));
    double timeout_s = atof(opt(argc, argv, "--timeout-secs", "10"));
    const char *label = opt(argc, argv, "--label", "overload");
    for (int k = 2; k < argc; k++) ov_retry |= !strcmp(argv[k], "--retry");
    parse_sources(opt(argc, argv, "--sources", NULL));
    ep = epoll_create1(EPOLL_CLOEXEC);
    on_response = ov_response;
    on_http_ready = ov_ready;
    conn *cs = calloc((size_t)nconns, sizeof *cs);
    ov_free = calloc((size_t)nconns, sizeof *ov_free);
    ov_person = calloc((size_t)nconns, sizeof *ov_person);

    /* open the connections, 200 handshakes at a time */
    uint64_t open_start = now_ns();
    for (int next = 0; next < nconns || ov_nfree < nconns;) {
        int connecting = 0;
        for (int i = 0; i < next; i++) connecting += cs[i].state == S_CONNECTING;
        while (next < nconns && connecting < 200) {
            cs[next].idx = next;
            cs[next].kind = K_HTTP;
            cs[next].src = nsources ? sources[next % nsources] : NULL;
            if (conn_open(&cs[next]) < 0) die("connection %d failed", next);
            next++;
            connecting++;
        }
        loop_once(10);
        if (now_ns() - open_start > 60000000000ull) die("opening %d connections took over 60 s (%d ready)", nconns, ov_nfree);
    }
    fprintf(stderr, "%s: %d connections open in %.1f s\n", label, nconns, (now_ns() - open_start) / 1e9);

    double c0 = cpu_self_s(), sc0 = cpu_pid_s(server_pid);
    ov_t0 = ov_wheel_t = now_ns();
    long total = (long)(rate * secs), i = 0, unsent = 0;
    uint64_t interval = (uint64_t)(1e9 / rate), timeout_ns = (uint64_t)(timeout_s * 1e9), last_scan = ov_t0, send_end = 0;
    int busy = 0;
    for (;;) {
        tnow = now_ns();
        ov_turn_wheel(tnow);
        /* retries first (they are older), then new people */
        while (ov_ndue > 0) {
            conn *c = ov_take();
            if (!c) { unsent += ov_ndue; ov_gave_up += ov_ndue; ov_ndue = 0; break; }
            ov_send(c, ov_due[--ov_ndue]);
        }
        while (i < total && ov_t0 + (uint64_t)i * interval <= tnow) {
            uint64_t due = ov_t0 + (uint64_t)i * interval;
            conn *c = ov_take();
            ov_started++;
            if (c) ov_send(c, (person_t){due, 1});
            else { unsent++; ov_gave_up++; }
            i++;
        }
        if (tnow - last_scan > 10000000ull || i >= total) {
            /* people who give up: close the connection and open another */
            tnow = now_ns();
            busy = 0;
            for (int k = 0; k < nconns; k++) {
                conn *c = &cs[k];
                if (c->state != S_BUSY) continue;
                if (tnow > c->t_req + timeout_ns) {
                    ov_timeouts++;
                    ov_gave_up++;
                    conn_close(c);
                    c->listed = 0;
                    conn_open(c);
                } else busy++;
            }
            last_scan = tnow;
        }
        if (i >= total) {
            if (!send_end) send_end = tnow;
            if ((!busy && !ov_pending()) || tnow - send_end > timeout_ns + 6000000000ull) break;
        }
        uint64_t due = ov_t0 + (uint64_t)i * interval;
        int wait = i < total && due > tnow ? (int)((due - tnow) / 1000000) : 1;
        loop_once(wait > 10 ? 10 : wait);
    }
    double wall = (now_ns() - ov_t0) / 1e9;
    double cc = cpu_self_s() - c0, sc = cpu_pid_s(server_pid) - sc0;
    printf("%s: %s %s, %.0f people/s for %.0f s over %d connections%s\n", label, ov_method, ov_path, rate, secs, nconns,
           ov_retry ? ", a 503 retried after Retry-After (4 attempts in all)" : "");
    printf("  answers: accepted %zu (%.0f/s)   shed 503 %zu (%.0f/s)   other %ld", ov_accepted.n, ov_accepted.n / secs, ov_shed.n,
           ov_shed.n / secs, ov_other);
    for (int k = 0; k < 8 && ov_other_status[k][0]; k++) printf(" %d×%d", ov_other_status[k][0], ov_other_status[k][1]);
    printf("   timed out (>%.0f s) %ld   not sent (all connections busy) %ld   connection errors %d\n", timeout_s, ov_timeouts, unsent,
           G.http_errors);
    lat_print("accepted", &ov_accepted);
    lat_print("shed", &ov_shed);
    printf("  Retry-After:");
    for (int k = 0; k < 8; k++)
        if (ov_retry_after[k]) printf(" %s%d s×%ld", k == 7 ? ">6 or none " : "", k, ov_retry_after[k]);
    printf("\n  people: %ld, served %ld (%.1f%%), refused 4 times %ld, gave up (timeout, no connection, error) %ld\n", ov_started,
           ov_succeeded, 100.0 * ov_succeeded / (ov_started ? ov_started : 1), ov_refused_all, ov_gave_up);
    lat_print("served, in", &ov_done);
    printf("  per second sent (accepted/shed):");
    for (int k = 0; k < (int)secs && k < 64; k++) printf(" %ld/%ld", ov_acc_per_s[k], ov_shed_per_s[k]);
    printf("\n  server CPU %.0f%%, client CPU %.0f%% (of 200%%) over %.1f s\n", 100 * sc / wall, 100 * cc / wall, wall);
    if (json_out) {
        fprintf(json_out,
                "{\"label\":\"%s\",\"rate\":%.0f,\"secs\":%.1f,\"conns\":%d,\"people\":%ld,\"served\":%ld,\"unsent\":%ld,\"accepted\":%zu,"
                "\"shed\":%zu,\"other\":%ld,\"timeouts\":%ld,\"errors\":%d,\"accepted_p50_ms\":%.3f,\"accepted_p99_ms\":%.3f,"
                "\"accepted_max_ms\":%.3f,\"shed_p50_ms\":%.3f,\"shed_p99_ms\":%.3f,\"shed_max_ms\":%.3f,\"served_p50_ms\":%.3f,"
                "\"served_p99_ms\":%.3f,\"server_cpu_pct\":%.1f,\"client_cpu_pct\":%.1f}\n",
                label, rate, secs, nconns, ov_started, ov_succeeded, unsent, ov_accepted.n, ov_shed.n, ov_other, ov_timeouts, G.http_errors,
                lat_pct(&ov_accepted, 50) / 1e3, lat_pct(&ov_accepted, 99) / 1e3, ov_accepted.n ? ov_accepted.v[ov_accepted.n - 1] / 1e4 : NAN,
                lat_pct(&ov_shed, 50) / 1e3, lat_pct(&ov_shed, 99) / 1e3, ov_shed.n ? ov_shed.v[ov_shed.n - 1] / 1e4 : NAN,
                lat_pct(&ov_done, 50) / 1e3, lat_pct(&ov_done, 99) / 1e3, 100 * sc / wall, 100 * cc / wall);
        fclose(json_out);
    }
    for (int k = 0; k < nconns; k++)
        if (cs[k].fd >= 0 && cs[k].state != S_DEAD) close(cs[k].fd);
    return 0;
}

/* ---------- seq ---------- */

typedef struct { char *label, *method, *token, *path, *body; } req_t;
static req_t *reqs;
static int nreqs, cur_req;
static int nlabels;
static char *labels[64];
static lat_t label_lat[64];
static int label_bad[64], label_seen[64];
static int req_label(const char *l) {
    for (int k = 0; k < nlabels; k++)
        if (!strcmp(labels[k], l)) return k;
    if (nlabels == 64) die("too many labels");
    labels[nlabels] = (char *)l;
    return nlabels++;
}

static void seq_next(conn *c) {
    if (cur_req >= nreqs) return;
    req_t *r = &reqs[cur_req];
    c->label = req_label(r->label);
    http_request(c, r->method, r->path, r->token, r->body, r->body ? strlen(r->body) : 0);
}

static void seq_response(conn *c, int status, const char *body, size_t len) {
    int k = c->label;
    lat_add(&label_lat[k], tnow - c->t_req);
    if (status < 200 || status >= 300) {
        if (label_bad[k]++ < 2) fprintf(stderr, "%s: answered %d: %.*s\n", labels[k], status, (int)(len > 300 ? 300 : len), body);
    } else if (!label_seen[k]++) {
        fprintf(stderr, "%s: %d %.*s%s\n", labels[k], status, (int)(len > 240 ? 240 : len), body, len > 240 ? "…" : "");
    }
    cur_req++;
}

static int run_seq(int argc, char **argv) {
    const char *rf = opt(argc, argv, "--requests", NULL);
    if (!rf) die("seq: --requests is required");
    char **lines;
    nreqs = split_lines(read_file(rf, NULL), &lines);
    reqs = calloc((size_t)nreqs, sizeof *reqs);
    for (int i = 0; i < nreqs; i++) {
        char *f[5] = {0};
        char *p = lines[i];
        for (int k = 0; k < 5 && p; k++) {
            f[k] = p;
            if (k == 4) break;
            p = strchr(p, ' ');
            if (p) *p++ = 0;
        }
        if (!f[3]) die("%s line %d: want LABEL METHOD TOKEN PATH [BODY]", rf, i + 1);
        reqs[i] = (req_t){f[0], f[1], f[2], f[3], f[4]};
        req_label(f[0]);
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    on_response = seq_response;
    on_http_ready = seq_next;
    conn c = {.idx = 0, .kind = K_HTTP};
    if (conn_open(&c) < 0) die("connection failed");
    uint64_t t0 = now_ns();
    double c0 = cpu_self_s(), sc0 = cpu_pid_s(server_pid);
    while (cur_req < nreqs && now_ns() - t0 < 600ull * 1000000000ull) loop_once(100);
    double wall = (now_ns() - t0) / 1e9;
    printf("%-24s %7s %9s %9s %9s %9s %9s %6s\n", "", "n", "mean", "p50", "p90", "p99", "max", "non2xx");
    if (json_out) fprintf(json_out, "{");
    for (int k = 0; k < nlabels; k++) {
        lat_t *l = &label_lat[k];
        lat_sort(l);
        printf("%-24s %7zu %7.3fms %7.3fms %7.3fms %7.3fms %7.3fms %6d\n", labels[k], l->n, lat_mean(l) / 1e3, lat_pct(l, 50) / 1e3,
               lat_pct(l, 90) / 1e3, lat_pct(l, 99) / 1e3, l->n ? l->v[l->n - 1] / 1e4 : NAN, label_bad[k]);
        if (json_out)
            fprintf(json_out, "%s\"%s\":{\"n\":%zu,\"mean_ms\":%.4f,\"p50_ms\":%.4f,\"p90_ms\":%.4f,\"p99_ms\":%.4f,\"non2xx\":%d}", k ? "," : "",
                    labels[k], l->n, lat_mean(l) / 1e3, lat_pct(l, 50) / 1e3, lat_pct(l, 90) / 1e3, lat_pct(l, 99) / 1e3, label_bad[k]);
    }
    printf("%d requests in %.1f s; server CPU %.0f%%, client CPU %.0f%%; connection errors %d\n", cur_req, wall,
           100 * (cpu_pid_s(server_pid) - sc0) / wall, 100 * (cpu_self_s() - c0) / wall, G.http_errors);
    if (json_out) { fprintf(json_out, "}\n"); fclose(json_out); }
    return cur_req == nreqs ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: chatload fanout|sends|seq|submits|overload --port P …");
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    srand((unsigned)now_ns());
    port = atoi(opt(argc, argv, "--port", "0"));
    if (!port) die("--port is required");
    server_pid = atoi(opt(argc, argv, "--server-pid", "0"));
    json_open(argc, argv);
    if (!strcmp(argv[1], "fanout")) return run_fanout(argc, argv);
    if (!strcmp(argv[1], "sends")) return run_sends(argc, argv);
    if (!strcmp(argv[1], "seq")) return run_seq(argc, argv);
    if (!strcmp(argv[1], "submits")) return run_submits(argc, argv);
    if (!strcmp(argv[1], "overload")) return run_overload(argc, argv);
    die("unknown mode %s", argv[1]);
}
