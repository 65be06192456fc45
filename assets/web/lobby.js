// The lobby (`/`) and the router (`/?room=ROOM`).
//
// Without `?room=`: lists the server's open rooms (from `GET /lobby`) with links to play or watch
// each, and a form that creates a room of a chosen game. With `?room=ROOM`: sends the browser on
// to the page of the room's game (the open room's own game, else `?game=`, else the server's
// default game), keeping the whole query string, so old `/?room=X` links still work.
//
// `window.tickwire`: {status: "lobby", rooms, games} while listing, {status: "routing"} while
// routing.

import { hideMessage, ROOM_NAME, showMessage } from "./page.js";

const INSPECTOR = "/inspector/"; // watches any game: the page of a game without its own
const REFRESH_MS = 2000;

const params = new URLSearchParams(location.search);

// ---- the games' pages ---------------------------------------------------------------------

const pages = new Map(); // game -> Promise of its page's path

/** The path of a game's page: `/games/GAME/` if the server has it, else the inspector. */
function gamePage(game) {
  if (!pages.has(game)) {
    pages.set(game, (async () => {
      const path = `/games/${encodeURIComponent(game)}/`;
      try {
        const response = await fetch(path, { method: "HEAD" });
        if (response.status === 200) return path;
      } catch (error) {
        console.warn(`checking ${path} failed:`, error);
      }
      return INSPECTOR;
    })());
  }
  return pages.get(game);
}

/** A page's URL for a room: the lobby's own query (a `?name=`, a `?token=`) plus room and game. */
function roomLink(page, room, game) {
  const query = new URLSearchParams(location.search);
  query.set("room", room);
  query.set("game", game);
  return page + "?" + query.toString();
}

async function fetchLobby() {
  const response = await fetch("/lobby", { cache: "no-store" });
  if (!response.ok) throw new Error(`GET /lobby answered ${response.status}`);
  return response.json();
}

// ---- routing ------------------------------------------------------------------------------

async function route(room) {
  window.tickwire = { status: "routing" };
  document.getElementById("status").textContent = `joining room ${room}…`;
  let lobby = null;
  try {
    lobby = await fetchLobby();
  } catch (error) {
    // Still route: by `?game=`, else to the inspector, which plays no game of its own.
    console.warn("no lobby to find the room's game in:", error);
  }
  const open = lobby?.rooms.find((r) => r.room === room);
  const game = open?.game || params.get("game") || lobby?.default_game || "";
  const page = game ? await gamePage(game) : INSPECTOR;
  location.replace(page + location.search);
}

// ---- the lobby ----------------------------------------------------------------------------

function link(text, href) {
  const a = document.createElement("a");
  a.textContent = text;
  a.href = href;
  return a;
}

function cell(row, content, numeric = false) {
  const td = row.insertCell();
  if (numeric) td.className = "num";
  if (typeof content === "object") td.append(...content);
  else td.textContent = String(content);
}

async function showRooms(lobby) {
  // Every game's page first, so the rows are written in one go.
  const gamesPages = new Map(await Promise.all(lobby.games.map(async (g) => [g, await gamePage(g)])));
  const body = document.querySelector("#rooms tbody");
  const rows = [];
  for (const room of lobby.rooms) {
    const row = document.createElement("tr");
    row.dataset.room = room.room;
    cell(row, room.room);
    cell(row, room.game);
    cell(row, room.players, true);
    cell(row, room.spectators, true);
    const page = gamesPages.get(room.game) ?? (await gamePage(room.game));
    // A game without its own page is only watched (its "page" is the inspector).
    const links = page === INSPECTOR ? [] : [link("play", roomLink(page, room.room, room.game)), " "];
    links.push(link("watch", roomLink(INSPECTOR, room.room, room.game)));
    cell(row, links);
    rows.push(row);
  }
  body.replaceChildren(...rows);
  document.getElementById("no-rooms").hidden = rows.length > 0;

  const select = document.getElementById("room-game");
  if (select.options.length === 0) {
    for (const game of lobby.games) select.add(new Option(game, game, false, game === lobby.default_game));
  }
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  document.getElementById("status").textContent =
    `${plural(lobby.rooms.length, "room")} open · games: ${lobby.games.join(", ")}`;
  window.tickwire = { status: "lobby", rooms: lobby.rooms.length, games: lobby.games };
}

async function refresh() {
  try {
    await showRooms(await fetchLobby());
    hideMessage();
  } catch (error) {
    console.error("the lobby failed:", error);
    const status = "error: " + String(error?.message ?? error);
    window.tickwire = { status, rooms: 0, games: [] };
    document.getElementById("status").textContent = status;
    showMessage("Cannot list the rooms: " + String(error?.message ?? error) + ". Retrying…");
  }
}

async function create(event) {
  event.preventDefault();
  const room = document.getElementById("room-name").value.trim();
  const game = document.getElementById("room-game").value;
  if (!ROOM_NAME.test(room)) {
    showMessage("A room name is 1 to 32 of A-Z a-z 0-9 - _.");
    return;
  }
  if (!game) return; // the games are not known yet
  location.href = roomLink(await gamePage(game), room, game);
}

// ---- start --------------------------------------------------------------------------------

const room = params.get("room");
if (room) {
  route(room);
} else {
  document.getElementById("create").addEventListener("submit", create);
  refresh();
  setInterval(refresh, REFRESH_MS); // rooms open and close while the lobby is shown
}
