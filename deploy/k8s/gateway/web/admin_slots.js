// Staff pages for consultants and the slot calendar (slot generation, block and unblock).
import { staffNav } from "./admin.js";
import { h, showScreen } from "./ui.js";

export function mount(ctx) {
  const section = ctx.rest[0];
  showScreen(staffNav(section), h("h1", {}, section === "consultants" ? "Consultants" : "Slot calendar"));
}
