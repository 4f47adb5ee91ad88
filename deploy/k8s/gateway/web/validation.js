// The contact-details rules of appointment_svc/domain/validation.py, for messages before the
// round trip. The server stays the judge; tests/e2e/browser/test_validation_parity.py runs one
// table of inputs through both and fails when they disagree.
export const NAME_MAX = 100;
export const ADDRESS_MAX = 500;
export const EMAIL_MAX = 254;
export const REASON_MAX = 500;

const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const EMAIL = new RegExp(
  "^(?<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)" +
    `@(?<domain>(?:${LABEL}\\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}))$`,
);
// appointment_svc/domain/postcodes.py explains the formats and the special postcodes.
const POSTCODE = new RegExp(
  "^(?:GIR0AA|(?:ASCN|BBND|BIQQ|FIQQ|PCRN|SIQQ|STHL|TDCU|TKCA)1ZZ|BFPO[0-9]{1,4}|" +
    "(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])" +
    "[0-9][ABD-HJLNP-UW-Z]{2})$",
);
const BFPO = "BFPO";
const UK_PHONE = /^(?:0[18][0-9]{8,9}|0[23579][0-9]{9})$/;
// Python's \s (str.isspace): JavaScript's \s less the byte order mark, plus \x1c-\x1f and NEL,
// so both sides agree on what is blank and what punctuation a phone number may carry.
const WS = "(?:[^\\S\\ufeff]|[\\u001c-\\u001f\\u0085])";
const PHONE_PUNCTUATION = new RegExp(`${WS}|[\\-().]`, "gu");
const SPACES = new RegExp(`${WS}+`, "gu");
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const CONTROL_EXCEPT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/u;
const PY_STRIP = new RegExp(`^${WS}+|${WS}+$`, "gu");

function strip(value) {
  return value.replace(PY_STRIP, "");
}

function codePoints(value) {
  return [...value].length;
}

function normaliseNewlines(value) {
  return value.replace(/\r\n?/g, "\n");
}

export function isEmail(value) {
  const trimmed = strip(value);
  const match = EMAIL.exec(trimmed);
  return Boolean(match) && codePoints(trimmed) <= EMAIL_MAX && codePoints(match.groups.local) <= 64;
}

export function normaliseUkPhone(value) {
  let compact = value.replaceAll("(0)", "").replace(PHONE_PUNCTUATION, "");
  for (const international of ["+44", "0044"]) {
    if (compact.startsWith(international)) {
      const rest = compact.slice(international.length);
      compact = rest.startsWith("0") ? rest : `0${rest}`;
    }
  }
  return compact;
}

export function isUkPhone(value) {
  return UK_PHONE.test(normaliseUkPhone(value));
}

// "sw1a1aa" -> "SW1A 1AA", "bfpo805" -> "BFPO 805", as the server stores it; the caller validates first.
export function normaliseUkPostcode(value) {
  const compact = value.replace(SPACES, "").toUpperCase();
  if (compact.startsWith(BFPO)) return `${BFPO} ${compact.slice(BFPO.length)}`;
  return `${compact.slice(0, -3)} ${compact.slice(-3)}`;
}

// "SW1A 1AA" -> "SW1A": what the availability filter and the service areas look at.
export function outwardCode(postcode) {
  return normaliseUkPostcode(postcode).split(" ")[0];
}

export function isUkPostcode(value) {
  return POSTCODE.test(value.replace(SPACES, "").toUpperCase());
}

function text(value, field, label, max, required, out, multiline = false) {
  const stripped = multiline ? strip(normaliseNewlines(value)) : strip(value);
  if (!stripped) {
    if (required) out.push({ field, description: `${label} is required` });
    return;
  }
  if (codePoints(stripped) > max) out.push({ field, description: `${label} must be at most ${max} characters` });
  else if ((multiline ? CONTROL_EXCEPT_NEWLINE : CONTROL).test(stripped)) {
    out.push({ field, description: `${label} must not contain control characters` });
  }
}

// Every problem with a set of contact details, as [{field, description}] named like the REST
// contract's fields (empty when they are fine).
export function validateContact({ firstName = "", lastName = "", email = "", phone = "", postcode = "", address = "" }, { addressRequired }) {
  const out = [];
  text(firstName, "firstName", "First name", NAME_MAX, true, out);
  text(lastName, "lastName", "Last name", NAME_MAX, true, out);
  if (!strip(email)) out.push({ field: "email", description: "Email is required" });
  else if (!isEmail(email)) out.push({ field: "email", description: "Email must be a valid email address, e.g. jane@example.co.uk" });
  if (!strip(phone)) out.push({ field: "phone", description: "Phone is required" });
  else if (!isUkPhone(phone)) out.push({ field: "phone", description: "Phone must be a UK phone number, e.g. 07700 900123" });
  if (!strip(postcode)) out.push({ field: "postcode", description: "Postcode is required" });
  else if (!isUkPostcode(postcode)) out.push({ field: "postcode", description: "Postcode must be a full UK postcode, e.g. SW1A 1AA" });
  text(address, "address", "Address", ADDRESS_MAX, addressRequired, out, true);
  return out;
}

// A cancellation reason as appointment_svc/entrypoints/convert.py's cancel_reason judges it: the
// problem's sentence, or "" when it is fine.
export function reasonProblem(value, { required = false } = {}) {
  const out = [];
  text(value, "reason", "Reason", REASON_MAX, required, out, true);
  return out.length ? out[0].description : "";
}
