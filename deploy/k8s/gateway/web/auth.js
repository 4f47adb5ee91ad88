// Who is signed in. The token is an access token the gateway and the services verify; the page
// only reads its claims to show the name and the staff link (the services decide what is allowed).
//
// In the dev mesh, /dev/sign-in sets the `booking_token` cookie and redirects here. A real
// deployment gets the token from its OIDC provider (authorization code with PKCE; see
// deploy/README.md) and hands it to setToken().
const COOKIE = "booking_token";
let token = null;

function readCookie() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === COOKIE) return rest.join("=") || null;
  }
  return null;
}

function decodeClaims(jwt) {
  try {
    const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = payload + "=".repeat((4 - (payload.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export function setToken(value) {
  token = value;
}

export function currentToken() {
  if (token === null) token = readCookie();
  const claims = token ? decodeClaims(token) : null;
  if (!claims || typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) return null;
  return token;
}

// {sub, role, isAdmin} of the signed-in user, or null.
export function currentUser() {
  const value = currentToken();
  const claims = value ? decodeClaims(value) : null;
  if (!claims || typeof claims.sub !== "string") return null;
  return { sub: claims.sub, role: claims.role, isAdmin: claims.role === "ADMIN" };
}

export function signOut() {
  token = null;
  document.cookie = `${COOKIE}=; Path=/; Max-Age=0; SameSite=Strict`;
}

// The dev sign-in address for a user id (the page's sign-in form links there).
export function devSignInUrl(sub, { admin = false } = {}) {
  const query = new URLSearchParams({ sub });
  if (admin) query.set("role", "ADMIN");
  return `/dev/sign-in?${query}`;
}
