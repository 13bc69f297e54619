// Asks before a destructive form is sent: <form data-confirm="Sign out ...?">. A file, not
// inline script, so the Content-Security-Policy stays strict; without JavaScript the form
// is sent as is.
document.addEventListener("submit", (event) => {
  const message = event.target.dataset && event.target.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
