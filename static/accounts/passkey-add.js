// "Add a passkey" (the account page): the API of the signed-in user, on this browser's
// session cookie with the CSRF header, opens a registration
// (POST /api/v1/mfa/passkeys/begin/), the browser has the authenticator make a
// discoverable credential, and POST /api/v1/mfa/passkeys/ stores it under the name typed
// (a first factor's recovery codes, in its answer, are shown once).
// A file, not inline script (the Content-Security-Policy); its messages come translated
// from the page (data-* attributes of #passkey-add-status).
(() => {
  const form = document.getElementById("passkey-add-form");
  const status = document.getElementById("passkey-add-status");
  if (!form) return;
  // Shown only where the browser can make a passkey (hidden without JavaScript).
  if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) return;
  form.hidden = false;
  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
      },
      body: JSON.stringify(body),
    });
    const answer = response.status === 204 ? {} : await response.json();
    if (!response.ok) throw new Error(answer.detail || status.dataset.failed);
    return answer;
  };
  const showRecoveryCodes = (codes) => {
    const box = document.getElementById("passkey-recovery-codes");
    const list = box.querySelector("ol");
    for (const code of codes) {
      const item = document.createElement("li");
      item.appendChild(document.createElement("code")).textContent = code;
      list.appendChild(item);
    }
    form.hidden = true;
    box.hidden = false;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const begin = await post(form.dataset.begin, {});
      const credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(begin.options),
      });
      const added = await post(form.dataset.finish, {
        challenge_token: begin.challenge_token,
        credential: credential.toJSON(),
        name: form.elements.name.value,
      });
      if (added.recovery_codes && added.recovery_codes.length) {
        showRecoveryCodes(added.recovery_codes); // the first factor's codes, shown once
      } else {
        window.location.reload(); // the page lists the new passkey
      }
    } catch (error) {
      status.textContent =
        error.name === "NotAllowedError" ? status.dataset.cancelled : error.message;
      button.disabled = false;
    }
  });
})();
