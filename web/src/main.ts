// The licences page: Licences and Modules with the Buy column and the next-period pencil,
// the purchase confirmation, users without a licence, invoices and the action log.
// state.ts holds the state, dom.ts builds elements, page.ts the shell, views/ the sections,
// purchase.ts the purchase flow.

import "./style.css";
import { Api } from "./api";
import { currentToken, type Config } from "./auth";
import { load, render, showAddressedInvoice } from "./page";
import { state } from "./state";

async function start(): Promise<void> {
  render();
  try {
    const answer = await fetch("./config.json", { cache: "no-cache" });
    if (answer.ok) state.config = { ...state.config, ...((await answer.json()) as Partial<Config>) };
  } catch {
    // No config: the API is on this page's origin and the token comes in the URL.
  }
  const token = await currentToken(state.config);
  state.api = token ? new Api(state.config.api_base, token) : null;
  render();
  await load();
}

window.addEventListener("hashchange", () => void showAddressedInvoice());

void start();
