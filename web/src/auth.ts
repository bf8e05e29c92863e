// Where the page's bearer token comes from. Locally the run command hands it over in the URL
// fragment (never sent to a server, removed from the address bar at once). Deployed, the page
// signs in with the identity provider named in config.json (authorization code + PKCE).

export interface Oidc {
  authorization_endpoint: string;
  token_endpoint: string;
  client_id: string;
  scope?: string;
  audience?: string;
}

export interface Config {
  api_base: string;
  oidc: Oidc | null;
  /** Only the local run command's config.json says true; deployed configs never do. */
  local?: boolean;
  /** R29: where customers write about their subscription (the stack's SupportEmail). */
  support_email?: string;
}

const KEY = "licensing.token";

function expired(token: string): boolean {
  try {
    const payload = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: number };
    return typeof claims.exp === "number" && claims.exp * 1000 <= Date.now();
  } catch {
    return true;
  }
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function random(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

function here(): string {
  return location.origin + location.pathname;
}

/** The token to call the API with, or null when the person must sign in. */
export async function currentToken(config: Config): Promise<string | null> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const handed = fragment.get("token");
  if (handed) {
    // A token in a link is a local convenience only: deployed, a crafted link must not sign
    // a person in as someone else. Either way it leaves the address bar at once.
    if (config.local === true) {
      sessionStorage.setItem(KEY, handed);
    }
    history.replaceState(null, "", here() + location.search);
  }
  const query = new URLSearchParams(location.search);
  const code = query.get("code");
  if (config.oidc && code && query.get("state") === sessionStorage.getItem("licensing.state")) {
    const body = new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: here(),
      client_id: config.oidc.client_id,
      code_verifier: sessionStorage.getItem("licensing.verifier") ?? "",
    });
    history.replaceState(null, "", here());
    const answer = await fetch(config.oidc.token_endpoint, { method: "POST", body });
    if (answer.ok) {
      const tokens = (await answer.json()) as { access_token?: string };
      if (tokens.access_token) sessionStorage.setItem(KEY, tokens.access_token);
    }
  }
  const token = sessionStorage.getItem(KEY);
  if (token && !expired(token)) return token;
  sessionStorage.removeItem(KEY);
  return null;
}

/** Sends the person to the identity provider; false when none is configured. */
export async function signIn(config: Config): Promise<boolean> {
  if (!config.oidc) return false;
  const verifier = random();
  const state = random();
  sessionStorage.setItem("licensing.verifier", verifier);
  sessionStorage.setItem("licensing.state", state);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const url = new URL(config.oidc.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: config.oidc.client_id,
    redirect_uri: here(),
    scope: config.oidc.scope ?? "openid",
    state,
    code_challenge: base64url(digest),
    code_challenge_method: "S256",
    ...(config.oidc.audience ? { audience: config.oidc.audience } : {}),
  }).toString();
  location.assign(url.toString());
  return true;
}
