// The chat page's client, on socket.io-client (served by Socket.IO at /socket.io/socket.io.js).
//
// Nothing lost, nothing shown twice, across drops and server restarts:
//   - every message gets an id here, and waits in the outbox until the server acknowledges it;
//     on each (re)connection, the outbox is sent again (the server drops an id it already has,
//     and acknowledges it again);
//   - a recovered connection (socket.recovered) has had, from Socket.IO, what it missed; a new
//     session joins the room again with { after: lastSeq } and gets the room's history after it;
//   - every message is shown once, by id, however often it arrives.
/* global io, document, location, URLSearchParams */
"use strict";

const params = new URLSearchParams(location.search);
const name = params.get("name") || `guest-${Math.floor(Math.random() * 1000)}`;
const room = params.get("room") || "lobby";

const $ = (id) => document.getElementById(id);
$("me").textContent = name;
$("room").textContent = room;

/** The messages shown, by id: one <li> each. */
const shown = new Map();
/** Messages not acknowledged yet, by id, in the order they were written. */
const outbox = new Map();
/** The highest room seq this page has seen: what a new session asks for history after. */
let lastSeq = 0;
let counter = 0;

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

function show(message, pending) {
  let li = shown.get(message.id);
  if (!li) {
    li = document.createElement("li");
    li.dataset.id = message.id;
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = message.from;
    li.append(from, document.createTextNode(message.text));
    shown.set(message.id, li);
    $("messages").append(li);
  }
  li.classList.toggle("pending", pending);
  if (typeof message.seq === "number") lastSeq = Math.max(lastSeq, message.seq);
}

if (typeof io !== "function") {
  setStatus(
    "disconnected",
    "the Socket.IO client script did not load: see /socket.io/socket.io.js",
  );
  throw new Error("socket.io.js did not load");
}

const socket = io({
  auth: { name },
  reconnectionDelay: 250,
  reconnectionDelayMax: 2000,
});

function send(entry) {
  if (!socket.connected) return; // sent on the next "connect"
  socket
    .timeout(3000)
    .emitWithAck("chat", entry)
    .then((ack) => {
      if (!ack.ok) {
        outbox.delete(entry.id);
        setStatus("connected", `refused: ${ack.error.message}`);
        return;
      }
      outbox.delete(entry.id);
      show({ ...entry, from: name, seq: ack.seq }, false);
    })
    .catch(() => {
      // No acknowledgement in time: still in the outbox, sent again now or on the next connect.
      if (outbox.has(entry.id)) send(entry);
    });
}

socket.on("connect", () => {
  const resend = () => {
    setStatus("connected", socket.recovered ? "connected (recovered)" : "connected");
    for (const entry of outbox.values()) send(entry);
  };
  if (socket.recovered) {
    resend();
    return;
  }
  socket
    .timeout(3000)
    .emitWithAck("join", room, { after: lastSeq })
    .then((ack) => {
      if (!ack.ok) throw new Error(ack.error.message);
      for (const message of ack.history) show(message, false);
      $("members").textContent = ack.members.join(", ");
      resend();
    })
    .catch((error) => {
      setStatus("disconnected", `could not join ${room}: ${error.message}`);
      socket.disconnect().connect();
    });
});

socket.on("disconnect", (reason) => setStatus("disconnected", `disconnected (${reason})`));
socket.on("connect_error", (error) =>
  setStatus("disconnected", `cannot connect: ${error.message}`),
);
socket.on("chat", (message) => show(message, false));
socket.on("presence", (update) => {
  if (update.room === room) $("members").textContent = update.members.join(", ");
});

$("send").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  const id = `${name}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const entry = { room, id, text };
  outbox.set(id, entry);
  show({ ...entry, from: name }, true);
  send(entry);
});
