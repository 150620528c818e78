import { describe, expect, it } from "vitest";
import { makeI18n } from "../i18n";
import { ApiError, errorMessage, networkError, problemField, toApiError } from "./problem";

describe("problem+json", () => {
  it("reads the gateway's problem documents", () => {
    const e = toApiError(400, {
      type: "urn:guildhall:problem:invalid-request",
      title: "The request is not valid",
      status: 400,
      detail: "title: must not be empty",
      errors: [{ field: "title", message: "must not be empty" }],
    });
    expect(e.kind).toBe("invalid");
    expect(e.field).toBe("title");
    const { key, params } = errorMessage(e);
    expect(makeI18n("en").t(key, params)).toBe("Please check the field “title”.");
  });

  it("maps statuses to kinds a screen can act on", () => {
    expect(toApiError(412, {}).kind).toBe("stale");
    expect(toApiError(401, {}).kind).toBe("unauthenticated");
    expect(toApiError(404, {}).kind).toBe("not-found");
    expect(toApiError(503, {}).kind).toBe("unavailable");
    expect(toApiError(500, "<html>").kind).toBe("server");
    expect(networkError(new TypeError("Failed to fetch")).kind).toBe("network");
  });

  it("reads Retry-After for rate limits", () => {
    const e = toApiError(429, { type: "urn:guildhall:problem:rate-limited" }, new Headers({ "Retry-After": "7" }));
    expect(e.retryAfter).toBe(7);
    const { key, params } = errorMessage(e);
    expect(makeI18n("de").t(key, params)).toBe("Zu viele Anfragen. In 7 Sekunden erneut versuchen.");
  });

  it("names nested and pointer fields by their last part", () => {
    expect(problemField({ pointer: "/body/title" })).toBe("title");
    expect(problemField({ errors: [{ field: "If-Match", message: "x" }] })).toBe("If-Match");
    expect(problemField({ detail: "nothing" })).toBeUndefined();
  });

  it("gives a message for anything thrown", () => {
    expect(errorMessage(new Error("boom")).key).toBe("error.unexpected");
    expect(errorMessage(new ApiError("forbidden", 403, {}, undefined, undefined)).key).toBe("error.forbidden");
  });
});
