// Placeholder: replaced by the brochure screen.
import { h, showScreen } from "./ui.js";

export function mount() {
  showScreen(h("h1", {}, "Coming soon"));
}
