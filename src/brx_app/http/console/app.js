// BRX Sync console: a dependency-free page over the same authenticated API as any client.
// The token lives in this tab only (memory and sessionStorage): never in a URL, never on disk.
// Text from the server is only ever set as textContent, never parsed as HTML.
"use strict";

(() => {
  const API = "/api/v1/sync";
  const PAGE = 50;
  // The condition and language lists are the API's own: read from /openapi.json (below).
  const VOCABULARY_PATH = `${API}/inventory/{user_id}`;
  const LANGUAGE_KEYS = ["mtg_language", "pokemon_language", "language"];
  const SYNC_TYPES = ["bulk_sync", "periodic_sync"];
  const PUSH_TYPES = ["update", "delete", "purchase"];  // operations that change CardTrader

  const T = {
    en: {
      title: "BRX Sync console", language: "Language", sign_out: "Sign out", sign_in: "Sign in",
      signin_title: "Sign in",
      signin_help: "Paste an access token. It stays in this tab only (never in the address bar or saved on disk).",
      tab_sync: "Sync", tab_inventory: "Inventory", tab_problems: "What went wrong",
      tab_webhook: "Webhook setup", tab_operator: "Operator",
      force: "force (run even if one is running; allow large deletions)",
      start_sync: "Start bulk sync", blueprint_id: "Blueprint id",
      dry_run: "dry run (count, change nothing)", reconcile: "Reconcile from CardTrader",
      history: "History", card_name: "Card name", cardtrader_id: "CardTrader id",
      condition: "Condition", language_f: "Language", out_of_stock: "Out of stock",
      unlisted: "Not on CardTrader", any: "any", yes: "yes", no: "no", sort: "Sort",
      sort_id: "oldest first", sort_id_desc: "newest first", sort_name: "name A–Z",
      sort_name_desc: "name Z–A", sort_price: "cheapest", sort_price_desc: "dearest",
      sort_quantity: "fewest", sort_quantity_desc: "most", sort_updated_desc: "recently changed",
      search: "Search", previous: "Previous", next: "Next", back: "Back to the inventory",
      quantity: "Quantity", price_eur: "Price (€)", description: "Description", foil: "foil",
      signed: "signed", altered: "altered", save: "Save", units: "Units",
      buy: "Sell on the shop's site", delete: "Delete",
      delete_confirm: "Really delete, here and on CardTrader", stock_history: "Stock history",
      problems_help: "Pushes to CardTrader that are waiting or failed, and webhooks that could not be applied, with their attempts and last error. A failed one can be retried; a retried one is listed as its retry. Webhooks refused for a bad signature are not stored (anyone can send them): the access log records each as a 401 on the webhook route (Operator, recent logs, when the service logs at INFO).",
      refresh: "Refresh", webhook_url: "Give CardTrader this URL:", copy: "Copy",
      dev_title: "Development: try it with the sandbox", ct_token: "CardTrader token",
      setup_user: "Set up a test user (me)", product_id: "Product id (empty: any)",
      send_order: "Send a signed test order", logs: "Recent logs", level: "Level",
      request_id: "Request id", filter: "Filter",
      who: "User {user} · operator: {operator} · token expires {exp}",
      signed_in: "Signed in as {user}.", signed_out: "Signed out.",
      err_token_format: "That is not an access token (three parts separated by dots). Paste the whole token.",
      err_network: "The service cannot be reached. Check that it is running, then try again.",
      err_401: "The token was refused (invalid, or not an MFA-verified access token). Paste a new one.",
      err_expired: "The token has expired. Paste a new one.",
      err_403: "This token may not do that (another user's data, or an operator-only screen).",
      err_404: "Not found: {message}", err_refused: "Refused: {message}",
      err_429: "Too many requests. Wait {seconds} s and try again.",
      err_503: "A service it depends on is unavailable: {message}",
      err_other: "Unexpected answer (HTTP {status}): {message}", trace: "trace id {id}",
      not_set_up: "This user is not set up yet: connect a CardTrader account first (Webhook setup).",
      never: "never", status: "Status", last_sync: "Last sync", last_error: "Last error",
      sync_started: "Bulk sync started (task {task}). Progress below.",
      reconcile_started: "Reconciliation queued (task {task}){dry}.", dry_note: ", dry run: nothing will change",
      task_done: "Reconciliation finished: {message}", task_failed: "Reconciliation failed: {message}",
      task_waiting: "Still running after {seconds} s (task {task}); its outcome will show in the history.",
      vocabulary_missing: "The API description (/openapi.json) could not be read, so the condition and language lists are empty. Reload the page.",
      progress: "{percent}% · {processed} of {total} products",
      sync_done: "Sync finished: {created} created, {updated} updated, {unchanged} unchanged, {skipped} skipped, {deleted} deleted, {failed} failed.",
      sync_failed: "The sync failed: {message}",
      guard: "The sync stopped before deleting anything: {message}. CardTrader's export listed far fewer products than this inventory holds, which is more often a CardTrader problem than a sold-out shop. If the shop really removed them, start the sync again with “force”.",
      c_total_products: "products exported", c_processed: "processed", c_created: "created",
      c_updated: "updated", c_unchanged: "unchanged", c_skipped: "skipped (not in the catalogue)",
      c_deleted: "deleted", c_failed: "failed",
      no_history: "No runs yet.", no_items: "No items match.", no_problems: "Nothing is waiting or failed.",
      page: "{from}–{to} of {total}", not_listed: "not on CardTrader",
      h_card: "Card", h_blueprint: "Blueprint", h_condition: "Condition", h_language: "Language",
      h_qty: "Qty", h_price: "Price", h_ct: "CardTrader", h_when: "When", h_change: "Change",
      h_reason: "Why", h_after: "After", h_operation: "Operation", h_type: "Type",
      h_status: "Status", h_attempts: "Attempts", h_error: "Last error", h_subject: "Item / blueprint",
      h_dependency: "Dependency", h_state: "State", h_message: "Message", h_level: "Level",
      h_request: "Request id", h_started: "Started", h_done: "Finished", h_result: "Result",
      r_sync: "sync from CardTrader", r_order: "order on CardTrader", r_order_restore: "order canceled (restored)",
      r_purchase: "sale on the shop's site", r_edit: "edit here", r_correction: "correction (CardTrader disagreed)",
      price_bad: "Price: write euros, like 1.50.", quantity_bad: "Quantity: a whole number, 0 or more.",
      nothing_changed: "Nothing changed.",
      saved: "Saved here. {ct}", ct_queued: "CardTrader update queued (task {task}).",
      ct_not_listed: "Not on CardTrader: nothing to push.",
      sold: "Sold {n}; {left} left here. {ct}", ct_confirmed: "CardTrader confirmed the sale.",
      ct_purchase_queued: "CardTrader's decrement is queued (task {task}).",
      sold_refused: "Not sold: {message}. The stock here now matches CardTrader.",
      deleted: "Deleted here. {ct}", ct_delete_queued: "CardTrader deletion queued (task {task}).",
      retry: "Retry", retried: "Retry queued (task {task}).",
      retry_done: "The retry finished (task {task}).", retry_done_push: "The retry landed: CardTrader has the change (task {task}).",
      retry_failed: "The retry failed too: {message}", retry_of: "retry of {id}",
      secret_yes: "The webhook secret is configured: deliveries are verified.",
      secret_no: "No webhook secret yet: connect the CardTrader account first.",
      copied: "Copied.", copy_manual: "Select the URL and copy it.",
      setup_done: "Test user ready. Webhook secret configured: {secret}.",
      order_sent: "Order {order} sold {qty} of product {product} on the sandbox; webhook answered HTTP {status}.",
      need_operator: "Recent logs need an operator token.",
      queue: "Queue depth", q_empty: "no jobs waiting",
      rate: "CardTrader calls by this process: {total} in all; over the last {seconds} s, {per10} per 10 s, against CardTrader's limit of 200 per 10 s per token (other processes using the token, such as the worker, count too); {waits} waits for the shared limiter so far.",
      rate_first: "CardTrader calls by this process: {total} in all (CardTrader allows 200 per 10 s per token); {waits} waits for the shared limiter so far. Refresh to see the recent rate against that limit.",
      no_logs: "No matching records.",
      no_dependencies: "This process depends on no database or cache: it runs on in-memory stores (the demo).",
      a_few: "a few",
      st_pending: "waiting", st_completed: "done", st_failed: "failed",
      st_idle: "not synced yet", st_initial_sync: "first sync running", st_active: "in sync", st_error: "error",
      st_healthy: "healthy", st_unhealthy: "not answering",
      op_bulk_sync: "bulk sync", op_periodic_sync: "periodic sync", op_update: "update on CardTrader",
      op_delete: "deletion on CardTrader", op_purchase: "sale pushed to CardTrader", op_webhook: "CardTrader webhook",
    },
    it: {
      title: "Console BRX Sync", language: "Lingua", sign_out: "Esci", sign_in: "Entra",
      signin_title: "Accesso",
      signin_help: "Incolla un token di accesso. Resta solo in questa scheda (mai nella barra degli indirizzi né salvato su disco).",
      tab_sync: "Sincronizzazione", tab_inventory: "Inventario", tab_problems: "Cosa è andato storto",
      tab_webhook: "Webhook", tab_operator: "Operatore",
      force: "forza (anche se una è in corso; consente molte cancellazioni)",
      start_sync: "Avvia sincronizzazione completa", blueprint_id: "Blueprint",
      dry_run: "prova (conta, non cambia nulla)", reconcile: "Riallinea da CardTrader",
      history: "Storico", card_name: "Nome carta", cardtrader_id: "Id CardTrader",
      condition: "Condizione", language_f: "Lingua", out_of_stock: "Esaurite",
      unlisted: "Non su CardTrader", any: "tutte", yes: "sì", no: "no", sort: "Ordina",
      sort_id: "più vecchie", sort_id_desc: "più recenti", sort_name: "nome A–Z",
      sort_name_desc: "nome Z–A", sort_price: "meno care", sort_price_desc: "più care",
      sort_quantity: "meno pezzi", sort_quantity_desc: "più pezzi", sort_updated_desc: "modificate di recente",
      search: "Cerca", previous: "Precedente", next: "Successiva", back: "Torna all'inventario",
      quantity: "Quantità", price_eur: "Prezzo (€)", description: "Descrizione", foil: "foil",
      signed: "firmata", altered: "alterata", save: "Salva", units: "Pezzi",
      buy: "Vendi sul sito del negozio", delete: "Elimina",
      delete_confirm: "Elimina davvero, qui e su CardTrader", stock_history: "Storico delle giacenze",
      problems_help: "Invii a CardTrader in attesa o falliti e webhook che non è stato possibile applicare, con i tentativi e l'ultimo errore. Quelli falliti si possono riprovare; uno già riprovato compare come il suo nuovo tentativo. I webhook rifiutati per una firma non valida non vengono salvati (chiunque può inviarli): il log degli accessi registra ciascuno come 401 sulla rotta del webhook (Operatore, log recenti, quando il servizio registra a livello INFO).",
      refresh: "Aggiorna", webhook_url: "Dai a CardTrader questo URL:", copy: "Copia",
      dev_title: "Sviluppo: prova con il sandbox", ct_token: "Token CardTrader",
      setup_user: "Configura un utente di prova (io)", product_id: "Id prodotto (vuoto: qualsiasi)",
      send_order: "Invia un ordine di prova firmato", logs: "Log recenti", level: "Livello",
      request_id: "Id richiesta", filter: "Filtra",
      who: "Utente {user} · operatore: {operator} · il token scade {exp}",
      signed_in: "Accesso effettuato come {user}.", signed_out: "Uscito.",
      err_token_format: "Questo non è un token di accesso (tre parti separate da punti). Incolla il token intero.",
      err_network: "Il servizio non risponde. Controlla che sia in funzione e riprova.",
      err_401: "Token rifiutato (non valido, o non è un token di accesso con MFA). Incollane uno nuovo.",
      err_expired: "Il token è scaduto. Incollane uno nuovo.",
      err_403: "Questo token non può farlo (dati di un altro utente, o schermata per operatori).",
      err_404: "Non trovato: {message}", err_refused: "Rifiutato: {message}",
      err_429: "Troppe richieste. Attendi {seconds} s e riprova.",
      err_503: "Un servizio necessario non è disponibile: {message}",
      err_other: "Risposta inattesa (HTTP {status}): {message}", trace: "trace id {id}",
      not_set_up: "Questo utente non è ancora configurato: collega prima un account CardTrader (Webhook).",
      never: "mai", status: "Stato", last_sync: "Ultima sincronizzazione", last_error: "Ultimo errore",
      sync_started: "Sincronizzazione avviata (task {task}). Avanzamento qui sotto.",
      reconcile_started: "Riallineamento in coda (task {task}){dry}.", dry_note: ", prova: non cambierà nulla",
      task_done: "Riallineamento terminato: {message}", task_failed: "Riallineamento fallito: {message}",
      task_waiting: "Ancora in corso dopo {seconds} s (task {task}); l'esito comparirà nello storico.",
      vocabulary_missing: "Non è stato possibile leggere la descrizione dell'API (/openapi.json): gli elenchi di condizioni e lingue sono vuoti. Ricarica la pagina.",
      progress: "{percent}% · {processed} di {total} prodotti",
      sync_done: "Sincronizzazione terminata: {created} create, {updated} aggiornate, {unchanged} invariate, {skipped} saltate, {deleted} eliminate, {failed} fallite.",
      sync_failed: "La sincronizzazione è fallita: {message}",
      guard: "La sincronizzazione si è fermata prima di eliminare qualcosa: {message}. L'export di CardTrader elencava molti meno prodotti di quelli in inventario, il che è più spesso un problema di CardTrader che un negozio esaurito. Se il negozio li ha davvero tolti, riavvia con “forza”.",
      c_total_products: "prodotti esportati", c_processed: "elaborati", c_created: "creati",
      c_updated: "aggiornati", c_unchanged: "invariati", c_skipped: "saltati (non a catalogo)",
      c_deleted: "eliminati", c_failed: "falliti",
      no_history: "Nessuna esecuzione.", no_items: "Nessun articolo corrisponde.", no_problems: "Niente in attesa o fallito.",
      page: "{from}–{to} di {total}", not_listed: "non su CardTrader",
      h_card: "Carta", h_blueprint: "Blueprint", h_condition: "Condizione", h_language: "Lingua",
      h_qty: "Pz", h_price: "Prezzo", h_ct: "CardTrader", h_when: "Quando", h_change: "Variazione",
      h_reason: "Perché", h_after: "Dopo", h_operation: "Operazione", h_type: "Tipo",
      h_status: "Stato", h_attempts: "Tentativi", h_error: "Ultimo errore", h_subject: "Articolo / blueprint",
      h_dependency: "Dipendenza", h_state: "Stato", h_message: "Messaggio", h_level: "Livello",
      h_request: "Id richiesta", h_started: "Iniziata", h_done: "Finita", h_result: "Esito",
      r_sync: "sincronizzazione da CardTrader", r_order: "ordine su CardTrader", r_order_restore: "ordine annullato (ripristino)",
      r_purchase: "vendita sul sito del negozio", r_edit: "modifica qui", r_correction: "correzione (CardTrader non concordava)",
      price_bad: "Prezzo: scrivi euro, come 1,50.", quantity_bad: "Quantità: un numero intero, 0 o più.",
      nothing_changed: "Nessuna modifica.",
      saved: "Salvato qui. {ct}", ct_queued: "Aggiornamento su CardTrader in coda (task {task}).",
      ct_not_listed: "Non è su CardTrader: niente da inviare.",
      sold: "Venduti {n}; qui ne restano {left}. {ct}", ct_confirmed: "CardTrader ha confermato la vendita.",
      ct_purchase_queued: "Lo scalo su CardTrader è in coda (task {task}).",
      sold_refused: "Non venduto: {message}. Qui la giacenza ora corrisponde a CardTrader.",
      deleted: "Eliminato qui. {ct}", ct_delete_queued: "Eliminazione su CardTrader in coda (task {task}).",
      retry: "Riprova", retried: "Nuovo tentativo in coda (task {task}).",
      retry_done: "Il nuovo tentativo è terminato (task {task}).", retry_done_push: "Il nuovo tentativo è andato a buon fine: CardTrader ha la modifica (task {task}).",
      retry_failed: "Anche il nuovo tentativo è fallito: {message}", retry_of: "nuovo tentativo di {id}",
      secret_yes: "Il segreto del webhook è configurato: le consegne sono verificate.",
      secret_no: "Nessun segreto del webhook: collega prima l'account CardTrader.",
      copied: "Copiato.", copy_manual: "Seleziona l'URL e copialo.",
      setup_done: "Utente di prova pronto. Segreto webhook configurato: {secret}.",
      order_sent: "L'ordine {order} ha venduto {qty} del prodotto {product} sul sandbox; il webhook ha risposto HTTP {status}.",
      need_operator: "I log recenti richiedono un token da operatore.",
      queue: "Code", q_empty: "nessun job in attesa",
      rate: "Chiamate a CardTrader di questo processo: {total} in tutto; negli ultimi {seconds} s, {per10} ogni 10 s, contro il limite di CardTrader di 200 ogni 10 s per token (contano anche gli altri processi che usano il token, come il worker); finora {waits} attese sul limitatore condiviso.",
      rate_first: "Chiamate a CardTrader di questo processo: {total} in tutto (CardTrader ne consente 200 ogni 10 s per token); finora {waits} attese sul limitatore condiviso. Aggiorna per vedere il ritmo recente rispetto a quel limite.",
      no_logs: "Nessun record corrispondente.",
      no_dependencies: "Questo processo non dipende da alcun database o cache: usa archivi in memoria (la demo).",
      a_few: "alcuni",
      st_pending: "in attesa", st_completed: "fatta", st_failed: "fallita",
      st_idle: "non ancora sincronizzato", st_initial_sync: "prima sincronizzazione in corso", st_active: "sincronizzato", st_error: "errore",
      st_healthy: "funziona", st_unhealthy: "non risponde",
      op_bulk_sync: "sincronizzazione completa", op_periodic_sync: "sincronizzazione periodica", op_update: "aggiornamento su CardTrader",
      op_delete: "eliminazione su CardTrader", op_purchase: "vendita inviata a CardTrader", op_webhook: "webhook di CardTrader",
    },
  };

  const $ = (id) => document.getElementById(id);
  const state = {
    token: null, claims: null, operator: false, environment: null, screen: null,
    offset: 0, total: 0, item: null, polling: null, metrics: null, expiry: null,
    conditions: [], languages: [],
  };
  let lang = sessionStorage.getItem("brx.lang") || (navigator.language.startsWith("it") ? "it" : "en");

  // A server enum in words ("failed" -> "fallita"); an unknown value is shown as it came.
  function word(kind, value) {
    const key = `${kind}_${value}`;
    return (T[lang] && T[lang][key]) || T.en[key] ? t(key) : scalar(value);
  }

  function t(key, vars = {}) {
    const text = (T[lang] && T[lang][key]) || T.en[key] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "on") Object.entries(value).forEach(([ev, fn]) => node.addEventListener(ev, fn));
      else if (key === "data") Object.entries(value).forEach(([k, v]) => { node.dataset[k] = v; });
      else node[key] = value;
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // --- notices: non-blocking, errors stay until dismissed ------------------------------------

  function notify(kind, text, traceId) {
    const body = el("p", {}, text, traceId ? el("span", { class: "trace" }, t("trace", { id: traceId })) : null);
    const close = el("button", { type: "button", title: "×", textContent: "×" });
    const notice = el("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, body, close);
    close.addEventListener("click", () => notice.remove());
    $("notices").append(notice);
    while ($("notices").children.length > 3) $("notices").firstElementChild.remove();
    if (kind !== "error") setTimeout(() => notice.remove(), 8000);
  }

  // --- the API -----------------------------------------------------------------------------

  class ApiFailure extends Error {
    constructor(status, body, headers) {
      const error = (body && body.error) || {};
      super(typeof error.message === "string" ? error.message : "");
      this.status = status;
      this.code = error.code || "";
      this.traceId = (body && body.trace_id) || (headers && headers.get("X-Request-ID")) || "";
      this.retryAfter = headers ? headers.get("Retry-After") : null;
    }
  }

  async function api(method, path, { query, body, allow = [] } = {}) {
    const url = new URL(path.startsWith("/") ? path : `${API}/${path}`, location.origin);
    Object.entries(query || {}).forEach(([k, v]) => {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, String(v));
    });
    const headers = { Accept: "application/json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) {
      throw new ApiFailure(0, null, null);
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!response.ok && !allow.includes(response.status)) throw new ApiFailure(response.status, data, response.headers);
    return data;
  }

  function expired() {
    return state.claims && typeof state.claims.exp === "number" && state.claims.exp * 1000 <= Date.now();
  }

  function explain(err) {
    const message = err.message || err.code || "";
    switch (err.status) {
      case 0: return t("err_network");
      case 401: return expired() ? t("err_expired") : t("err_401");
      case 403: return t("err_403");
      case 404: return t("err_404", { message });
      case 400: case 409: case 413: case 422: return t("err_refused", { message });
      case 429: return t("err_429", { seconds: err.retryAfter || t("a_few") });
      case 503: return t("err_503", { message });
      default: return t("err_other", { status: err.status, message });
    }
  }

  function fail(err) {
    if (!(err instanceof ApiFailure)) { console.error(err); err = new ApiFailure(-1, null, null); }
    notify("error", explain(err), err.traceId);
    if (err.status === 401) signOut(false);
  }

  const guarded = (fn) => async (...args) => {
    try { await fn(...args); } catch (err) { fail(err); }
  };

  // --- formatting --------------------------------------------------------------------------

  const me = () => state.claims.sub;
  const when = (iso) => (iso ? new Date(iso).toLocaleString(lang === "it" ? "it-IT" : "en-GB") : t("never"));
  const euros = (cents) => new Intl.NumberFormat(lang === "it" ? "it-IT" : "en-IE", { style: "currency", currency: "EUR" }).format(cents / 100);
  const count = (n) => new Intl.NumberFormat(lang === "it" ? "it-IT" : "en-GB").format(n || 0);
  const languageOf = (props) => LANGUAGE_KEYS.map((k) => props[k]).find((v) => typeof v === "string") || "";
  const scalar = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? "" : String(v));

  function table(node, headers, rows, empty) {
    node.replaceChildren();
    node.append(el("thead", {}, el("tr", {}, headers.map(([label, cls]) => el("th", { class: cls || "" }, label)))));
    const tbody = el("tbody");
    if (!rows.length) tbody.append(el("tr", {}, el("td", { colSpan: headers.length, class: "sub" }, empty)));
    rows.forEach((row) => tbody.append(row));
    node.append(tbody);
  }

  function facts(node, pairs) {
    node.replaceChildren(...pairs.flatMap(([label, value, cls]) => [el("dt", {}, label), el("dd", { class: cls || "" }, value)]));
  }

  function fillChoices() {
    document.querySelectorAll("select.conditions").forEach((s) => s.replaceChildren(el("option", { value: "" }, t("any")), ...state.conditions.map((c) => el("option", { value: c }, c))));
    document.querySelectorAll("select.languages").forEach((s) => s.replaceChildren(el("option", { value: "" }, t("any")), ...state.languages.map((c) => el("option", { value: c }, c))));
  }

  // The stored spellings of a vocabulary parameter of the inventory filter: its schema is
  // `anyOf` [the values as stored, the aliases also accepted]; the same types validate the
  // item form's properties, so the lists cannot drift from what the API accepts.
  async function loadVocabulary() {
    const doc = await api("GET", "/openapi.json");
    const params = doc.paths[VOCABULARY_PATH].get.parameters;
    const stored = (name) => {
      const schema = params.find((p) => p.name === name).schema;
      const values = schema.anyOf[0].enum;
      if (!Array.isArray(values) || !values.length) throw new Error(`no ${name} values`);
      return values;
    };
    state.conditions = stored("condition");
    state.languages = stored("language");
    translate();
  }

  function translate() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach((node) => { node.textContent = t(node.dataset.i18n); });
    const kept = ["f-condition", "f-language", "i-condition", "i-language"].map((id) => $(id).value);
    fillChoices();
    ["f-condition", "f-language", "i-condition", "i-language"].forEach((id, i) => { $(id).value = kept[i]; });
    if (state.claims) showWho();
  }

  // --- sign in -----------------------------------------------------------------------------

  function decodeClaims(token) {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const json = atob(parts[1].replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(parts[1].length / 4) * 4, "="));
      const claims = JSON.parse(json);
      return claims && typeof claims.sub === "string" ? claims : null;
    } catch (_) {
      return null;
    }
  }

  function showWho() {
    const exp = typeof state.claims.exp === "number" ? when(new Date(state.claims.exp * 1000).toISOString()) : "?";
    $("who-text").textContent = t("who", { user: me(), operator: state.operator ? t("yes") : t("no"), exp });
  }

  async function signIn(token) {
    const claims = decodeClaims(token);
    if (!claims) { notify("error", t("err_token_format")); return; }
    state.token = token;
    state.claims = claims;
    try {
      await api("GET", `status/${me()}`, { allow: [404] });
    } catch (err) {
      fail(err);
      return;
    }
    sessionStorage.setItem("brx.token", token);
    const logs = await api("GET", "debug-logs", { query: { limit: 1 }, allow: [403, 404] }).catch(() => null);
    state.operator = Boolean(logs && Array.isArray(logs.records));
    const health = await api("GET", "/health", { allow: [503] }).catch(() => null);
    state.environment = health && health.environment;
    clearTimeout(state.expiry);
    if (typeof claims.exp === "number") {
      state.expiry = setTimeout(() => { notify("error", t("err_expired")); signOut(false); }, Math.max(0, claims.exp * 1000 - Date.now()));
    }
    showWho();
    $("who").hidden = false;
    $("signin").hidden = true;
    $("tabs").hidden = false;
    $("token").value = "";
    notify("ok", t("signed_in", { user: me() }));
    show("sync");
  }

  function signOut(say = true) {
    stopPolling();
    clearTimeout(state.expiry);
    state.token = null;
    state.claims = null;
    sessionStorage.removeItem("brx.token");
    document.querySelectorAll(".screen").forEach((s) => { s.hidden = true; });
    $("tabs").hidden = true;
    $("who").hidden = true;
    $("signin").hidden = false;
    if (say) notify("ok", t("signed_out"));
  }

  function show(screen) {
    state.screen = screen;
    document.querySelectorAll(".screen").forEach((s) => { s.hidden = s.id !== screen; });
    document.querySelectorAll("#tabs button").forEach((b) => {
      if (b.dataset.tab === screen || (screen === "item" && b.dataset.tab === "inventory")) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    });
    const load = { sync: loadSync, inventory: loadInventory, problems: loadProblems, webhook: loadWebhook, operator: loadOperator, item: loadHistory }[screen];
    if (load) guarded(load)();
  }

  // --- sync ----------------------------------------------------------------------------------

  async function operations(query) {
    return (await api("GET", `operations/${me()}`, { query })).items;
  }

  // Follows a queued task until it is done; null if it is still running after `seconds`.
  async function awaitTask(taskId, seconds) {
    for (let waited = 0; waited < seconds * 1000 && state.token; waited += 1000) {
      await new Promise((r) => setTimeout(r, 1000));
      const task = await api("GET", `task/${encodeURIComponent(taskId)}`);
      if (task.ready) return task;
    }
    if (state.token) notify("warn", t("task_waiting", { seconds, task: taskId }));
    return null;
  }

  async function loadSync() {
    const status = await api("GET", `status/${me()}`, { allow: [404] });
    if (!status || !status.sync_status) {
      facts($("sync-status"), [[t("status"), t("not_set_up")]]);
    } else {
      facts($("sync-status"), [
        [t("status"), word("st", status.sync_status), `state-${status.sync_status}`],
        [t("last_sync"), when(status.last_sync_at)],
        [t("last_error"), status.last_error || "—"],
      ]);
      showGuard(status.sync_status === "error" ? status.last_error : null);
    }
    const progress = await api("GET", `progress/${me()}`, { allow: [404] });
    if (progress && progress.operation_id) {
      renderProgress(progress);
      if (progress.status === "pending") startPolling();
    }
    await loadSyncHistory();
  }

  async function loadSyncHistory() {
    const items = await operations({ limit: 50 });
    const headers = [[t("h_started")], [t("h_type")], [t("h_status")], [t("h_done")], [t("h_error")]];
    const rows = items.filter((op) => SYNC_TYPES.includes(op.operation_type)).map((op) => el("tr", {},
      el("td", {}, when(op.created_at)), el("td", {}, word("op", op.operation_type)),
      el("td", { class: `state-${op.status}` }, word("st", op.status)), el("td", {}, op.completed_at ? when(op.completed_at) : "—"),
      el("td", {}, scalar(op.last_error) || "—")));
    table($("sync-history"), headers, rows, t("no_history"));
  }

  function showGuard(message) {
    const tripped = typeof message === "string" && /would delete/i.test(message);
    $("guard").hidden = !tripped;
    if (tripped) $("guard").textContent = t("guard", { message });
  }

  function renderProgress(p) {
    $("progress-box").hidden = false;
    $("progress").value = Math.max(0, Math.min(100, p.progress_percent || 0));
    $("progress-text").textContent = t("progress", { percent: p.progress_percent || 0, processed: count(p.processed), total: count(p.total_products) });
    facts($("progress-counts"), ["total_products", "processed", "created", "updated", "unchanged", "skipped", "deleted", "failed"].map((k) => [t(`c_${k}`), count(p[k])]));
  }

  function stopPolling() { clearTimeout(state.polling); state.polling = null; }

  function startPolling() {
    stopPolling();
    const tick = async () => {
      if (!state.token) return;
      try {
        const p = await api("GET", `progress/${me()}`);
        renderProgress(p);
        if (p.status === "pending") { state.polling = setTimeout(tick, 700); return; }
        state.polling = null;
        if (p.status === "completed") notify("ok", t("sync_done", Object.fromEntries(["created", "updated", "unchanged", "skipped", "deleted", "failed"].map((k) => [k, count(p[k])]))));
        else {
          const status = await api("GET", `status/${me()}`);
          notify("error", t("sync_failed", { message: status.last_error || "" }));
        }
        await loadSync();
      } catch (err) { state.polling = null; fail(err); }
    };
    state.polling = setTimeout(tick, 300);
  }

  async function startSync() {
    const answer = await api("POST", `start/${me()}`, { query: { force: $("force").checked } });
    notify("ok", t("sync_started", { task: answer.task_id }));
    showGuard(null);
    startPolling();
  }

  async function reconcile() {
    const dry = $("dry-run").checked;
    const answer = await api("POST", `sync-from-cardtrader/${me()}`, { query: { dry_run: dry, blueprint_id: $("reconcile-blueprint").value } });
    notify("ok", t("reconcile_started", { task: answer.task_id, dry: dry ? t("dry_note") : "" }));
    const task = await awaitTask(answer.task_id, 120);
    if (!task) return;
    const ok = task.status === "SUCCESS";
    notify(ok ? "ok" : "error", t(ok ? "task_done" : "task_failed", { message: task.message }));
    await loadSync();
  }

  // --- inventory -----------------------------------------------------------------------------

  function filters() {
    return {
      q: $("f-q").value.trim(), blueprint_id: $("f-blueprint").value, external_stock_id: $("f-external").value.trim(),
      condition: $("f-condition").value, language: $("f-language").value, out_of_stock: $("f-out").value,
      unlisted: $("f-unlisted").value, sort: $("f-sort").value, limit: PAGE, offset: state.offset,
    };
  }

  async function loadInventory() {
    const page = await api("GET", `inventory/${me()}`, { query: filters() });
    state.total = page.total;
    const from = page.items.length ? state.offset + 1 : 0;
    $("page-text").textContent = t("page", { from: count(from), to: count(state.offset + page.items.length), total: count(page.total) });
    $("prev").disabled = state.offset === 0;
    $("next").disabled = state.offset + PAGE >= page.total;
    const rows = page.items.map((item) => el("tr", { class: "clickable", data: { id: item.id }, on: { click: () => openItem(item) } },
      el("td", {}, el("div", {}, item.card_name || `#${item.blueprint_id}`), el("div", { class: "sub" }, item.expansion_name || "")),
      el("td", {}, item.blueprint_id), el("td", {}, scalar(item.properties.condition)),
      el("td", {}, languageOf(item.properties)), el("td", { class: "num" }, count(item.quantity)),
      el("td", { class: "num" }, euros(item.price_cents)), el("td", {}, item.external_stock_id || t("not_listed"))));
    table($("items"), [[t("h_card")], [t("h_blueprint")], [t("h_condition")], [t("h_language")], [t("h_qty"), "num"], [t("h_price"), "num"], [t("h_ct")]], rows, t("no_items"));
  }

  // --- one item ------------------------------------------------------------------------------

  function openItem(item) {
    state.item = item;
    $("item-title").textContent = item.card_name || `#${item.blueprint_id}`;
    renderItem();
    $("delete-confirm").hidden = true;
    show("item");
  }

  function renderItem() {
    const item = state.item;
    facts($("item-facts"), [
      [t("h_card"), item.card_name || "—"], ["", item.expansion_name || ""],
      [t("h_blueprint"), item.blueprint_id], [t("h_ct"), item.external_stock_id || t("not_listed")],
      [t("h_qty"), count(item.quantity)], [t("h_price"), euros(item.price_cents)],
    ]);
    $("i-quantity").value = item.quantity;
    $("i-price").value = (item.price_cents / 100).toFixed(2);
    $("i-description").value = item.description || "";
    $("i-condition").value = scalar(item.properties.condition);
    $("i-language").value = languageOf(item.properties);
    ["foil", "signed", "altered"].forEach((k) => { $(`i-${k}`).checked = item.properties[k === "foil" ? "mtg_foil" : k] === true; });
  }

  function centsOf(text) {
    const clean = text.trim().replace(",", ".");
    if (!/^\d+(\.\d{1,2})?$/.test(clean)) return null;
    return Math.round(parseFloat(clean) * 100);
  }

  function changes() {
    const item = state.item;
    const body = {};
    const quantity = Number($("i-quantity").value);
    if (!Number.isInteger(quantity) || quantity < 0 || $("i-quantity").value === "") throw new Error(t("quantity_bad"));
    const cents = centsOf($("i-price").value);
    if (cents === null) throw new Error(t("price_bad"));
    if (quantity !== item.quantity) body.quantity = quantity;
    if (cents !== item.price_cents) body.price_cents = cents;
    if ($("i-description").value !== (item.description || "")) body.description = $("i-description").value;
    const props = {};
    if ($("i-condition").value && $("i-condition").value !== scalar(item.properties.condition)) props.condition = $("i-condition").value;
    const langKey = LANGUAGE_KEYS.find((k) => typeof item.properties[k] === "string") || "mtg_language";
    if ($("i-language").value && $("i-language").value !== languageOf(item.properties)) props[langKey] = $("i-language").value;
    [["foil", "mtg_foil"], ["signed", "signed"], ["altered", "altered"]].forEach(([id, key]) => {
      if ($(`i-${id}`).checked !== (item.properties[key] === true)) props[key] = $(`i-${id}`).checked;
    });
    if (Object.keys(props).length) body.properties = props;
    return body;
  }

  async function saveItem() {
    let body;
    try { body = changes(); } catch (err) { notify("error", err.message); return; }
    if (!Object.keys(body).length) { notify("warn", t("nothing_changed")); return; }
    const answer = await api("PUT", `inventory/${me()}/item/${state.item.id}`, { body });
    const ct = answer.cardtrader_sync_queued ? t("ct_queued", { task: answer.task_id }) : t("ct_not_listed");
    notify("ok", t("saved", { ct }));
    const { properties, ...rest } = body;
    state.item = { ...state.item, ...rest, properties: { ...state.item.properties, ...(properties || {}) } };
    renderItem();
    await loadHistory();
  }

  async function refreshItem() {
    const item = state.item;
    const query = item.external_stock_id ? { external_stock_id: item.external_stock_id } : { blueprint_id: item.blueprint_id };
    const page = await api("GET", `inventory/${me()}`, { query: { ...query, limit: 1000 } });
    const found = page.items.find((i) => i.id === item.id);
    if (found) { state.item = found; renderItem(); }
  }

  async function buy() {
    const n = Number($("buy-quantity").value);
    try {
      const answer = await api("POST", `purchase/${me()}/item/${state.item.id}`, { body: { purchaseQuantity: n } });
      const ct = answer.cardtrader_confirmed ? t("ct_confirmed")
        : answer.cardtrader_sync_queued ? t("ct_purchase_queued", { task: answer.task_id }) : t("ct_not_listed");
      notify("ok", t("sold", { n: answer.quantity_purchased, left: answer.remaining_quantity, ct }));
      state.item = { ...state.item, quantity: answer.remaining_quantity };
      renderItem();
    } catch (err) {
      if (!(err instanceof ApiFailure) || err.status !== 409) throw err;
      notify("error", t("sold_refused", { message: err.message }), err.traceId);
      await refreshItem();
    }
    await loadHistory();
  }

  async function deleteItem() {
    const answer = await api("DELETE", `inventory/${me()}/item/${state.item.id}`);
    const ct = answer.cardtrader_sync_queued ? t("ct_delete_queued", { task: answer.task_id }) : t("ct_not_listed");
    notify("ok", t("deleted", { ct }));
    state.item = null;
    show("inventory");
  }

  async function loadHistory() {
    if (!state.item) return;
    const data = await api("GET", `inventory/${me()}/item/${state.item.id}/history`, { query: { limit: 100 } });
    const rows = data.entries.map((e) => el("tr", {},
      el("td", {}, when(e.at)), el("td", { class: "num" }, e.delta > 0 ? `+${e.delta}` : String(e.delta)),
      el("td", {}, t(`r_${e.reason}`)), el("td", { class: "num" }, e.quantity_after === null ? "—" : count(e.quantity_after)),
      el("td", { class: "sub" }, e.operation_id)));
    table($("history"), [[t("h_when")], [t("h_change"), "num"], [t("h_reason")], [t("h_after"), "num"], [t("h_operation")]], rows, t("no_history"));
  }

  // --- what went wrong -------------------------------------------------------------------------

  async function loadProblems() {
    const headers = [[t("h_when")], [t("h_type")], [t("h_status")], [t("h_attempts"), "num"], [t("h_error")], [t("h_subject")], [""]];
    // a failed operation that was retried is listed as its retry (pending, failed, or gone)
    const failed = (await operations({ status: "failed", limit: 100 })).filter((op) => !op.retried_by);
    const pending = await operations({ status: "pending", limit: 100 });
    const rows = [...failed, ...pending].map((op) => el("tr", { data: { operation: op.operation_id, item: scalar(op.item_id) } },
      el("td", {}, when(op.created_at)), el("td", {}, word("op", op.operation_type)),
      el("td", { class: `state-${op.status}` }, word("st", op.status)), el("td", { class: "num" }, count(op.attempts)),
      el("td", {}, scalar(op.last_error) || "—"),
      el("td", {}, el("div", {}, [op.item_id ? `#${op.item_id}` : "", op.blueprint_id ? ` bp ${op.blueprint_id}` : ""].join("")),
        op.retry_of ? el("div", { class: "sub" }, t("retry_of", { id: op.retry_of })) : null),
      el("td", {}, op.status === "failed" ? el("button", { type: "button", textContent: t("retry"), on: { click: guarded(() => retry(op)) } }) : "")));
    table($("problem-list"), headers, rows, t("no_problems"));
  }

  async function retry(op) {
    const answer = await api("POST", `operations/${me()}/${encodeURIComponent(op.operation_id)}/retry`);
    notify("ok", t("retried", { task: answer.task_id }));
    await loadProblems();
    const task = await awaitTask(answer.task_id, 600);  // a retry may wait out CardTrader's circuit breaker
    if (!task) return;
    const push = PUSH_TYPES.includes(op.operation_type);
    if (task.status === "SUCCESS") notify("ok", t(push ? "retry_done_push" : "retry_done", { task: answer.task_id }));
    else notify("error", t("retry_failed", { message: task.message }));
    if (state.screen === "problems") await loadProblems();
  }

  // --- webhook setup ---------------------------------------------------------------------------

  async function loadWebhook() {
    const data = await api("GET", `webhook-url/${me()}`);
    $("webhook-url").textContent = data.webhook_url;
    $("webhook-secret").textContent = data.webhook_secret_configured ? t("secret_yes") : t("secret_no");
    $("webhook-steps").replaceChildren(...["step_1", "step_2", "step_3", "step_4"].map((k) => el("li", {}, scalar(data.instructions[k]))));
    $("dev-tools").hidden = state.environment !== "development";
  }

  async function copyUrl() {
    const url = $("webhook-url").textContent;
    try {
      await navigator.clipboard.writeText(url);
      notify("ok", t("copied"));
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents($("webhook-url"));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      notify("warn", t("copy_manual"));
    }
  }

  async function setupUser() {
    const answer = await api("POST", "setup-test-user", { body: { user_id: me(), cardtrader_token: $("ct-token").value.trim() } });
    notify("ok", t("setup_done", { secret: answer.webhook_secret_configured ? t("yes") : t("no") }));
    await loadWebhook();
  }

  async function testOrder() {
    const product = $("order-product").value;
    const body = product ? { product_id: Number(product) } : {};
    const answer = await api("POST", `dev/test-order/${me()}`, { body });
    const status = (answer.webhook_statuses || []).join(", ") || "—";
    notify("ok", t("order_sent", { order: answer.order_id, qty: answer.quantity, product: answer.product_id, status }));
  }

  // --- operator --------------------------------------------------------------------------------

  function metricSum(text, name) {
    return text.split("\n").filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((sum, line) => sum + (parseFloat(line.trim().split(/\s+/).pop()) || 0), 0);
  }

  async function loadOperator() {
    const health = await api("GET", "/health", { allow: [503] });
    const rows = Object.entries(health.dependencies || {}).map(([name, dep]) => el("tr", {},
      el("td", {}, name), el("td", { class: `state-${dep.status}` }, word("st", dep.status)), el("td", {}, dep.message)));
    table($("health"), [[t("h_dependency")], [t("h_state")], [t("h_message")]], rows, t("no_dependencies"));
    const depth = Object.entries(health.queue_depth || {});
    facts($("queue"), [[t("queue"), depth.length ? depth.map(([q, n]) => `${q}: ${count(n)}`).join(" · ") : t("q_empty")]]);
    await loadRate();
    await loadLogs();
  }

  async function loadRate() {
    const response = await fetch("/metrics").catch(() => null);
    if (!response || !response.ok) { $("ratelimit").textContent = t("err_network"); return; }
    const text = await response.text();
    const sample = { at: Date.now(), calls: metricSum(text, "brx_cardtrader_calls_total"), waits: metricSum(text, "brx_rate_limit_waits_total") };
    const before = state.metrics;
    state.metrics = sample;
    const totals = { total: count(sample.calls), waits: count(sample.waits) };
    if (!before) { $("ratelimit").textContent = t("rate_first", totals); return; }
    const seconds = Math.max(1, (sample.at - before.at) / 1000);
    const per10 = count(Math.round(((sample.calls - before.calls) * 10) / seconds));
    $("ratelimit").textContent = t("rate", { ...totals, seconds: count(Math.round(seconds)), per10 });
  }

  async function loadLogs() {
    const headers = [[t("h_when")], [t("h_level")], [t("h_message")], [t("h_request")]];
    const data = await api("GET", "debug-logs", { query: { limit: 500 }, allow: [403] });
    if (!data || !Array.isArray(data.records)) { table($("logs"), headers, [], t("need_operator")); return; }
    const level = $("log-level").value;
    const request = $("log-request").value.trim();
    const rows = data.records.filter((r) => (!level || r.level === level) && (!request || r.request_id === request))
      .slice(0, 200).map((r) => el("tr", {}, el("td", {}, when(r.time)), el("td", {}, scalar(r.level)), el("td", {}, scalar(r.message)), el("td", { class: "sub" }, scalar(r.request_id))));
    table($("logs"), headers, rows, t("no_logs"));
  }

  // --- wiring ----------------------------------------------------------------------------------

  function on(id, event, fn) {
    $(id).addEventListener(event, (ev) => { if (event === "submit") ev.preventDefault(); guarded(fn)(ev); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("lang").value = lang;
    translate();
    loadVocabulary().catch(() => notify("error", t("vocabulary_missing")));
    on("lang", "change", () => { lang = $("lang").value; sessionStorage.setItem("brx.lang", lang); translate(); if (state.token && state.screen) show(state.screen); });
    on("signin-form", "submit", () => signIn($("token").value.trim()));
    on("sign-out", "click", () => signOut());
    document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
    on("start", "click", startSync);
    on("reconcile", "click", reconcile);
    on("filters", "submit", () => { state.offset = 0; return loadInventory(); });
    on("prev", "click", () => { state.offset = Math.max(0, state.offset - PAGE); return loadInventory(); });
    on("next", "click", () => { state.offset += PAGE; return loadInventory(); });
    on("back", "click", () => show("inventory"));
    on("item-form", "submit", saveItem);
    on("buy", "click", buy);
    on("delete", "click", () => { $("delete-confirm").hidden = false; });
    on("delete-confirm", "click", deleteItem);
    on("problems-refresh", "click", loadProblems);
    on("copy", "click", copyUrl);
    on("setup-form", "submit", setupUser);
    on("test-order", "click", testOrder);
    on("operator-refresh", "click", loadOperator);
    on("log-filter", "submit", loadLogs);
    const kept = sessionStorage.getItem("brx.token");
    if (kept) guarded(signIn)(kept);
  });
})();
