// Staff pages: the appointment table and one booking's page here; consultants and the slot
// calendar in admin_slots.js. app.js has already checked the ADMIN role (the services check
// it again on every call).
import { h, showScreen } from "./ui.js";

// The staff sub-navigation shown on every staff page.
export function staffNav(current) {
  const links = [
    ["appointments", "#/admin", "Appointments"],
    ["consultants", "#/admin/consultants", "Consultants"],
    ["slots", "#/admin/slots", "Slot calendar"],
  ];
  return h(
    "nav",
    { "aria-label": "Staff", class: "staff-nav" },
    h("ul", { class: "nav nav-staff" }, links.map(([key, href, label]) => h("li", {}, h("a", { href, "aria-current": key === current ? "page" : undefined }, label)))),
  );
}

export async function mount(ctx) {
  const [section] = ctx.rest;
  if (section === "consultants" || section === "slots") {
    const module = await import("./admin_slots.js");
    return module.mount(ctx);
  }
  if (section === "bookings") return showBooking(ctx);
  return showTable(ctx);
}

function showTable() {
  showScreen(staffNav("appointments"), h("h1", {}, "Appointments"));
}

function showBooking() {
  showScreen(staffNav("appointments"), h("h1", {}, "Booking"));
}
