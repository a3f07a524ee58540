import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "react-redux";
import { App } from "./app/App";
import { loadPersistedState, persistChanges } from "./app/persistence";
import { makeStore } from "./app/store";
import { ThemeRoot } from "./app/ThemeRoot";

const store = makeStore(loadPersistedState());
persistChanges(store);

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <Provider store={store}>
      <ThemeRoot>
        <App />
      </ThemeRoot>
    </Provider>
  </StrictMode>,
);
