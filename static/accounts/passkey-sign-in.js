// "Sign in with a passkey" (the sign-in page, the second-factor page): the API opens a
// passwordless sign-in (POST /api/v1/auth/passkey/begin/), the browser asks the
// authenticator for a discoverable credential of this site, and the form
// #passkey-sign-in-form posts the answer to the page's own endpoint, which opens the
// browser session. A file, not inline script (the Content-Security-Policy); its messages
// come translated from the page (data-* attributes of #passkey-sign-in-status).
(() => {
  const button = document.getElementById("passkey-sign-in");
  const form = document.getElementById("passkey-sign-in-form");
  const status = document.getElementById("passkey-sign-in-status");
  if (!button || !form) return;
  // Shown only where the browser can use a passkey (hidden without JavaScript).
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) return;
  document.getElementById("passkey-sign-in-block").hidden = false;
  button.addEventListener("click", async () => {
    status.textContent = "";
    button.disabled = true;
    try {
      const begin = await fetch(button.dataset.begin, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
        },
        body: "{}",
      });
      const body = await begin.json();
      if (!begin.ok) throw new Error(body.detail || status.dataset.failed);
      const credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(body.options),
      });
      form.elements.challenge_token.value = body.challenge_token;
      form.elements.credential.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      status.textContent =
        error.name === "NotAllowedError" ? status.dataset.cancelled : error.message;
      button.disabled = false;
    }
  });
})();
