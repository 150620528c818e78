/**
 * Errors from the API, as the app handles them. The gateway answers errors as
 * application/problem+json (RFC 9457) with a stable `type` per error; this
 * module turns such a body (or a network failure) into an {@link ApiError}
 * and an ApiError into a message a person can read.
 */
import type { MessageKey } from "../i18n/catalog";

export type ErrorKind =
  | "network"
  | "invalid"
  | "unauthenticated"
  | "forbidden"
  | "not-found"
  | "conflict"
  | "stale"
  | "too-large"
  | "rate-limited"
  | "unavailable"
  | "not-implemented"
  | "server";

export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly [extension: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly status: number,
    readonly problem: Problem,
    /** The request field the server named as wrong, if it named one. */
    readonly field: string | undefined,
    /** Seconds to wait before retrying (from Retry-After), if given. */
    readonly retryAfter: number | undefined,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = "ApiError";
  }
}

function kindOf(status: number): ErrorKind {
  if (status === 0) return "network";
  if (status === 400 || status === 422) return "invalid";
  if (status === 401) return "unauthenticated";
  if (status === 403) return "forbidden";
  if (status === 404 || status === 410) return "not-found";
  if (status === 409) return "conflict";
  if (status === 412 || status === 428) return "stale";
  if (status === 413) return "too-large";
  if (status === 429) return "rate-limited";
  if (status === 501) return "not-implemented";
  if (status === 502 || status === 503 || status === 504) return "unavailable";
  return "server";
}

/** The field a problem names: `field`, `pointer` ("/body/title"), or the first of `errors[]`. */
export function problemField(problem: Problem): string | undefined {
  const direct = problem.field ?? problem.pointer;
  if (typeof direct === "string" && direct) return direct.split("/").filter(Boolean).pop();
  const errors = problem.errors ?? problem.invalid_params ?? problem["invalid-params"];
  if (Array.isArray(errors)) {
    for (const entry of errors) {
      if (entry && typeof entry === "object") {
        const e = entry as Record<string, unknown>;
        const name = e.field ?? e.name ?? e.pointer ?? (Array.isArray(e.loc) ? e.loc.join(".") : undefined);
        if (typeof name === "string" && name) return name.split("/").filter(Boolean).pop();
      }
    }
  }
  return undefined;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/** An ApiError from a non-2xx response and its parsed body (any JSON, or nothing). */
export function toApiError(status: number, body: unknown, headers?: Headers): ApiError {
  const problem: Problem = body && typeof body === "object" ? (body as Problem) : {};
  // The gateway's first cut answered {"error": {"code", "message"}}; read it too.
  const legacy = (body as { error?: { message?: unknown } } | null)?.error;
  const merged: Problem =
    problem.detail === undefined && legacy && typeof legacy.message === "string"
      ? { ...problem, detail: legacy.message }
      : problem;
  return new ApiError(
    kindOf(status),
    status,
    merged,
    problemField(merged),
    parseRetryAfter(headers?.get("retry-after") ?? null),
  );
}

export function networkError(cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ApiError("network", 0, { detail }, undefined, undefined);
}

const KIND_MESSAGES: Record<ErrorKind, MessageKey> = {
  network: "error.network",
  invalid: "error.invalid",
  unauthenticated: "error.unauthenticated",
  forbidden: "error.forbidden",
  "not-found": "error.notFound",
  conflict: "error.conflict",
  stale: "error.stale",
  "too-large": "error.tooLarge",
  "rate-limited": "error.rateLimited",
  unavailable: "error.unavailable",
  "not-implemented": "error.notImplemented",
  server: "error.server",
};

/** The catalog key and parameters of the message to show for `error`. */
export function errorMessage(error: unknown): { key: MessageKey; params: Record<string, string | number> } {
  if (!(error instanceof ApiError)) return { key: "error.unexpected", params: {} };
  if (error.kind === "invalid" && error.field) {
    return { key: "error.invalidField", params: { field: error.field } };
  }
  if (error.kind === "rate-limited" && error.retryAfter !== undefined) {
    return { key: "error.rateLimitedRetry", params: { count: error.retryAfter } };
  }
  return { key: KIND_MESSAGES[error.kind], params: {} };
}
