// The browser's own check of an inclusion proof (RFC 9162, section 2.1.3.2) and of a C2SP
// signed checkpoint, with WebCrypto: SHA-256 and Ed25519. Nothing here trusts what the
// server says it found; it recomputes from the entry's bytes, the sibling hashes and the
// signed note.

const encoder = new TextEncoder();

export function hex(bytes) {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (typeof text !== "string" || !/^([0-9a-f]{2})*$/i.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function fromBase64(text) {
  try {
    const raw = atob(text);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  } catch (err) {
    return null;
  }
}

async function sha256(...parts) {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

export const leafHash = (data) => sha256(Uint8Array.of(0), data);
export const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

// Walks the path from the leaf hash of entry `index` in a tree of `size`: each step says
// where the sibling sits (worked out from index and size, not taken from the server),
// the two inputs and their hash. `problem` is set when the path has the wrong length.
export async function walkInclusion(index, size, leaf, path) {
  const steps = [];
  if (!(Number.isInteger(index) && Number.isInteger(size) && index >= 0 && index < size)) {
    return { steps, root: null, problem: "index" };
  }
  let fn = index;
  let sn = size - 1;
  let value = leaf;
  for (const sibling of path) {
    if (sn === 0) return { steps, root: null, problem: "long" };
    let side;
    if (fn % 2 === 1 || fn === sn) {
      side = "left";
      const result = await nodeHash(sibling, value);
      steps.push({ side, sibling, left: sibling, right: value, result });
      value = result;
      if (fn % 2 === 0) {
        while (!(fn % 2 === 1 || fn === 0)) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      side = "right";
      const result = await nodeHash(value, sibling);
      steps.push({ side, sibling, left: value, right: sibling, result });
      value = result;
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return { steps, root: null, problem: "short" };
  return { steps, root: value, problem: null };
}

// A C2SP checkpoint note: "origin\nsize\nbase64 root\n[extensions]\n\n— name base64sig\n".
export function parseNote(note) {
  const split = typeof note === "string" ? note.indexOf("\n\n") : -1;
  if (split < 0) return null;
  const text = note.slice(0, split + 1);
  const lines = text.split("\n");
  const size = /^[0-9]+$/.test(lines[1] || "") ? Number.parseInt(lines[1], 10) : null;
  const root = fromBase64(lines[2] || "");
  const signatures = note.slice(split + 2).split("\n").filter((l) => l.startsWith("\u2014 ")).map((line) => {
    const [name, sig] = line.slice(2).split(" ");
    return { line, name, bytes: fromBase64(sig || "") };
  });
  return { text, origin: lines[0], size, root: root && root.length === 32 ? root : null, signatures };
}

// A verifier key "<name>+<hex key id>+<base64(0x01 || public key)>" (golang.org/x/mod/sumdb/note).
export function parseVerifierKey(vkey) {
  // The base64 may itself hold "+": the name and the key id are the first two fields.
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(String(vkey || "").trim());
  if (!match) return null;
  const parts = match;
  const id = fromHex(parts[2]);
  const key = fromBase64(parts[3]);
  if (!id || id.length !== 4 || !key || key.length !== 33 || key[0] !== 1) return null;
  return { name: parts[1], id, key: key.slice(1) };
}

// "ok", "bad" (no signature of this key verifies), "unsupported" (no Ed25519 in this browser).
export async function checkNoteSignature(parsed, verifier) {
  if (!parsed || !verifier) return "bad";
  const idInput = new Uint8Array([...encoder.encode(verifier.name), 0x0a, 0x01, ...verifier.key]);
  const keyId = (await sha256(idInput)).slice(0, 4);
  if (hex(keyId) !== hex(verifier.id)) return "bad";
  let key;
  try {
    key = await crypto.subtle.importKey("raw", verifier.key, { name: "Ed25519" }, false, ["verify"]);
  } catch (err) {
    return "unsupported";
  }
  for (const signature of parsed.signatures) {
    if (signature.name !== verifier.name || !signature.bytes || signature.bytes.length !== 68) continue;
    if (hex(signature.bytes.slice(0, 4)) !== hex(keyId)) continue;
    if (await crypto.subtle.verify({ name: "Ed25519" }, key, signature.bytes.slice(4), encoder.encode(parsed.text))) {
      return "ok";
    }
  }
  return "bad";
}
