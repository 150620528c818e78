import { describe, expect, it, vi } from "vitest";
import { SseParser, startLive } from "./sse";

describe("SSE parser", () => {
  it("parses events split across chunks, with ids, comments and CRLF", () => {
    const p = new SseParser();
    expect(p.feed(": heartbeat\n\nid: 1\nevent: notif")).toEqual([]);
    expect(p.feed("ication\ndata: {\"a\":\r\ndata: 1}\r\n\r")).toEqual([]);
    expect(p.feed("\n")).toEqual([{ id: "1", event: "notification", data: '{"a":\n1}' }]);
    expect(p.lastEventId).toBe("1");
    expect(p.feed("data: x\n\n")).toEqual([{ id: "1", event: "message", data: "x" }]);
    p.feed("retry: 2500\n\n");
    expect(p.retry).toBe(2500);
  });
});

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
}

describe("live stream", () => {
  it("reconnects with the last event id after a drop", async () => {
    const seen: string[] = [];
    const opens: (string | undefined)[] = [];
    const open = vi.fn(async (last: string | undefined) => {
      opens.push(last);
      if (opens.length === 1) return streamOf(["id: 5\ndata: a\n\n"]);
      if (opens.length === 2) return streamOf(["id: 6\ndata: b\n\n"]);
      return new ReadableStream<Uint8Array>(); // stays open, quietly
    });
    const stop = startLive({ open, onEvent: (e) => seen.push(e.data), minDelayMs: 1, maxDelayMs: 2 });
    await vi.waitFor(() => expect(seen).toEqual(["a", "b"]));
    stop();
    expect(opens[0]).toBeUndefined();
    expect(opens[1]).toBe("5");
    expect(opens[2]).toBe("6");
  });

  it("stops for good on a fatal error", async () => {
    const statuses: string[] = [];
    const open = vi.fn(async () => {
      throw new Error("401");
    });
    startLive({ open, onEvent: () => undefined, onStatus: (s) => statuses.push(s), isFatal: () => true, minDelayMs: 1 });
    await vi.waitFor(() => expect(statuses).toContain("stopped"));
    expect(open).toHaveBeenCalledTimes(1);
  });
});
