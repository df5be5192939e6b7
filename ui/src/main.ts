import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";
import "./styles/page.css";
import { applyTheme } from "./lib/theme";

// Follow the OS until the saved setting arrives, so the first paint has the right colours.
applyTheme("system");

const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");

export default mount(App, { target });
