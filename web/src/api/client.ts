/**
 * The one way the app talks to the gateway: a typed client generated from
 * the gateway's OpenAPI document (src/api/generated, built from
 * services/gateway/openapi.json). Components never call fetch; they call the
 * functions of src/api/*.ts, which use this client and return data or throw
 * an {@link ApiError}.
 */
import createClient, { type Middleware } from "openapi-fetch";
import { sessionStore } from "../auth/session";
import type { paths } from "./generated/schema";
import { ApiError, networkError, toApiError } from "./problem";

const auth: Middleware = {
  onRequest({ request }) {
    const token = sessionStore.token();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // A refused token ends the session, not the page: the sign-in dialog
    // opens over it and the person's drafts stay where they are.
    if (response.status === 401) sessionStore.expire();
    return response;
  },
};

export const client = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
});
client.use(auth);

interface FetchResult<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

/**
 * The data of a typed call, or an ApiError: problem+json bodies become
 * ApiErrors with their kind and field; a failed connection becomes kind
 * "network".
 */
export async function call<T>(request: Promise<FetchResult<T>>): Promise<T> {
  let result: FetchResult<T>;
  try {
    result = await request;
  } catch (cause) {
    if (cause instanceof ApiError) throw cause;
    throw networkError(cause);
  }
  if (!result.response.ok) throw toApiError(result.response.status, result.error, result.response.headers);
  return result.data as T;
}
