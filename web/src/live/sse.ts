/**
 * Server-Sent Events over fetch. EventSource cannot send an Authorization
 * header, so the stream is read from a fetch body: this file parses the
 * text/event-stream format (WHATWG HTML §9.2) and reconnects with the last
 * event id, which the gateway uses to resume without a gap or a duplicate.
 */

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
}

/** Incremental parser: feed it text as it arrives, get whole events back. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  /** The last id seen, kept across events as the spec's "last event ID buffer". */
  lastEventId: string | undefined;
  /** A `retry:` field from the server, in milliseconds. */
  retry: number | undefined;

  feed(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      // A lone \r at the end of a chunk may be the first half of \r\n.
      if (width === 1 && this.buffer[newline] === "\r" && newline === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(newline + width);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") {
      if (this.id !== undefined) this.lastEventId = this.id;
      if (this.data.length === 0) {
        this.event = "";
        return undefined;
      }
      const event: SseEvent = { id: this.lastEventId, event: this.event || "message", data: this.data.join("\n") };
      this.data = [];
      this.event = "";
      return event;
    }
    if (line.startsWith(":")) return undefined; // a comment: heartbeats
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.retry = Number(value);
    return undefined;
  }
}

export type OpenStream = (lastEventId: string | undefined, signal: AbortSignal) => Promise<ReadableStream<Uint8Array>>;

export interface LiveOptions {
  readonly open: OpenStream;
  readonly onEvent: (event: SseEvent) => void;
  readonly onStatus?: (status: "connecting" | "open" | "retrying" | "stopped") => void;
  /** Whether an error ends the stream for good (e.g. the session expired). */
  readonly isFatal?: (error: unknown) => boolean;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
}

/**
 * Keeps one stream open until stopped: on a drop it reconnects after a
 * growing, jittered delay and sends the last event id it saw.
 */
export function startLive(options: LiveOptions): () => void {
  const controller = new AbortController();
  const min = options.minDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 30000;
  let lastEventId: string | undefined;
  let stopped = false;

  const run = async (): Promise<void> => {
    let delay = min;
    while (!stopped) {
      options.onStatus?.("connecting");
      const parser = new SseParser();
      parser.lastEventId = lastEventId;
      try {
        const stream = await options.open(lastEventId, controller.signal);
        options.onStatus?.("open");
        delay = min;
        const reader = stream.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
            lastEventId = event.id ?? lastEventId;
            options.onEvent(event);
          }
        }
        lastEventId = parser.lastEventId ?? lastEventId;
      } catch (error) {
        if (stopped || controller.signal.aborted) break;
        if (options.isFatal?.(error)) {
          stopped = true;
          break;
        }
      }
      if (stopped) break;
      options.onStatus?.("retrying");
      const wait = Math.min(max, parser.retry ?? delay) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, wait));
      delay = Math.min(max, delay * 2);
    }
    options.onStatus?.("stopped");
  };
  void run();
  return () => {
    stopped = true;
    controller.abort();
  };
}
