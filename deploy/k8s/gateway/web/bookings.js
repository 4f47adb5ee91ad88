// "My bookings": the signed-in customer's bookings, a page at a time, newest first (the API's
// order), each cancellable with a reason, or movable to another time (reschedule.js), until the
// notice window before it starts.
import { api, TYPE_WORDS } from "./api.js";
import { announce, avatar, confirmDialog, focusHeading, h, messageBox, showScreen, statusBadge } from "./ui.js";
import { formatDay, formatRange, formatTime, londonDate, ZONE_LABEL } from "./time.js";
import { reasonProblem } from "./validation.js";

const PAGE_SIZE = 10;
const ACTIVE = new Set(["PENDING", "CONFIRMED"]);

// The server's notice window in hours, as a booking's changeableUntil shows it (the server's
// CHANGE_NOTICE_HOURS; the page knows no setting of its own). null when the booking has none.
export function noticeHours(a) {
  if (!a || !a.changeableUntil || !a.slot || !a.slot.startsAt) return null;
  return Math.round((Date.parse(a.slot.startsAt) - Date.parse(a.changeableUntil)) / 3600_000);
}

function hoursWords(hours) {
  return hours === 1 ? "1 hour" : `${hours} hours`;
}

// The rule in a sentence, with the window of `a` (any of the customer's open bookings), else in general.
export function noticeSentence(a) {
  const hours = noticeHours(a);
  if (hours === 0) return "You can cancel or move a booking here until it starts.";
  const until = hours ? `until ${hoursWords(hours)} before it starts` : "until shortly before it starts";
  return `You can cancel or move a booking here ${until}. After that, please call the showroom.`;
}

// What a failed cancellation says next to its booking; the general sentences of api.js speak of
// booking a slot, not of cancelling one.
const CANCEL_SENTENCES = {
  BOOKING_ALREADY_CANCELLED: "This booking was already cancelled.",
  INVALID_STATUS_TRANSITION: "This booking can no longer be cancelled.",
  SLOT_IN_PAST: "This appointment has already started, so it can no longer be cancelled here. Please call the showroom.",
};

function services(a) {
  if (a.forKitchen && a.forBedroom) return "Kitchen and bedroom";
  if (a.forKitchen) return "Kitchen";
  if (a.forBedroom) return "Bedroom";
  return "Not given";
}

function when(a) {
  return a.slot && a.slot.startsAt ? formatRange(a.slot.startsAt, a.slot.endsAt) : "Time not known";
}

// The server lets the customer cancel or move only PENDING and CONFIRMED bookings, and only until
// its changeableUntil; the page offers both while that holds.
export function changeable(a) {
  return ACTIVE.has(a.status) && Boolean(a.changeableUntil) && Date.parse(a.changeableUntil) >= Date.now();
}

function started(a) {
  return Boolean(a.slot && a.slot.startsAt) && Date.parse(a.slot.startsAt) <= Date.now();
}


function cancelSentence(error) {
  if (error.status === 400 && error.fields.length) {
    return `The reason could not be accepted: ${error.fields.map((f) => `${f.field === "reason" ? "Reason" : f.field} ${f.description}`).join("; ")}.`;
  }
  return CANCEL_SENTENCES[error.code] || error.sentence;
}

export async function mount(ctx) {
  if (ctx.rest.length === 2 && ctx.rest[1] === "reschedule") {
    const { mount: reschedule } = await import("./reschedule.js");
    return reschedule(ctx, ctx.rest[0]);
  }
  let page = Math.max(1, Number.parseInt(ctx.query.get("page") || "1", 10) || 1);
  const total = h("p", { class: "bookings-total" });
  const list = h("ul", { class: "bookings" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of bookings", hidden: true });
  const body = h("div", { class: "bookings-body" }, h("p", {}, "Loading your bookings…"));

  showScreen(h("h1", {}, "My bookings"), body, personalData(() => load()));

  async function load({ focus = false } = {}) {
    body.setAttribute("aria-busy", "true");
    let result;
    try {
      result = await api("GET", "/v1/appointments", { query: { page, limit: PAGE_SIZE } });
    } catch (error) {
      if (!ctx.isCurrent()) return;
      body.removeAttribute("aria-busy");
      body.replaceChildren(messageBox(error.sentence), h("button", { type: "button", class: "button button-secondary", onclick: () => load() }, "Try again"));
      return;
    }
    if (!ctx.isCurrent()) return;
    body.removeAttribute("aria-busy");
    const bookings = Array.isArray(result.data) ? result.data : [];
    const count = Number(result.total) || 0;
    const pages = Math.max(1, Number(result.totalPages) || 1);
    // A page past the end (an old address): show the last one instead of an empty list.
    if (!bookings.length && count > 0 && page > pages) {
      page = pages;
      return load({ focus });
    }
    if (!count) {
      body.replaceChildren(
        h("p", { class: "empty" }, "You have no bookings yet."),
        h("p", {}, h("a", { href: "#/book", class: "button" }, "Book an appointment")),
      );
      return;
    }
    total.textContent = count === 1 ? "You have 1 booking." : `You have ${count} bookings.`;
    list.replaceChildren(...bookings.map((a) => card(a)));
    renderPager(pages, count);
    body.replaceChildren(total, h("p", { class: "hint" }, noticeSentence(bookings.find((a) => a.changeableUntil))), list, pager);
    const query = new URLSearchParams(ctx.query);
    if (page > 1) query.set("page", String(page));
    else query.delete("page");
    ctx.replaceQuery(query);
    if (focus) focusHeading(document.getElementById("main"));
  }

  function renderPager(pages, count) {
    pager.hidden = pages <= 1;
    if (pages <= 1) return;
    const go = (target) => {
      page = target;
      load({ focus: true });
    };
    pager.replaceChildren(
      h("button", { type: "button", class: "button button-secondary", disabled: page <= 1, onclick: () => go(page - 1) }, "Previous page"),
      h("p", { class: "page-text" }, `Page ${page} of ${pages} (${count} bookings)`),
      h("button", { type: "button", class: "button button-secondary", disabled: page >= pages, onclick: () => go(page + 1) }, "Next page"),
    );
  }

  // One booking as a list item; `message` (a node) shows the outcome of the last cancel attempt.
  function card(a, message = null) {
    const consultant = a.slot && a.slot.consultant ? a.slot.consultant : null;
    const rows = [
      ["Status", statusBadge(a.status)],
      ["When", when(a)],
      ["For", services(a)],
      ["Consultant", consultant ? h("span", { class: "consultant" }, avatar(consultant.name, consultant.avatarUrl), consultant.name) : "To be confirmed"],
      ["Reference", h("span", { class: "booking-reference" }, a.referenceCode)],
    ];
    if (a.status === "CANCELLED" && a.cancelReason) rows.push(["Reason for cancelling", a.cancelReason]);
    return h(
      "li",
      { class: "booking panel" },
      h("h2", {}, TYPE_WORDS[a.type] || "Appointment"),
      h("dl", { class: "summary" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
      message,
      cancelControl(a),
    );
  }

  // The Move and Cancel actions while the booking can be changed.
  function cancelControl(a) {
    if (changeable(a)) {
      const until = `${formatDay(londonDate(a.changeableUntil))}, ${formatTime(a.changeableUntil)} ${ZONE_LABEL}`;
      return [
        h("p", { class: "hint changeable-until" }, `You can change this booking here until ${until}.`),
        h(
          "div",
          { class: "actions" },
          h(
            "a",
            { href: `#/bookings/${encodeURIComponent(a.bookingId)}/reschedule`, class: "button button-secondary" },
            "Move to another time",
            h("span", { class: "visually-hidden" }, ` ${a.referenceCode}`),
          ),
          h(
            "button",
            { type: "button", class: "button button-danger", onclick: (event) => cancel(a, event.currentTarget) },
            "Cancel booking",
            h("span", { class: "visually-hidden" }, ` ${a.referenceCode}`),
          ),
        ),
      ];
    }
    if (!ACTIVE.has(a.status)) return null;
    if (started(a)) return h("p", { class: "hint" }, "This appointment has started, so it can no longer be cancelled here.");
    const hours = noticeHours(a);
    const soon = hours ? `This appointment starts within ${hoursWords(hours)}, so it` : "This booking";
    return h("p", { class: "hint" }, `${soon} can no longer be changed here. Please call the showroom.`);
  }

  function replaceCard(item, a, message) {
    const next = card(a, message);
    item.replaceWith(next);
    focusHeading(next);
  }

  async function cancel(a, button) {
    const item = button.closest("li");
    const answer = await confirmDialog({
      title: "Cancel this booking?",
      text: `${TYPE_WORDS[a.type] || "Appointment"} on ${when(a)}, reference ${a.referenceCode}. The time will be offered to other customers.`,
      confirmLabel: "Cancel booking",
      cancelLabel: "Keep booking",
      reasonLabel: "Reason for cancelling",
      validateReason: (value) => reasonProblem(value),
    });
    if (!answer || !item.isConnected) return;
    button.disabled = true;
    item.setAttribute("aria-busy", "true");
    try {
      const done = await api("PATCH", `/v1/appointments/${encodeURIComponent(a.bookingId)}/cancel`, { body: { reason: answer.reason } });
      if (!item.isConnected) return;
      const cancelled = { ...a, status: "CANCELLED", cancelReason: done.cancelReason ?? answer.reason };
      const sentence = `Booking ${a.referenceCode} is cancelled. We have emailed a confirmation to ${a.email}.`;
      replaceCard(item, cancelled, h("p", { class: "message message-ok" }, sentence));
      announce(sentence);
    } catch (error) {
      if (!item.isConnected) return;
      const message = messageBox(cancelSentence(error));
      // Someone else changed the booking: show it as it now is, with the reason next to it.
      if (error.status === 409) {
        try {
          const fresh = await api("GET", `/v1/appointments/${encodeURIComponent(a.bookingId)}`);
          if (item.isConnected && fresh.appointment) return replaceCard(item, fresh.appointment, message);
        } catch {
          // The sentence alone still says what happened.
        }
      }
      if (!item.isConnected) return;
      replaceCard(item, a, message);
    }
  }

  load();
}

// "Your personal data": download everything held about you (GET /v1/me/data, a JSON file), or
// erase it (DELETE /v1/me) after a confirmation step saying what erasing does.
function personalData(reload) {
  const status = h("div", { class: "personal-data-status" });
  const download = h("button", { type: "button", class: "button button-secondary" }, "Download my data");
  const erase = h("button", { type: "button", class: "button button-danger" }, "Erase my data");

  download.addEventListener("click", async () => {
    download.disabled = true;
    try {
      const data = await api("GET", "/v1/me/data");
      const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
      const link = h("a", { href: url, download: "my-booking-data.json", hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      const done = "Your data is downloaded as my-booking-data.json.";
      status.replaceChildren(h("p", { class: "message message-ok" }, done));
      announce(done);
    } catch (error) {
      status.replaceChildren(messageBox(error.sentence));
    } finally {
      download.disabled = false;
    }
  });

  erase.addEventListener("click", async () => {
    const answer = await confirmDialog({
      title: "Erase your personal data?",
      text:
        "Your upcoming bookings will be cancelled (we email you a cancellation for each), then your name, email address, " +
        "phone number, postcode and address are erased from all your bookings and brochure requests. " +
        "We keep only reference codes, times and statuses. This cannot be undone.",
      confirmLabel: "Erase my data",
      cancelLabel: "Keep my data",
    });
    if (!answer) return;
    erase.disabled = true;
    try {
      const { erased = {} } = await api("DELETE", "/v1/me");
      const cancelled = Number(erased.bookingsCancelled) || 0;
      const bookings = Number(erased.bookingsAnonymised) || 0;
      const brochures = Number(erased.brochureRequestsAnonymised) || 0;
      const sentence =
        `Your personal data is erased: ${bookings} ${bookings === 1 ? "booking" : "bookings"} and ` +
        `${brochures} brochure ${brochures === 1 ? "request" : "requests"}` +
        (cancelled ? `; ${cancelled} upcoming ${cancelled === 1 ? "booking was" : "bookings were"} cancelled first.` : ".");
      status.replaceChildren(h("p", { class: "message message-ok" }, sentence));
      announce(sentence);
      reload();
    } catch (error) {
      status.replaceChildren(messageBox(error.sentence));
    } finally {
      erase.disabled = false;
    }
  });

  return h(
    "section",
    { class: "personal-data panel", "aria-labelledby": "personal-data-heading" },
    h("h2", { id: "personal-data-heading" }, "Your personal data"),
    h("p", {}, "Download a copy of everything we hold about you, or ask us to erase it."),
    h("div", { class: "actions" }, download, erase),
    status,
  );
}
