// Staff pages for consultants and the slot calendar (slot generation, block and unblock).
// The calendar reads GET /v1/admin/slots, which lists every slot of a London day with its
// state: the public availability grid hides booked and blocked slots, so a blocked slot could
// not be found again to unblock it there.
import { staffNav } from "./admin.js";
import { api, TYPE_WORDS } from "./api.js";
import { announce, avatar, clearFieldErrors, field, h, messageBox, showFieldErrors, showScreen } from "./ui.js";
import { addDays, formatDay, formatTime, londonDate, ZONE_LABEL } from "./time.js";

const CATEGORIES = { KITCHEN: "Kitchen", BEDROOM: "Bedroom" };
// ISO weekday numbers, as GenerateSlots takes them: 1 = Monday ... 7 = Sunday.
const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"].map((name, i) => [String(i + 1), name]);
const YMD = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function mount(ctx) {
  return ctx.rest[0] === "consultants" ? consultantsPage(ctx) : slotsPage(ctx);
}

function categoryWords(categories = []) {
  return categories.map((c) => CATEGORIES[c] || c).join(" and ") || "No service line";
}

// The server's field descriptions read after the field's label: "Name: is required".
function withLabels(violations, labels) {
  return violations.map((v) => ({ field: v.field, description: labels[v.field] ? `${labels[v.field]}: ${v.description}` : v.description }));
}

// A <select> or a group of checkboxes laid out like ui.field, so showFieldErrors finds its
// error slot (#field-NAME-error) by the contract's field name.
function selectField({ name, label, options, required = false }) {
  const id = `field-${name}`;
  const error = h("p", { class: "field-error", id: `${id}-error`, hidden: true });
  const input = h("select", { id, name, required }, options.map(([value, text]) => h("option", { value }, text)));
  const wrapper = h("div", { class: "field" }, h("label", { for: id }, label, h("span", { class: required ? "required" : "optional" }, required ? " (required)" : " (optional)")), error, input);
  return { wrapper, input, error };
}

function checkboxGroup({ name, legend, options, checked = [] }) {
  const error = h("p", { class: "field-error", id: `field-${name}-error`, hidden: true });
  const boxes = options.map(([value, text]) => {
    const id = `field-${name}-${value}`;
    return h("div", { class: "field-check" }, h("input", { type: "checkbox", id, name, value, checked: checked.includes(value) }), h("label", { for: id }, text));
  });
  const wrapper = h("fieldset", { class: "field checks" }, h("legend", {}, legend, h("span", { class: "required" }, " (required)")), error, h("div", { class: "check-row" }, boxes));
  return { wrapper, values: () => [...wrapper.querySelectorAll("input:checked")].map((box) => box.value) };
}

// Shows an API error on `form`: field messages next to their fields, anything else in `box`.
function showFormError(form, box, error, labels) {
  const unplaced = error.fields.length ? showFieldErrors(form, withLabels(error.fields, labels)) : [];
  const text = error.fields.length && !unplaced.length ? "Please correct the fields marked above." : [error.sentence, ...unplaced].join(" ");
  box.replaceChildren(messageBox(text));
  if (!error.fields.length) announce(text, { urgent: true });
}

// ---- Consultants

// "m, sw1 ,ec1a" -> ["m", "sw1", "ec1a"]; the server checks, upper-cases and deduplicates them.
// Commas only: a full postcode typed by mistake ("ME1 1AA") must be refused, not read as ME1.
function areaList(text) {
  return text.split(",").map((area) => area.trim()).filter(Boolean);
}

function areaWords(areas = []) {
  return areas.length ? `Home visits in ${areas.join(", ")}` : "Home visits everywhere";
}

// The server names each bad area by its place in the list (postcodeAreas[2]); the form has one
// field for all of them, so they become one message that names the values.
function withAreaErrors(error, sent) {
  const bad = [];
  const fields = error.fields.filter((f) => {
    const match = /^postcodeAreas\[(\d+)\]$/.exec(f.field);
    if (match) bad.push(sent[Number(match[1])] || "An empty entry");
    return !match;
  });
  if (bad.length) {
    const what = bad.length === 1 ? "is not a UK postcode area, district or sub-district" : "are not UK postcode areas, districts or sub-districts";
    fields.push({ field: "postcodeAreas", description: `${bad.join(", ")} ${what} (for example M, SW1 or SW1A).` });
  }
  return { fields, sentence: error.sentence };
}

const AREAS_HINT = "Postcode areas (M), districts (SW1) or sub-districts (SW1A), separated by commas. Leave empty for everywhere.";

// Changing one consultant's areas in place, in a disclosure so the list stays short. A new
// consultant visits everywhere until staff narrow it here.
function areasEditor(consultant, onSaved) {
  const id = `areas-${consultant.consultantId}`;
  const input = h("input", { id, name: "postcodeAreas", type: "text", autocomplete: "off", "aria-describedby": `${id}-hint` });
  input.value = (consultant.postcodeAreas || []).join(", ");
  const outcome = h("div", { class: "form-outcome" });
  const save = h("button", { type: "submit", class: "button button-secondary button-small" }, "Save areas");
  const form = h(
    "form",
    { novalidate: true },
    h("div", { class: "field" }, h("label", { for: id }, `Home visit areas of ${consultant.name}`), h("p", { class: "hint", id: `${id}-hint` }, AREAS_HINT), input),
    outcome,
    h("div", { class: "actions" }, save),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (save.disabled) return;
    const sent = areaList(input.value);
    save.disabled = true;
    try {
      const { consultant: changed } = await api("POST", `/v1/admin/consultants/${consultant.consultantId}:setAreas`, { body: { postcodeAreas: sent } });
      const where = changed.postcodeAreas?.length ? `in ${changed.postcodeAreas.join(", ")}` : "everywhere";
      const text = `${changed.name} now makes home visits ${where}.`;
      announce(text);
      await onSaved(text);
    } catch (error) {
      const shown = withAreaErrors(error, sent);
      const text = shown.fields.length ? shown.fields.map((f) => f.description).join(" ") : shown.sentence;
      outcome.replaceChildren(messageBox(text));
      announce(text, { urgent: true });
      input.focus();
    } finally {
      save.disabled = false;
    }
  });
  return h("details", { class: "areas-editor" }, h("summary", {}, "Change home visit areas"), form);
}

function consultantsPage(ctx) {
  const labels = { name: "Name", avatarUrl: "Picture URL", categories: "Service lines" };
  const name = field({ name: "name", label: "Name", required: true, autocomplete: "off" });
  const avatarUrl = field({ name: "avatarUrl", label: "Picture URL", type: "url", required: true, autocomplete: "off", hint: "An https:// address of the consultant's photo." });
  const categories = checkboxGroup({ name: "categories", legend: "Service lines", options: Object.entries(CATEGORIES) });
  const outcome = h("div", { class: "form-outcome" });
  const submit = h("button", { type: "submit", class: "button" }, "Add consultant");
  const form = h("form", { novalidate: true, "aria-labelledby": "add-consultant" }, name.wrapper, avatarUrl.wrapper, categories.wrapper, outcome, h("div", { class: "actions" }, submit));
  const list = h("div", { class: "consultant-list", "aria-live": "polite" }, h("p", {}, "Loading consultants…"));

  async function load(saved) {
    try {
      const { consultants = [] } = await api("GET", "/v1/admin/consultants");
      if (!ctx.isCurrent()) return;
      const person = (c) =>
        h(
          "li",
          { class: "person" },
          avatar(c.name, c.avatarUrl),
          h("span", {}, h("strong", {}, c.name), h("span", { class: "person-lines" }, categoryWords(c.categories)), h("span", { class: "person-lines" }, areaWords(c.postcodeAreas)), areasEditor(c, load)),
        );
      list.replaceChildren(
        ...(saved ? [messageBox(saved, { kind: "ok" })] : []),
        consultants.length ? h("ul", { class: "people" }, consultants.map(person)) : h("p", {}, "There are no consultants yet."),
      );
    } catch (error) {
      if (ctx.isCurrent()) list.replaceChildren(messageBox(error.sentence));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    clearFieldErrors(form);
    outcome.replaceChildren();
    const body = { name: name.input.value.trim(), avatarUrl: avatarUrl.input.value.trim(), categories: categories.values() };
    submit.disabled = true;
    try {
      await api("POST", "/v1/admin/consultants", { body });
      if (!ctx.isCurrent()) return;
      form.reset();
      const text = `${body.name} was added as a consultant.`;
      outcome.replaceChildren(messageBox(text, { kind: "ok" }));
      announce(text);
      await load();
    } catch (error) {
      if (ctx.isCurrent()) showFormError(form, outcome, error, labels);
    } finally {
      submit.disabled = false;
    }
  });

  showScreen(
    staffNav("consultants"),
    h("h1", {}, "Consultants"),
    h("section", { "aria-labelledby": "consultant-list" }, h("h2", { id: "consultant-list" }, "Our consultants"), list),
    h("section", { class: "panel staff-form", "aria-labelledby": "add-consultant" }, h("h2", { id: "add-consultant" }, "Add a consultant"), form),
  );
  load();
}

// ---- The slot calendar

// HELD: a customer is booking it right now; it is free again if their hold ends unused.
const STATES = { FREE: "Free", BOOKED: "Booked", BLOCKED: "Blocked", HELD: "Held by a customer who is booking" };

function slotsPage(ctx) {
  const today = londonDate();
  const state = {
    day: YMD.test(ctx.query.get("date") || "") ? ctx.query.get("date") : today,
    consultant: UUID.test(ctx.query.get("consultant") || "") ? ctx.query.get("consultant") : "",
  };
  let consultants = [];
  let loads = 0;

  const dayInput = h("input", { type: "date", id: "calendar-day", name: "date", value: state.day, required: true });
  const consultantFilter = h("select", { id: "calendar-consultant", name: "consultant" }, h("option", { value: "" }, "All consultants"));
  const controls = h(
    "div",
    { class: "calendar-controls panel" },
    h("div", { class: "day-picker" },
      h("button", { type: "button", class: "button button-secondary", onclick: () => moveDay(-1) }, "Previous day"),
      h("div", { class: "field" }, h("label", { for: "calendar-day" }, "Day"), dayInput),
      h("button", { type: "button", class: "button button-secondary", onclick: () => moveDay(1) }, "Next day")),
    h("div", { class: "field" }, h("label", { for: "calendar-consultant" }, "Consultant"), consultantFilter),
  );
  const dayHeading = h("h2", { id: "calendar-heading" });
  const dayStatus = h("p", { role: "status", class: "calendar-status" });
  const dayProblem = h("div");
  const slotList = h("ul", { class: "calendar", "aria-labelledby": "calendar-heading" });
  const generator = generateForm();

  dayInput.addEventListener("change", () => {
    if (YMD.test(dayInput.value)) setDay(dayInput.value);
  });
  consultantFilter.addEventListener("change", () => {
    state.consultant = consultantFilter.value;
    loadDay();
  });

  function moveDay(days) {
    setDay(addDays(state.day, days));
  }

  function setDay(day) {
    state.day = day;
    dayInput.value = day;
    loadDay();
  }

  async function loadDay() {
    const ticket = ++loads;
    const query = new URLSearchParams({ date: state.day });
    if (state.consultant) query.set("consultant", state.consultant);
    ctx.replaceQuery(query);
    dayHeading.textContent = `${formatDay(state.day)} (${ZONE_LABEL})`;
    slotList.setAttribute("aria-busy", "true");
    try {
      const { slots = [] } = await api("GET", "/v1/admin/slots", { query: { date: state.day, consultantId: state.consultant } });
      if (ticket !== loads || !ctx.isCurrent()) return;
      dayProblem.replaceChildren();
      slotList.replaceChildren(...slots.map(slotRow));
      dayStatus.textContent = slots.length ? `${slots.length} slot${slots.length === 1 ? "" : "s"} on this day.` : "No slots on this day.";
    } catch (error) {
      if (ticket !== loads || !ctx.isCurrent()) return;
      slotList.replaceChildren();
      dayStatus.textContent = "";
      dayProblem.replaceChildren(messageBox(error.sentence));
    } finally {
      if (ticket === loads) slotList.removeAttribute("aria-busy");
    }
  }

  function slotRow(slot) {
    const row = h("li", { class: "calendar-slot", dataset: { slotId: slot.slotId } });
    renderRow(row, slot);
    return row;
  }

  function renderRow(row, slot, problem) {
    const time = `${formatTime(slot.startsAt)}–${formatTime(slot.endsAt)}`;
    const who = slot.consultant?.name || "Unknown consultant";
    const stateText = slot.state === "BOOKED" && slot.referenceCode ? `Booked (${slot.referenceCode})` : STATES[slot.state] || "Unknown";
    let action = null;
    if (slot.state === "FREE" || slot.state === "BLOCKED") {
      const verb = slot.state === "FREE" ? "Block" : "Unblock";
      action = h("button", { type: "button", class: "button button-secondary button-small", "aria-label": `${verb} ${time} with ${who}` }, verb);
      action.addEventListener("click", () => toggle(row, slot, action));
    }
    // Not h(): replaceChildren would write a missing action out as the text "null".
    const parts = [
      h("span", { class: "slot-time" }, time),
      h("span", { class: "calendar-who" }, avatar(who, slot.consultant?.avatarUrl), h("span", {}, who, h("span", { class: "person-lines" }, TYPE_WORDS[slot.type] || "Appointment"))),
      h("span", { class: `slot-state slot-state-${String(slot.state).toLowerCase()}` }, stateText),
      action,
      problem ? h("p", { class: "field-error slot-problem", role: "alert" }, problem) : null,
    ];
    row.replaceChildren(...parts.filter(Boolean));
    return action;
  }

  async function toggle(row, slot, button) {
    const block = slot.state === "FREE";
    button.disabled = true;
    const time = formatTime(slot.startsAt);
    try {
      await api("POST", `/v1/admin/slots/${encodeURIComponent(slot.slotId)}/${block ? "block" : "unblock"}`, { body: {} });
      if (!ctx.isCurrent()) return;
      const next = { ...slot, state: block ? "BLOCKED" : "FREE" };
      renderRow(row, next)?.focus();
      announce(`The ${time} slot with ${slot.consultant?.name || "the consultant"} is ${block ? "blocked" : "free again"}.`);
    } catch (error) {
      if (!ctx.isCurrent()) return;
      // The row may be stale (booked or changed since it was shown): show what it is now.
      const fresh = await currentSlot(slot.slotId);
      if (!ctx.isCurrent()) return;
      const again = renderRow(row, fresh || slot, error.sentence);
      const problem = row.querySelector(".slot-problem");
      problem.setAttribute("tabindex", "-1");
      (again || problem).focus();
    }
  }

  async function currentSlot(slotId) {
    try {
      const { slots = [] } = await api("GET", "/v1/admin/slots", { query: { date: state.day, consultantId: state.consultant } });
      return slots.find((s) => s.slotId === slotId) || null;
    } catch {
      return null;
    }
  }

  function generateForm() {
    const labels = {
      consultantId: "Consultant", type: "Appointment type", fromDate: "From", toDate: "To", weekdays: "Days worked", dayStart: "Day starts",
      dayEnd: "Day ends", slotMinutes: "Slot length", bufferMinutes: "Gap between slots", skipDates: "Days off",
    };
    const consultant = selectField({ name: "consultantId", label: "Consultant", options: [["", "Choose a consultant"]], required: true });
    const type = selectField({ name: "type", label: "Appointment type", options: [["", "Choose a type"], ...Object.entries(TYPE_WORDS)], required: true });
    const from = field({ name: "fromDate", label: "From", type: "date", required: true });
    const to = field({ name: "toDate", label: "To", type: "date", required: true, hint: "The last day, included." });
    const weekdays = checkboxGroup({ name: "weekdays", legend: "Days worked", options: WEEKDAYS, checked: ["1", "2", "3", "4", "5"] });
    const dayStart = field({ name: "dayStart", label: "Day starts", type: "time", value: "09:00", required: true, hint: ZONE_LABEL });
    const dayEnd = field({ name: "dayEnd", label: "Day ends", type: "time", value: "17:00", required: true, hint: ZONE_LABEL });
    const slotMinutes = field({ name: "slotMinutes", label: "Slot length in minutes", type: "number", value: "60", required: true, inputmode: "numeric" });
    const bufferMinutes = field({ name: "bufferMinutes", label: "Gap between slots in minutes", type: "number", value: "0", required: true, inputmode: "numeric" });
    const skipDates = field({ name: "skipDates", label: "Days off", autocomplete: "off", hint: "Dates not worked, such as bank holidays, as YYYY-MM-DD separated by commas." });
    const outcome = h("div", { class: "form-outcome" });
    const submit = h("button", { type: "submit", class: "button" }, "Generate slots");
    const form = h(
      "form",
      { novalidate: true, "aria-labelledby": "generate-heading" },
      h("div", { class: "form-grid" }, consultant.wrapper, type.wrapper, from.wrapper, to.wrapper),
      weekdays.wrapper,
      h("div", { class: "form-grid" }, dayStart.wrapper, dayEnd.wrapper, slotMinutes.wrapper, bufferMinutes.wrapper),
      skipDates.wrapper,
      outcome,
      h("div", { class: "actions" }, submit),
    );
    const number = (input) => (input.value.trim() === "" ? undefined : Number(input.value));
    const text = (input) => input.value.trim() || undefined;

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (submit.disabled) return;
      clearFieldErrors(form);
      outcome.replaceChildren();
      const body = {
        consultantId: text(consultant.input), type: text(type.input), fromDate: text(from.input), toDate: text(to.input),
        weekdays: weekdays.values().map(Number), dayStart: text(dayStart.input), dayEnd: text(dayEnd.input),
        slotMinutes: number(slotMinutes.input), bufferMinutes: number(bufferMinutes.input),
        skipDates: skipDates.input.value.split(/[\s,]+/).filter(Boolean),
      };
      submit.disabled = true;
      try {
        const { created = 0, skipped = 0 } = await api("POST", "/v1/admin/slots:generate", { body });
        if (!ctx.isCurrent()) return;
        const sentence = `Created ${created} slot${created === 1 ? "" : "s"}, skipped ${skipped}.`;
        const show = h("button", { type: "button", class: "button button-secondary button-small" }, `Show ${formatDay(body.fromDate)}`);
        show.addEventListener("click", () => {
          setDay(body.fromDate);
          dayHeading.setAttribute("tabindex", "-1");
          dayHeading.focus();
        });
        outcome.replaceChildren(h("div", { class: "message message-ok", role: "status" }, h("p", {}, sentence), show));
        announce(sentence);
        loadDay();
      } catch (error) {
        if (ctx.isCurrent()) showFormError(form, outcome, error, labels);
      } finally {
        submit.disabled = false;
      }
    });
    return { form, consultant: consultant.input };
  }

  async function loadConsultants() {
    try {
      ({ consultants = [] } = await api("GET", "/v1/admin/consultants"));
    } catch (error) {
      if (ctx.isCurrent()) generator.form.prepend(messageBox(`The consultant list could not be loaded. ${error.sentence}`));
      return;
    }
    if (!ctx.isCurrent()) return;
    const options = () => consultants.map((c) => h("option", { value: c.consultantId }, c.name));
    consultantFilter.append(...options());
    generator.consultant.append(...options());
    consultantFilter.value = state.consultant;
    if (consultantFilter.value !== state.consultant) {
      // A consultant in the address who no longer exists: show everyone rather than nothing.
      state.consultant = "";
      loadDay();
    }
  }

  showScreen(
    staffNav("slots"),
    h("h1", {}, "Slot calendar"),
    h("section", { "aria-labelledby": "calendar-heading" }, controls, dayHeading, dayStatus, dayProblem, slotList),
    h("section", { class: "panel staff-form", "aria-labelledby": "generate-heading" }, h("h2", { id: "generate-heading" }, "Generate slots"),
      h("p", {}, "Make slots from a weekly pattern. Times that already have a slot for the consultant, or have passed, are skipped."), generator.form),
  );
  loadDay();
  loadConsultants();
}
