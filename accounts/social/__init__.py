"""Social sign-in over OpenID Connect (SOCIAL_PROVIDERS): the providers (providers), their
documents and keys and ID-token verification (oidc, over http), which account a token
signs in (linking), the app route's sign-in (signin) and the browser's authorization-code
flow with PKCE, state and nonce (web_flow). No HTTP framework here: api/ and accounts/web
call these (docs/social-sign-in.md)."""
