// A typed use of the types openapi-typescript generates from /api/schema/ (docs/clients.md):
// `tsc --strict` must accept it with no cast beyond the JSON body and no `any`.
import type { components, operations, paths } from "./kit-api";

type Json<T> = T extends { content: { "application/json": infer Body } } ? Body : never;

type SignIn = operations["signIn"];
type SignInBody = Json<SignIn["requestBody"]>;
type SignInOk = Json<SignIn["responses"][200]>;
type CookieSignIn403 = Json<paths["/api/v1/auth/cookie/login/"]["post"]["responses"][403]>;
type BadRequest = Json<SignIn["responses"][400]>;
type RetryAfter = SignIn["responses"][429]["headers"]["Retry-After"];
type ScopeError = components["schemas"]["InsufficientScopeError"];

export async function signIn(base: string, body: SignInBody): Promise<SignInOk> {
  const response = await fetch(`${base}/api/v1/auth/token/`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status === 200) {
    return (await response.json()) as SignInOk;
  }
  const error = (await response.json()) as components["schemas"]["Error"];
  throw new Error(`${response.status} ${error.code}: ${error.detail}`);
}

// One status, two meanings: the code tells them apart, and narrows the body.
export function explainCookieSignIn403(body: CookieSignIn403): string {
  switch (body.code) {
    case "csrf_failed":
      return "GET /api/v1/auth/csrf/ first and send X-CSRFToken";
    case "device_limit_reached":
      return "sign one out: " + body.devices.map((device) => device.name).join(", ");
    default: {
      const unreachable: never = body;
      return unreachable;
    }
  }
}

export function fieldErrors(body: BadRequest): string[] {
  return body.code === "invalid" ? Object.keys(body.errors) : [body.code];
}

export function missingScope(body: ScopeError): string {
  return body.required_scope;
}

export const wait: RetryAfter = 30;
