// The connection to the cluster: one WebSocket to one node at a time,
// speaking Parley's browser protocol (JSON frames, see transport/web.go).
//
// Failover: the welcome lists every node's HTTP address. When the socket
// closes, or the node has said nothing for GIVE_UP_MS (a ping goes out
// after PING_MS of silence, like the Go SDK's probe), the page moves to
// the next node at once and presents the session token it keeps in memory
// (the HttpOnly cookie belongs to the first node's origin only). Every
// subscription resumes from its last delivered seq + 1, and events are
// accepted only in seq order, so nothing is missed or shown twice. Sends
// wait in an outbox with their message ids until a node acknowledges
// them; a send retried after a failover is deduplicated by the server.

import { newMsgID } from "./msgid.js";

const PING_MS = 250;
const GIVE_UP_MS = 1000;
const OPEN_TIMEOUT_MS = 1500;

/** Errors the server may answer again with success if asked later. */
const RETRYABLE = new Set(["unavailable", "rate_limited"]);

export class Conn {
  constructor(events) {
    this.ev = events; // onState, onWelcome, onSent, onSendFailed, onLoggedOut
    this.home = location.host;
    this.nodes = [location.host];
    this.addr = null;
    this.user = null;
    this.token = null; // in memory only
    this.state = "connecting";
    this.ws = null;
    this.welcomed = false;
    this.nextId = 1;
    this.pending = new Map();
    this.nextSub = 1;
    this.subs = new Map(); // local id -> sub
    this.outbox = new Map(); // message id -> entry
    this.waiters = [];
    this.heard = 0;
    this.pingOut = false;
    this.attempts = 0;
    this.nodeId = 0;
    setInterval(() => this.probe(), 100);
  }

  /** start connects to the page's own node (the cookie logs in). */
  start() {
    this.connect(this.home);
  }

  /** login sets credentials and reconnects with them. */
  login(user, token) {
    this.user = user;
    this.token = token;
    this.reconnectNow(this.home);
  }

  logout() {
    this.user = null;
    this.token = null;
    this.reconnectNow(this.home);
  }

  reconnectNow(addr) {
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.failPending();
    this.connect(addr);
  }

  connect(addr) {
    this.addr = addr;
    this.welcomed = false;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    let ws;
    try {
      ws = new WebSocket(scheme + addr + "/ws");
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.heard = Date.now();
    const timer = setTimeout(() => {
      if (this.ws === ws && !this.welcomed) this.lost(ws);
    }, OPEN_TIMEOUT_MS);
    ws.onopen = () => {
      const hello = { Version: 1 };
      if (this.user && this.token) Object.assign(hello, { User: this.user, Token: this.token });
      ws.send(JSON.stringify({ hello }));
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      this.heard = Date.now();
      let f;
      try {
        f = JSON.parse(e.data);
      } catch {
        return;
      }
      if (f.welcome) {
        clearTimeout(timer);
        this.onWelcome(ws, f.welcome);
      } else if (f.resp) this.onResp(f.resp);
      else if (f.sub) this.onEvents(f.sub, f.events || []);
    };
    ws.onclose = () => this.lost(ws);
  }

  onWelcome(ws, w) {
    if (w.error) {
      if (w.error.Code === "unauthorized") {
        // A token that no longer works (expired, another cluster): log in again.
        this.user = null;
        this.token = null;
        this.toLogin(ws, w.error.Message);
        return;
      }
      this.lost(ws);
      return;
    }
    this.welcomed = true;
    this.attempts = 0;
    this.nodeId = w.NodeID;
    // A page loaded over https fails over to the nodes' https addresses.
    const secure = location.protocol === "https:";
    const http = (w.Nodes || []).map((n) => (secure ? n.HTTPS : n.HTTP)).filter(Boolean);
    if (http.length) this.nodes = http;
    if (!w.User) {
      this.toLogin(ws, "");
      return;
    }
    this.user = w.User;
    this.token = w.Token;
    this.setState("connected");
    for (const sub of this.subs.values()) this.sendSubscribe(sub);
    for (const entry of this.outbox.values()) if (!entry.inflight) this.trySend(entry);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    this.ev.onWelcome(w);
  }

  toLogin(ws, why) {
    this.ws = null;
    ws.close();
    this.setState("login");
    this.ev.onLoggedOut(why);
  }

  setState(s) {
    if (this.state !== s) {
      this.state = s;
      this.ev.onState(s);
    }
  }

  lost(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    try {
      ws.close();
    } catch {}
    this.failPending();
    if (this.state !== "login") this.setState("reconnecting");
    this.scheduleReconnect();
  }

  failPending() {
    const pending = this.pending;
    this.pending = new Map();
    for (const p of pending.values()) p.reject({ Code: "unavailable", Message: "connection lost" });
  }

  scheduleReconnect() {
    // The next node at once, then a short growing pause per round.
    const i = this.nodes.indexOf(this.addr);
    const next = this.nodes[(i + 1) % this.nodes.length] || this.home;
    const round = Math.floor(this.attempts / Math.max(1, this.nodes.length));
    this.attempts++;
    const delay = round === 0 ? 0 : Math.min(2000, 100 * 2 ** round) * (0.5 + Math.random() / 2);
    setTimeout(() => {
      if (!this.ws) this.connect(next);
    }, delay);
  }

  /** probe pings a silent node and gives up one that stays silent. */
  probe() {
    const ws = this.ws;
    if (!ws || !this.welcomed || ws.readyState !== WebSocket.OPEN) return;
    const silent = Date.now() - this.heard;
    if (silent > GIVE_UP_MS) {
      this.lost(ws);
    } else if (silent > PING_MS && !this.pingOut) {
      this.pingOut = true;
      this.raw("ping", {}).finally(() => (this.pingOut = false)).catch(() => {});
    }
  }

  ready() {
    if (this.ws && this.welcomed && this.state === "connected") return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  raw(op, body) {
    return new Promise((resolve, reject) => {
      const ws = this.ws;
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        reject({ Code: "unavailable", Message: "not connected" });
        return;
      }
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, op, body }));
    });
  }

  /** call makes a request once connected; errors are the server's {Code, Message}. */
  async call(op, body = {}) {
    await this.ready();
    return this.raw(op, body);
  }

  onResp(r) {
    const p = this.pending.get(r.id);
    if (!p) return;
    this.pending.delete(r.id);
    if (r.error) p.reject(r.error);
    else p.resolve(r.body || {});
  }

  /**
   * subscribe delivers room's messages from seq from on, each once and in
   * order, across reconnects, to onMsg.
   */
  subscribe(room, from, onMsg) {
    const sub = { local: this.nextSub++, wire: 0, room, last: from - 1, onMsg };
    this.subs.set(sub.local, sub);
    if (this.state === "connected" && this.welcomed) this.sendSubscribe(sub);
    return sub;
  }

  unsubscribe(sub) {
    this.subs.delete(sub.local);
    if (sub.wire && this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ unsub: sub.wire }));
    sub.wire = 0;
  }

  sendSubscribe(sub) {
    // A fresh wire id per attempt: events of an older attempt are ignored.
    const wire = this.nextSub++;
    sub.wire = wire;
    this.wireSubs = this.wireSubs || new Map();
    this.wireSubs.set(wire, sub);
    this.raw("subscribe", { Room: sub.room, From: sub.last + 1, Sub: wire }).catch((e) => {
      if (sub.wire !== wire) return;
      if (RETRYABLE.has(e.Code) && this.ws) setTimeout(() => this.subs.has(sub.local) && this.sendSubscribe(sub), e.RetryMillis || 200);
    });
  }

  onEvents(wire, events) {
    const sub = this.wireSubs && this.wireSubs.get(wire);
    if (!sub || sub.wire !== wire || !this.subs.has(sub.local)) return;
    for (const ev of events) {
      if (ev.Error) {
        // The node ends the subscription (it is stopping): resume.
        this.wireSubs.delete(wire);
        setTimeout(() => this.subs.has(sub.local) && this.ws && this.sendSubscribe(sub), ev.Error.RetryMillis || 200);
        return;
      }
      const m = ev.Msg;
      if (m.Seq <= sub.last) continue; // already delivered
      if (m.Seq !== sub.last + 1) {
        // A gap cannot be filled from this stream: ask again from last + 1.
        this.unsubscribe(sub);
        this.subs.set(sub.local, sub);
        this.sendSubscribe(sub);
        return;
      }
      sub.last = m.Seq;
      sub.onMsg(m);
    }
  }

  /** send queues a message; it is sent once, with its id, whatever happens to the connection. */
  send(room, text) {
    const entry = { id: newMsgID(), room, text, inflight: false };
    this.outbox.set(entry.id, entry);
    if (this.state === "connected") this.trySend(entry);
    return entry;
  }

  trySend(entry) {
    entry.inflight = true;
    this.raw("send", { Room: entry.room, ID: entry.id, Text: entry.text }).then(
      (r) => {
        entry.inflight = false;
        this.outbox.delete(entry.id);
        this.ev.onSent(entry, r);
      },
      (e) => {
        entry.inflight = false;
        if (!RETRYABLE.has(e.Code)) {
          this.outbox.delete(entry.id);
          this.ev.onSendFailed(entry, e);
          return;
        }
        // Connection lost: the welcome of the next node sends it again.
        if (this.state === "connected" && this.ws) {
          setTimeout(() => this.outbox.has(entry.id) && !entry.inflight && this.state === "connected" && this.trySend(entry), e.RetryMillis || 200);
        }
      },
    );
  }
}
