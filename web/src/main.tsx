import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app/App";
import { httpApi } from "./api/http";
import { ApiContext } from "./api/port";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ApiContext.Provider value={httpApi}>
        <App />
      </ApiContext.Provider>
    </StrictMode>,
  );
}
