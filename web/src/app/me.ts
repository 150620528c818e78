import { createContext, useContext } from "react";
import type { Me } from "../api/model";

export const MeContext = createContext<Me | null>(null);

/** The signed-in person; only rendered inside the signed-in shell. */
export function useMe(): Me {
  const me = useContext(MeContext);
  if (!me) throw new Error("useMe outside the signed-in shell");
  return me;
}
