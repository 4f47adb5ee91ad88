// The REST contract as the page uses it: one fetch wrapper, one error type, one set of sentences.
import { currentToken } from "./auth.js";

// What a person reads for each contract error code; the server's own message is used only for
// codes not listed here (it is always a sentence in the contract's JSON shape).
const SENTENCES = {
  SLOT_UNAVAILABLE: "This slot was just booked. Please choose another.",
  SLOT_IN_PAST: "This slot has already started. Please choose a later one.",
  OUTSIDE_SERVICE_AREA: "This designer does not visit your postcode. Please choose another time.",
  SLOT_NOT_FOUND: "This slot no longer exists. Please choose another.",
  BOOKING_NOT_FOUND: "We could not find this booking.",
  HOLD_NOT_FOUND: "We are no longer holding this time for you.",
  BOOKING_ALREADY_CANCELLED: "This booking is already cancelled.",
  INVALID_STATUS_TRANSITION: "This booking can no longer be changed that way.",
  BOOKING_LIMIT_REACHED: "You already have the most upcoming bookings we allow. Cancel one, or call the showroom.",
  CHANGE_WINDOW_CLOSED: "This appointment starts too soon to change online. Please call the showroom to cancel or move it.",
  REQUEST_ID_CONFLICT: "This booking was already sent with different details. Please start again.",
  SLOT_BOOKED: "This slot has a booking, so it cannot be changed. Cancel the booking first.",
  SLOT_OVERLAP: "These times overlap slots the consultant already has.",
  CONSULTANT_NOT_FOUND: "We could not find that consultant.",
  UNAUTHENTICATED: "Your sign-in has expired. Please sign in again.",
  FORBIDDEN: "You are not allowed to do this.",
  NOT_FOUND: "We could not find what you asked for.",
  RATE_LIMIT_EXCEEDED: "Too many requests. Please wait a moment and try again.",
  UNAVAILABLE: "The booking service is busy or down for a moment. Please try again shortly.",
  INTERNAL: "Something went wrong on our side. Please try again.",
  NETWORK: "We could not reach the booking service. Check your connection and try again.",
};

export class ApiError extends Error {
  constructor(status, code, message, fields = [], retryAfterSeconds = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  // The sentence to show: ours for known codes, the server's otherwise.
  get sentence() {
    if (this.code === "RATE_LIMIT_EXCEEDED" && this.retryAfterSeconds) {
      return `Too many requests. Please try again in ${waitText(this.retryAfterSeconds)}.`;
    }
    return SENTENCES[this.code] || this.message || SENTENCES.INTERNAL;
  }
}

export function waitText(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

function retryAfter(response) {
  const value = response.headers.get("retry-after");
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(1, Math.ceil((date - Date.now()) / 1000)) : null;
}

// Calls METHOD PATH (with query parameters and a JSON body) and returns the parsed JSON, or
// throws ApiError. Never throws anything else, so callers show `error.sentence`.
export async function api(method, path, { query, body, signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, String(value));
  }
  const headers = { accept: "application/json" };
  const token = currentToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      credentials: "omit",
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "NETWORK", SENTENCES.NETWORK);
  }
  let doc = null;
  try {
    doc = await response.json();
  } catch {
    doc = null;
  }
  if (response.ok) return doc || {};
  const code = doc && typeof doc.code === "string" ? doc.code : response.status >= 500 ? "UNAVAILABLE" : "INTERNAL";
  const message = doc && typeof doc.message === "string" ? doc.message : "";
  const fields = doc && Array.isArray(doc.fields) ? doc.fields : [];
  throw new ApiError(response.status, code, message, fields, retryAfter(response));
}

// A fresh idempotency key; the journey keeps one per booking attempt so a repeated click or a
// retry after a lost answer can never book twice.
export function newRequestId() {
  return crypto.randomUUID();
}

// How a person reads the contract's enum values (status badges, tables, summaries).
export const STATUS_WORDS = { PENDING: "Pending", CONFIRMED: "Confirmed", CANCELLED: "Cancelled", COMPLETED: "Completed", NO_SHOW: "No-show" };
export const TYPE_WORDS = { HOME_MEASUREMENT: "Home measurement", SHOWROOM_VISIT: "Showroom visit", VIDEO_CONSULTATION: "Video consultation" };
