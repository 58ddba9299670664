// Signing in and out. People sign in with a name and password (POST /api/v1/session):
// the server sets an HttpOnly cookie, every fetch and the player's <video> send it, and
// unsafe requests carry the CSRF token the server returned. An agency with single
// sign-on gets a button to /auth/oidc/login.
//
// A server without /api/v1/session (404) takes a pasted machine token instead, kept in
// this tab's sessionStorage and sent as a bearer header; the player cannot send that
// header, so playback then needs a name-and-password sign-in.

import { ApiError, api, session } from "./core.js";

const TOKEN_KEY = "evidence.token";

function accept(body, mode) {
  const user = body && body.user ? body.user : body;
  session.user = user;
  session.mode = mode;
  session.csrf = body && typeof body.csrf_token === "string" ? body.csrf_token : null;
  return user;
}

// Who is signed in, from the cookie (or this tab's machine token); null when nobody is.
export async function restore() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    session.token = token;
    session.mode = "token";
    try {
      return accept(await api("/me"), "token");
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) throw err;
      forget();
      return null;
    }
  }
  try {
    return accept(await api("/session"), "session");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    if (err instanceof ApiError && err.status === 404) {
      session.sessionsAvailable = false; // no session route on this server: tokens only
      return null;
    }
    throw err;
  }
}

// How this server lets people sign in: {password: bool, oidc: bool}.
export async function providers() {
  if (!session.sessionsAvailable) return { password: false, oidc: false };
  try {
    const found = await api("/session/providers");
    return { password: true, oidc: Boolean(found && found.oidc) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      session.sessionsAvailable = false;
      return { password: false, oidc: false };
    }
    throw err;
  }
}

export async function signInWithPassword(name, password) {
  const body = await api("/session", { method: "POST", body: { name, password } });
  return accept(body, "session");
}

export async function signInWithToken(token) {
  const user = await api("/me", { bearer: token });
  sessionStorage.setItem(TOKEN_KEY, token);
  session.token = token;
  return accept(user, "token");
}

function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  session.user = null;
  session.mode = null;
  session.csrf = null;
  session.token = null;
}

// Ends the session on the server too; the page forgets it whatever the server says.
export async function signOut() {
  const wasSession = session.mode === "session";
  try {
    if (wasSession) await api("/session", { method: "DELETE" });
  } catch (err) {
    // already ended (401) or unreachable: the cookie is the server's to clear
  } finally {
    forget();
  }
}

// Where the SSO button goes: back to `next` (a path under /ui) after signing in.
export function oidcLoginUrl(next) {
  return "/auth/oidc/login?" + new URLSearchParams({ next });
}
