// The kit's SPA demo: sign in through the cookie transport, call the API, refresh once
// when the access token has expired, sign out. The tokens are HttpOnly cookies: this
// script never sees them; it only reads the csrftoken cookie for the X-CSRFToken header.
// Its messages come translated from the page (data-* attributes of #status).
"use strict";

(function () {
  const API = "/api/v1";
  const $ = (id) => document.getElementById(id);
  let refreshes = 0;

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The message `name` (a data-* attribute of #status), "%s" replaced by `value`.
  function status(name, value) {
    const text = $("status").dataset[name] || "";
    $("status").textContent = text.replace("%s", value === undefined ? "" : value);
  }

  async function send(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json();
    return { response, data };
  }

  // An expired (token_invalid) or outdated (token_stale) access token: refresh once, retry.
  async function callApi(method, path, body) {
    let result = await send(method, path, body);
    const code = result.data && result.data.code;
    if (result.response.status === 401 && (code === "token_invalid" || code === "token_stale")) {
      const refreshed = await send("POST", "/auth/cookie/refresh/");
      if (refreshed.response.ok) {
        refreshes += 1;
        document.body.dataset.refreshes = String(refreshes);
        result = await send(method, path, body);
      }
    }
    return result;
  }

  function show(signedIn) {
    $("sign-in").hidden = signedIn;
    $("signed-in").hidden = !signedIn;
  }

  async function loadMe() {
    status("loading"); // so "Profile loaded." always means this load
    const { response, data } = await callApi("GET", "/me/");
    if (!response.ok) {
      show(false);
      status("signedOutCode", data && data.code);
      return;
    }
    $("me-username").textContent = data.username;
    $("me-email").textContent = data.email;
    show(true);
    status("loaded");
  }

  async function signIn(event) {
    event.preventDefault();
    const { response, data } = await send("POST", "/auth/cookie/login/", {
      username: $("spa-username").value,
      password: $("spa-password").value,
    });
    $("spa-password").value = "";
    if (!response.ok) {
      status("failed", data.detail);
      return;
    }
    await loadMe();
  }

  async function signOut() {
    await send("POST", "/auth/cookie/logout/");
    show(false);
    status("signedOut");
  }

  async function start() {
    await fetch(API + "/auth/csrf/", { credentials: "same-origin" });
    $("sign-in").addEventListener("submit", signIn);
    $("load-me").addEventListener("click", loadMe);
    $("sign-out").addEventListener("click", signOut);
    document.body.dataset.ready = "true";
  }

  start();
})();
