import type { Message } from "./format";
import type { en } from "./en";

export type MessageKey = keyof typeof en;
/** A catalog: every key of the English one, no more, no fewer. */
export type Catalog = { readonly [K in MessageKey]: Message };
