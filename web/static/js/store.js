// The page's state and what changes it. Components read S and call the
// actions; every change calls changed(), which re-renders on the next frame.

import { Conn } from "./conn.js";

/** How many messages a room keeps around the view, and loads per step. */
const WINDOW = 600;
const PAGE = 100;

export const S = {
  phase: "boot", // boot | login | app
  conn: "connecting",
  loginError: "",
  user: "",
  nodeId: 0,
  nodes: [],
  rooms: new Map(), // name -> room
  current: "",
  view: "room", // room | cluster | stats
  who: null, // the current room's members, null until they are known
  typing: [], // users typing in the current room
  status: null,
  switcher: null, // {q} while open
  notice: "",
  menuOpen: false,
};

let listeners = [];
let scheduled = false;
export function onChange(f) {
  listeners.push(f);
}
export function changed() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    for (const f of listeners) f();
  });
}

/** BANNER_MS is the least time the "reconnecting" banner shows. */
const BANNER_MS = 1500;
let bannerUntil = 0;
let bannerTimer = 0;

/** awaiting holds sent messages not yet delivered by their room's subscription. */
const awaiting = new Map();

export const conn = new Conn({
  onState(s) {
    // A failover can take less than a frame: the banner stays up a
    // moment, so that the user sees the page moved to another node.
    clearTimeout(bannerTimer);
    const wait = bannerUntil - Date.now();
    if (s === "reconnecting") bannerUntil = Date.now() + BANNER_MS;
    else if (S.conn === "reconnecting" && wait > 0) {
      bannerTimer = setTimeout(() => {
        S.conn = conn.state;
        changed();
      }, wait);
      return;
    }
    S.conn = s;
    changed();
  },
  onWelcome(w) {
    S.user = w.User;
    S.nodeId = w.NodeID;
    S.nodes = w.Nodes || [];
    const first = S.phase !== "app";
    S.phase = "app";
    if (first) loadRooms();
    else refreshRooms();
    changed();
  },
  onSent(entry) {
    // Shown as pending until its subscription delivers it.
    awaiting.set(entry.id, entry);
    changed();
  },
  onSendFailed(entry, e) {
    S.notice = `not sent: ${e.Message || e.Code}`;
    changed();
  },
  onLoggedOut(why) {
    S.phase = "login";
    S.loginError = why;
    changed();
  },
});

export function isDM(name) {
  return name.startsWith("dm.");
}

/** dmPeer is the other user of a direct-message room. */
export function dmPeer(name) {
  const [, a, b] = name.split(".");
  return a === S.user ? b : a;
}

export function dmRoom(a, b) {
  return a < b ? `dm.${a}.${b}` : `dm.${b}.${a}`;
}

function recount(room) {
  room.unread = room.joined ? Math.max(0, room.lastSeq - room.read) : 0;
  if (!room.unread) room.mentions = 0;
}

function newRoom(info) {
  return {
    name: info.Name,
    members: info.Members || 0,
    lastSeq: info.LastSeq || 0,
    joined: !!info.Joined,
    dm: !!info.DM,
    msgs: [],
    lo: 0, // first seq held (0: none)
    loaded: false,
    loadingOlder: false,
    // read is the user's read marker, kept by the cluster: unread is
    // every message after it, as "parley rooms" counts.
    read: (info.LastSeq || 0) - (info.Unread || 0),
    readSent: 0,
    unread: info.Unread || 0,
    mentions: 0,
    marker: 0, // first unread seq when the room was opened
    sub: null,
  };
}

/**
 * pages asks for every page of a list reply (rooms, who): each reply holds
 * up to 1,000 entries and Next, the cursor of the next page ("" at the end).
 */
async function pages(op, body, field) {
  const out = [];
  let first = null;
  for (let after = ""; ; ) {
    const r = await conn.call(op, after ? { ...body, After: after } : body);
    first = first || r;
    out.push(...(r[field] || []));
    if (!r.Next || r.Next <= after) return { ...first, [field]: out };
    after = r.Next;
  }
}

async function loadRooms() {
  try {
    const r = await pages("rooms", {}, "Rooms");
    for (const info of r.Rooms || []) {
      if (!S.rooms.has(info.Name)) S.rooms.set(info.Name, newRoom(info));
    }
    for (const room of S.rooms.values()) if (room.joined) follow(room);
    changed();
    route();
  } catch (e) {
    S.notice = `rooms: ${e.Message || e.Code}`;
    changed();
  }
}

/** refreshRooms updates the directory: member counts, rooms made meanwhile. */
export async function refreshRooms() {
  try {
    const r = await pages("rooms", {}, "Rooms");
    for (const info of r.Rooms || []) {
      const room = S.rooms.get(info.Name);
      if (!room) {
        const n = newRoom(info);
        S.rooms.set(info.Name, n);
        if (n.joined) follow(n);
      } else {
        room.members = info.Members;
        if (info.Joined && !room.joined) {
          room.joined = true;
          follow(room);
        }
        // Another client of the user may have read further.
        if (info.Joined) room.read = Math.max(room.read, (info.LastSeq || 0) - (info.Unread || 0));
        recount(room);
      }
    }
    changed();
  } catch {}
}

/** follow loads a room's last page and subscribes to what comes after. */
async function follow(room) {
  if (room.sub) return;
  room.sub = { pending: true };
  try {
    const h = await conn.call("history", { Room: room.name, Last: PAGE });
    const msgs = h.Messages || [];
    room.msgs = msgs;
    room.lo = msgs.length ? msgs[0].Seq : h.LastSeq + 1;
    room.lastSeq = h.LastSeq;
    room.loaded = true;
    if (room.justJoined) room.read = Math.max(room.read, h.LastSeq);
    room.justJoined = false;
    recount(room);
    room.sub = conn.subscribe(room.name, h.LastSeq + 1, (m) => deliver(room, m));
    changed();
  } catch (e) {
    room.sub = null;
    setTimeout(() => room.joined && follow(room), 500);
  }
}

function mentions(text) {
  return S.user && new RegExp(`(^|[^\\w])@${S.user}(?![\\w-])`).test(text);
}

function deliver(room, m) {
  awaiting.delete(m.ID);
  room.lastSeq = m.Seq;
  if (room.tailCut) {
    // The window holds older messages: this one is loaded when the user
    // scrolls back down (loadNewer).
    if (m.Seq > room.read && !m.Kind && m.User !== S.user && mentions(m.Text)) room.mentions++;
    recount(room);
    changed();
    return;
  }
  // loadNewer may have fetched it already.
  if (room.msgs.length && m.Seq <= room.msgs[room.msgs.length - 1].Seq) return;
  room.msgs.push(m);
  if (room.lo === 0 || room.lo > m.Seq) room.lo = room.msgs[0].Seq;
  const viewing = S.view === "room" && S.current === room.name && document.visibilityState === "visible" && atBottom.value;
  if (viewing) markRead(room);
  else if (m.Seq > room.read && !m.Kind && m.User !== S.user && mentions(m.Text)) {
    room.mentions++;
    notify(room, m);
  }
  recount(room);
  if (room.msgs.length > WINDOW * 2 && (S.current !== room.name || atBottom.value)) {
    room.msgs = room.msgs.slice(room.msgs.length - WINDOW);
    room.lo = room.msgs[0].Seq;
  }
  changed();
}

/** atBottom is whether the room view is scrolled to its end (set by the view). */
export const atBottom = { value: true };

/** loadOlder prepends the page before the oldest held message. */
export async function loadOlder(room) {
  if (room.loadingOlder || room.lo <= 1) return false;
  room.loadingOlder = true;
  try {
    const from = Math.max(1, room.lo - PAGE);
    const h = await conn.call("history", { Room: room.name, From: from, Limit: room.lo - from });
    const older = (h.Messages || []).filter((m) => m.Seq < room.lo);
    if (older.length) {
      room.msgs = older.concat(room.msgs);
      room.lo = older[0].Seq;
    } else room.lo = 1;
    if (room.msgs.length > WINDOW * 2) {
      // Keep the page small however far up the user goes: drop the newest.
      room.msgs = room.msgs.slice(0, WINDOW * 2);
      room.tailCut = true;
    }
    changed();
    return true;
  } catch {
    return false;
  } finally {
    room.loadingOlder = false;
  }
}

/** loadNewer appends the page after the newest held message, once the window was cut. */
export async function loadNewer(room) {
  if (!room.tailCut || room.loadingNewer) return;
  room.loadingNewer = true;
  try {
    const from = room.msgs[room.msgs.length - 1].Seq + 1;
    const h = await conn.call("history", { Room: room.name, From: from, Limit: PAGE });
    const newer = (h.Messages || []).filter((m) => m.Seq >= from);
    room.msgs = room.msgs.concat(newer);
    const last = room.msgs[room.msgs.length - 1].Seq;
    // Live messages append again once the window reaches the last one
    // the subscription delivered.
    if (last >= room.sub.last) room.tailCut = false;
    if (room.msgs.length > WINDOW * 2) {
      room.msgs = room.msgs.slice(room.msgs.length - WINDOW * 2);
      room.lo = room.msgs[0].Seq;
    }
    changed();
  } catch {
  } finally {
    room.loadingNewer = false;
  }
}

/**
 * markRead moves the user's read marker to the room's end when the end is
 * seen: locally at once, and in the cluster (one request at a time).
 */
export function markRead(room) {
  if (!room.joined || room.tailCut || room.lastSeq <= room.read) return;
  room.read = room.lastSeq;
  recount(room);
  changed();
  sendRead(room);
}

function sendRead(room) {
  if (room.readInflight || room.readSent >= room.read) return;
  room.readInflight = true;
  const seq = room.read;
  conn.call("read", { Room: room.name, Seq: seq }).then(
    () => {
      room.readInflight = false;
      room.readSent = Math.max(room.readSent, seq);
      sendRead(room);
    },
    () => {
      room.readInflight = false;
      setTimeout(() => sendRead(room), 500);
    },
  );
}

export function pendingFor(room) {
  const held = new Set(room.msgs.map((m) => m.ID));
  return [...conn.outbox.values(), ...awaiting.values()].filter((e) => e.room === room.name && !held.has(e.id));
}

let lastTyping = 0;

/** typing tells the cluster, at most every 2 s, that the user is typing. */
export function typing() {
  const now = Date.now();
  if (now - lastTyping < 2000 || !S.current || S.conn !== "connected") return;
  lastTyping = now;
  conn.call("typing", { Room: S.current }).catch(() => {});
}

export function sendText(text) {
  lastTyping = 0;
  const room = S.rooms.get(S.current);
  if (!room || !text.trim()) return;
  conn.send(room.name, text);
  changed();
}

export async function joinRoom(name) {
  name = name.trim().replace(/^#/, "");
  if (!name) return;
  try {
    await conn.call("join", { Room: name });
    let room = S.rooms.get(name);
    if (!room) {
      room = newRoom({ Name: name, DM: isDM(name) });
      S.rooms.set(name, room);
    }
    if (!room.joined) room.justJoined = true;
    room.joined = true;
    follow(room);
    location.hash = `#/room/${encodeURIComponent(name)}`;
  } catch (e) {
    S.notice = `join ${name}: ${e.Message || e.Code}`;
  }
  changed();
}

export async function leaveRoom(name) {
  try {
    await conn.call("leave", { Room: name });
    const room = S.rooms.get(name);
    if (room) {
      room.joined = false;
      if (room.sub && room.sub.local) conn.unsubscribe(room.sub);
      room.sub = null;
      room.msgs = [];
      room.unread = room.mentions = 0;
      room.read = room.lastSeq;
    }
    if (S.current === name) location.hash = "#/";
  } catch (e) {
    S.notice = `leave ${name}: ${e.Message || e.Code}`;
  }
  changed();
}

export function openDM(user) {
  user = user.trim().replace(/^@/, "").toLowerCase();
  if (!user || user === S.user) return;
  joinRoom(dmRoom(S.user, user));
}

export async function refreshWho() {
  const name = S.current;
  if (!name || S.phase !== "app" || S.conn !== "connected") return;
  try {
    const r = await pages("who", { Room: name }, "Members");
    if (S.current === name) {
      S.who = r.Members || [];
      S.typing = r.Typing || [];
      changed();
    }
  } catch {}
}

export async function refreshStatus() {
  if (S.view !== "cluster" || S.conn !== "connected") return;
  try {
    S.status = await conn.call("status");
    changed();
  } catch {}
}

const joining = new Set();

/** route follows the URL: #/room/<name>, #/cluster, #/stats. */
export function route() {
  const h = decodeURIComponent(location.hash.replace(/^#\/?/, ""));
  S.menuOpen = false;
  if (h === "cluster") {
    S.view = "cluster";
    refreshStatus();
  } else if (h === "stats") {
    S.view = "stats";
  } else if (h.startsWith("room/")) {
    const name = h.slice(5);
    S.view = "room";
    if (S.current !== name) {
      S.current = name;
      S.who = null;
      S.typing = [];
      atBottom.value = true;
      const room = S.rooms.get(name);
      if (room) room.marker = room.unread ? room.read + 1 : 0;
      refreshWho();
    }
    const room = S.rooms.get(name);
    if (S.phase === "app" && (!room || !room.joined) && !joining.has(name)) {
      joining.add(name);
      joinRoom(name).finally(() => joining.delete(name));
    }
  } else {
    S.view = "room";
    if (!S.current) {
      const first = [...S.rooms.values()].find((r) => r.joined);
      if (first) {
        location.replace(`#/room/${encodeURIComponent(first.name)}`);
        return;
      }
    }
  }
  changed();
}

export function totals() {
  let unread = 0,
    mentionsN = 0;
  for (const r of S.rooms.values()) {
    unread += r.unread;
    mentionsN += r.mentions;
  }
  return { unread, mentions: mentionsN };
}

/** nextUnread is the next (dir 1) or previous (-1) room with unread messages. */
export function nextUnread(dir) {
  const names = visibleRooms().map((r) => r.name);
  const i = names.indexOf(S.current);
  for (let k = 1; k <= names.length; k++) {
    const n = names[(i + dir * k + names.length * 2) % names.length];
    if (S.rooms.get(n).unread) return n;
  }
  return "";
}

export function visibleRooms() {
  return [...S.rooms.values()].filter((r) => r.joined).sort((a, b) => (a.dm - b.dm) || a.name.localeCompare(b.name));
}

function notify(room, m) {
  if (!window.isSecureContext || !("Notification" in window) || Notification.permission !== "granted") return;
  if (document.visibilityState === "visible" && S.current === room.name) return;
  new Notification(`${m.User} in ${room.dm ? dmPeer(room.name) : "#" + room.name}`, { body: m.Text, tag: room.name });
}

export async function login(user, password, invite = "") {
  S.loginError = "";
  changed();
  try {
    const resp = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(invite ? { user, password, invite } : { user, password }),
      credentials: "same-origin",
    });
    const body = await resp.json();
    if (!resp.ok) {
      S.loginError = (body.error && body.error.Message) || resp.statusText;
      changed();
      return;
    }
    if (window.isSecureContext && "Notification" in window && Notification.permission === "default") {
      Notification.requestPermission();
    }
    conn.login(body.user, body.token);
  } catch (e) {
    S.loginError = `cannot reach the node: ${e}`;
    changed();
  }
}

export async function logout() {
  try {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
  } catch {}
  location.hash = "#/";
  location.reload();
}
