// The free-time grid that the booking journey and the move screen share: the day field, the
// day's free slots for every service a booking is for, and one button per slot.
import { api } from "./api.js";
import { formatDay, formatTime, ZONE_LABEL } from "./time.js";
import { avatar, h, messageBox } from "./ui.js";

// Enter in the day field shows that day; it must not submit the form around it (that books or moves).
export function bindDayField(input, errorBox, today, last, setDay) {
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      input.dispatchEvent(new Event("change"));
    }
  });
  input.addEventListener("change", () => {
    if (!input.value || input.value < today || input.value > last) {
      errorBox.replaceChildren(messageBox(`Choose a day from ${formatDay(today)} to ${formatDay(last)}.`));
      return;
    }
    setDay(input.value);
  });
}

// With both services a booking needs a designer who plans both, so the grid is the slots that
// every service's filter returns. `query` is the availability query without its category.
export async function freeForEveryService(query, wants) {
  const categories = wants.forKitchen && wants.forBedroom ? ["KITCHEN", "BEDROOM"] : [wants.forKitchen ? "KITCHEN" : "BEDROOM"];
  const lists = await Promise.all(categories.map((category) => api("GET", "/v1/appointments/availability", { query: { ...query, category } })));
  const [first, ...others] = lists.map((list) => list.slots || []);
  const inAll = others.map((list) => new Set(list.map((s) => s.slotId)));
  return first.filter((s) => inAll.every((ids) => ids.has(s.slotId)));
}

// A failed load: the reason and a way to try again, in place of the grid.
export function showGridFailure({ grid, gridStatus, gridError }, error, retry) {
  grid.removeAttribute("aria-busy");
  grid.replaceChildren();
  gridStatus.textContent = "";
  gridError.replaceChildren(messageBox(error.sentence), h("button", { type: "button", class: "button button-secondary button-small", onclick: retry }, "Try again"));
}

// The grid's slots, one pressable button each (the picked one pressed).
export function renderSlots({ grid, gridStatus }, slots, pickedId, onPick) {
  grid.removeAttribute("aria-busy");
  gridStatus.textContent = slots.length ? `${slots.length} free time${slots.length === 1 ? "" : "s"}` : "No free slots on this day";
  grid.replaceChildren(
    ...slots.map((s) => {
      const name = s.consultant && s.consultant.name ? s.consultant.name : "Our designer";
      return h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "slot", "aria-pressed": pickedId === s.slotId ? "true" : "false", dataset: { slotId: s.slotId }, onclick: () => onPick(s) },
          avatar(name, s.consultant && s.consultant.avatarUrl),
          h("span", {}, h("span", { class: "slot-time" }, `${formatTime(s.startsAt)}–${formatTime(s.endsAt)}`), h("span", { class: "visually-hidden" }, ` ${ZONE_LABEL} with`), h("span", { class: "slot-consultant" }, ` ${name}`)),
        ),
      );
    }),
  );
}
