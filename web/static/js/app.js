// The Parley web client: Preact components over the state in store.js.
// Text from the network is only ever rendered as text nodes, never as HTML.

import { h, render, Component, createRef } from "../vendor/preact.mjs";
import htm from "../vendor/htm.mjs";
import * as st from "./store.js";
import { StatsView } from "./stats.js";

const { S, conn } = st;
const html = htm.bind(h);

/** fmtTime shows a message's stamp: RFC 3339 text (or Unix nanoseconds). */
function fmtTime(ts) {
  const d = new Date(typeof ts === "number" ? ts / 1e6 : ts);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function roomLabel(room) {
  return room.dm ? "@" + st.dmPeer(room.name) : "#" + room.name;
}

/** Text splits a message into plain text and highlighted @mentions. */
function Text({ text }) {
  const parts = text.split(/(@[a-z0-9][a-z0-9_-]*)/g);
  return parts.map((p, i) =>
    i % 2 === 1 ? html`<span class=${p === "@" + S.user ? "mention me" : "mention"}>${p}</span>` : p,
  );
}

class Login extends Component {
  submit = (e) => {
    e.preventDefault();
    const f = e.target;
    st.login(f.user.value.trim().toLowerCase(), f.password.value, f.invite.value.trim());
  };
  render() {
    return html`<main class="login">
      <form onSubmit=${this.submit}>
        <h1>Parley</h1>
        <p class="hint">Log in, or pick a free name and a password to claim it.</p>
        <label>Name <input name="user" data-testid="login-user" autocomplete="username" autofocus required /></label>
        <label>Password <input name="password" type="password" data-testid="login-password" autocomplete="current-password" required /></label>
        <label>Invite code <input name="invite" data-testid="login-invite" autocomplete="off" placeholder="to sign up, if the cluster asks for one" /></label>
        <button type="submit" data-testid="login-submit">Log in</button>
        ${S.loginError && html`<p class="error" role="alert">${S.loginError}</p>`}
      </form>
    </main>`;
  }
}

function Status() {
  const node = S.nodes.find((n) => n.ID === S.nodeId);
  const text =
    S.conn === "connected" ? `connected to ${node ? node.Name : "node " + S.nodeId}` : S.conn === "reconnecting" ? "reconnecting…" : "connecting…";
  return html`<div class="status ${S.conn}" data-testid="connection-status" role="status">${text}</div>`;
}

class Sidebar extends Component {
  join = (e) => {
    e.preventDefault();
    st.joinRoom(e.target.room.value);
    e.target.reset();
  };
  dm = (e) => {
    e.preventDefault();
    st.openDM(e.target.peer.value);
    e.target.reset();
  };
  render() {
    const rooms = st.visibleRooms();
    const item = (r) => html`<li>
      <a href="#/room/${encodeURIComponent(r.name)}" data-testid="room-item" data-room=${r.name}
        class=${"room" + (S.view === "room" && S.current === r.name ? " active" : "") + (r.unread ? " has-unread" : "")}>
        <span class="name">${roomLabel(r)}</span>
        ${r.mentions > 0 && html`<span class="badge mention-badge" data-testid="mention-count">@${r.mentions}</span>`}
        <span class=${"badge" + (r.unread ? "" : " zero")} data-testid="unread-count">${r.unread}</span>
      </a>
    </li>`;
    return html`<nav class=${"sidebar" + (S.menuOpen ? " open" : "")}>
      <header><span class="logo">Parley</span><span class="me">${S.user}</span></header>
      <h2>Rooms</h2>
      <ul data-testid="room-list">${rooms.filter((r) => !r.dm).map(item)}</ul>
      <form onSubmit=${this.join} class="add"><input name="room" placeholder="join or create a room" data-testid="join-room" /></form>
      <h2>Direct messages</h2>
      <ul data-testid="dm-list">${rooms.filter((r) => r.dm).map(item)}</ul>
      <form onSubmit=${this.dm} class="add"><input name="peer" placeholder="message a user" data-testid="open-dm" /></form>
      <footer>
        <a href="#/cluster" class=${S.view === "cluster" ? "active" : ""}>Cluster</a>
        <a href="#/stats" data-testid="stats-link" class=${S.view === "stats" ? "active" : ""}>Stats</a>
        <button class="link" onClick=${st.logout}>Log out</button>
      </footer>
    </nav>`;
  }
}

function firstSeq(room) {
  return room.msgs.length ? room.msgs[0].Seq : Infinity;
}

/** Messages renders the held window of a room; scrolling up loads older pages. */
class Messages extends Component {
  list = createRef();
  prevHeight = 0;
  prevTop = 0;
  prepending = false;

  componentDidMount() {
    this.rendered = { room: this.props.room, first: firstSeq(this.props.room) };
    this.scrollToEnd();
  }
  getSnapshotBeforeUpdate() {
    // The room is changed in place, so what was rendered is remembered here.
    const el = this.list.current;
    return el ? { height: el.scrollHeight, top: el.scrollTop, ...this.rendered } : null;
  }
  componentDidUpdate(_prev, _s, snap) {
    const el = this.list.current;
    const first = firstSeq(this.props.room);
    this.rendered = { room: this.props.room, first };
    if (!el || !snap) return;
    if (snap.room !== this.props.room) this.scrollToEnd();
    else if (first < snap.first) {
      // Older messages came in above: keep what the user looks at in place.
      el.scrollTop = snap.top + (el.scrollHeight - snap.height);
    } else if (st.atBottom.value) this.scrollToEnd();
    // A window that does not fill the view, or that the user already
    // scrolled to the edge of, loads on without a scroll event.
    const room = this.props.room;
    if (room.tailCut && el.scrollHeight - el.scrollTop - el.clientHeight < 40) st.loadNewer(room);
    else if (room.loaded && room.lo > 1 && el.scrollTop < 200 && !st.atBottom.value) st.loadOlder(room);
  }
  scrollToEnd() {
    const el = this.list.current;
    if (el) el.scrollTop = el.scrollHeight;
    st.atBottom.value = true;
    if (document.visibilityState === "visible") st.markRead(this.props.room);
  }
  onScroll = () => {
    const el = this.list.current;
    const bottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
    st.atBottom.value = bottom && !this.props.room.tailCut;
    if (bottom && this.props.room.tailCut) st.loadNewer(this.props.room);
    else if (bottom && document.visibilityState === "visible") st.markRead(this.props.room);
    if (el.scrollTop < 200) st.loadOlder(this.props.room);
  };
  render({ room }) {
    const pending = st.pendingFor(room);
    const out = [];
    if (room.lo > 1 && room.loaded) out.push(html`<li class="more">${room.loadingOlder ? "loading…" : "scroll up for older messages"}</li>`);
    if (room.lo === 1 || (room.loaded && room.msgs.length === 0)) out.push(html`<li class="start">This is the start of ${roomLabel(room)}.</li>`);
    let prevUser = "";
    for (const m of room.msgs) {
      if (room.marker && m.Seq === room.marker) {
        out.push(html`<li class="new-marker" data-testid="new-messages"><span>new messages</span></li>`);
      }
      if (m.Kind) {
        prevUser = "";
        out.push(html`<li class="notice" data-testid="message" data-seq=${m.Seq} data-user=${m.User} data-kind=${m.Kind}>
          <span class="text">${m.Text}</span> <time>${fmtTime(m.TS)}</time></li>`);
        continue;
      }
      const cont = m.User === prevUser;
      prevUser = m.User;
      const me = S.user && new RegExp(`@${S.user}(?![\\w-])`).test(m.Text);
      out.push(html`<li class=${"msg" + (cont ? " cont" : "") + (me ? " mentions-me" : "")} data-testid="message" data-seq=${m.Seq} data-user=${m.User}>
        ${!cont && html`<div class="meta"><span class="user">${m.User}</span><time>${fmtTime(m.TS)}</time></div>`}
        <div class="text"><${Text} text=${m.Text} /></div>
      </li>`);
    }
    if (room.tailCut) out.push(html`<li class="more">${room.loadingNewer ? "loading…" : "scroll down for newer messages"}</li>`);
    for (const p of pending) {
      out.push(html`<li class="msg pending" data-testid="pending-message"><div class="meta"><span class="user">${S.user}</span><time>sending…</time></div><div class="text">${p.text}</div></li>`);
    }
    return html`<ol class="messages" ref=${this.list} onScroll=${this.onScroll} aria-live="polite">${out}</ol>`;
  }
}

function typingText(users) {
  if (!users.length) return "";
  if (users.length === 1) return `${users[0]} is typing…`;
  if (users.length <= 3) return `${users.slice(0, -1).join(", ")} and ${users[users.length - 1]} are typing…`;
  return "several people are typing…";
}

class Composer extends Component {
  keydown = (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      const v = e.target.value;
      if (v.trim()) {
        st.sendText(v);
        e.target.value = "";
      }
    }
  };
  render({ room }) {
    return html`<div class="composer">
      <div class="typing" data-testid="typing" aria-live="polite">${typingText(S.typing)}</div>
      <textarea data-testid="composer" rows="1" placeholder=${"Message " + roomLabel(room)} onKeyDown=${this.keydown} onInput=${st.typing} aria-label="message"></textarea>
    </div>`;
  }
}

function RoomView() {
  const room = S.rooms.get(S.current);
  if (!room) return html`<section class="room empty"><p>Pick a room, or join one on the left.</p></section>`;
  // S.who is null until the room's first who answer: show no count rather
  // than a wrong "0 online".
  const online = (S.who || []).filter((m) => m.Online);
  return html`<section class="room">
    <header class="room-head">
      <button class="menu" onClick=${() => ((S.menuOpen = !S.menuOpen), st.changed())} aria-label="rooms">☰</button>
      <h1>${roomLabel(room)}</h1>
      <span class="who" data-testid="online">${S.who && `${online.length} online${online.length ? ": " : ""}${online.map((m) => m.User).join(", ")}`}</span>
      ${room.joined && html`<button class="link leave" onClick=${() => st.leaveRoom(room.name)}>Leave</button>`}
    </header>
    <${Messages} room=${room} />
    <${Composer} room=${room} />
  </section>`;
}

function ClusterView() {
  const s = S.status;
  const name = (id) => {
    const n = s && s.Nodes.find((n) => n.ID === id);
    return n ? n.Name : id ? "node " + id : "—";
  };
  return html`<section class="room cluster" data-testid="cluster">
    <header class="room-head">
      <button class="menu" onClick=${() => ((S.menuOpen = !S.menuOpen), st.changed())} aria-label="rooms">☰</button>
      <h1>Cluster</h1>
    </header>
    ${!s
      ? html`<p class="pad">loading…</p>`
      : html`<div class="pad">
          <h2>Nodes</h2>
          <table>
            <thead><tr><th>node</th><th>state</th><th>client</th><th>web</th></tr></thead>
            <tbody>
              ${s.Nodes.map(
                (n) => html`<tr data-testid="node" data-node=${n.Name}>
                  <td>${n.Name}${n.ID === S.nodeId ? " (serving this page)" : ""}</td>
                  <td><span class=${n.Up ? "up" : "down"}>${n.Up ? "up" : "down"}</span></td>
                  <td>${n.Addr}</td><td>${n.HTTP || "—"}</td>
                </tr>`,
              )}
            </tbody>
          </table>
          <h2>Shards</h2>
          <table>
            <thead><tr><th>shard</th><th>leader</th><th>term</th><th>replicas</th></tr></thead>
            <tbody>
              ${s.Shards.map(
                (sh) => html`<tr data-testid="shard">
                  <td>${sh.ID === 1 ? "1 (registry)" : sh.ID}</td><td>${name(sh.Leader)}</td><td>${sh.Term}</td>
                  <td>${(sh.Replicas || []).map(name).join(", ")}${sh.NonVoting && sh.NonVoting.length ? " + " + sh.NonVoting.map(name).join(", ") + " (catching up)" : ""}</td>
                </tr>`,
              )}
            </tbody>
          </table>
        </div>`}
  </section>`;
}

class Switcher extends Component {
  input = createRef();
  componentDidMount() {
    this.input.current.focus();
  }
  matches() {
    const q = S.switcher.q.toLowerCase();
    return st.visibleRooms().filter((r) => r.name.includes(q) || roomLabel(r).includes(q));
  }
  key = (e) => {
    if (e.key === "Escape") close();
    if (e.key === "Enter") {
      const m = this.matches()[0];
      if (m) location.hash = `#/room/${encodeURIComponent(m.name)}`;
      else if (S.switcher.q) st.joinRoom(S.switcher.q);
      close();
    }
  };
  render() {
    return html`<div class="overlay" onClick=${(e) => e.target.classList.contains("overlay") && close()}>
      <div class="switcher" data-testid="switcher">
        <input ref=${this.input} value=${S.switcher.q} placeholder="jump to a room" onInput=${(e) => ((S.switcher.q = e.target.value), st.changed())} onKeyDown=${this.key} />
        <ul>${this.matches().map((r) => html`<li><a href="#/room/${encodeURIComponent(r.name)}" onClick=${close}>${roomLabel(r)}${r.unread ? ` (${r.unread})` : ""}</a></li>`)}</ul>
      </div>
    </div>`;
  }
}

function close() {
  S.switcher = null;
  st.changed();
}

function App() {
  if (S.phase === "boot") return html`<p class="boot">Connecting… <${Status} /></p>`;
  if (S.phase === "login") return html`<${Login} />`;
  return html`<div class="app">
    <${Status} />
    ${S.notice && html`<div class="notice-bar" role="alert">${S.notice} <button class="link" onClick=${() => ((S.notice = ""), st.changed())}>dismiss</button></div>`}
    <div class="main">
      <${Sidebar} />
      ${S.view === "cluster"
        ? html`<${ClusterView} />`
        : S.view === "stats"
          ? html`<${StatsView} menu=${html`<button class="menu" onClick=${() => ((S.menuOpen = !S.menuOpen), st.changed())} aria-label="rooms">☰</button>`} />`
          : html`<${RoomView} />`}
    </div>
    ${S.switcher && html`<${Switcher} />`}
  </div>`;
}

function signal() {
  const t = st.totals();
  const room = S.rooms.get(S.current);
  const where = S.view === "cluster" ? "Cluster" : S.view === "stats" ? "Stats" : room ? roomLabel(room) : "";
  document.title = (t.mentions ? `(@${t.mentions}) ` : t.unread ? `(${t.unread}) ` : "") + (where ? where + " · " : "") + "Parley";
  const icon = document.getElementById("favicon");
  const want = t.mentions ? "/favicon-alert.svg" : "/favicon.svg";
  if (icon && icon.getAttribute("href") !== want) icon.setAttribute("href", want);
}

const root = document.getElementById("app");
root.textContent = "";
let firstMessage = false;
st.onChange(() => {
  render(html`<${App} />`, root);
  signal();
  if (!firstMessage && document.querySelector("[data-testid=message]")) {
    // Time to first message, for anyone measuring the page (see README).
    firstMessage = true;
    performance.mark("parley-first-message");
  }
});

addEventListener("hashchange", st.route);
addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
    e.preventDefault();
    S.switcher = S.switcher ? null : { q: "" };
    st.changed();
  } else if (e.altKey && e.shiftKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
    e.preventDefault();
    const n = st.nextUnread(e.key === "ArrowDown" ? 1 : -1);
    if (n) location.hash = `#/room/${encodeURIComponent(n)}`;
  }
});
document.addEventListener("visibilitychange", () => {
  const room = S.rooms.get(S.current);
  if (document.visibilityState === "visible" && room && st.atBottom.value) st.markRead(room);
  st.changed();
});
setInterval(st.refreshWho, 1500);
setInterval(st.refreshStatus, 2000);
setInterval(st.refreshRooms, 5000);
st.route();
conn.start();
st.changed();
