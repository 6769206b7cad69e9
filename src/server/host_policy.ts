/**
 * Who may talk to the server. A browser reaching a local server through a hostile page's domain
 * name (DNS rebinding) sends that name as `Host`, so only loopback names and addresses, the
 * address the server listens on, and names the operator allows are served. Writes (POST) from a
 * page of another origin are refused, whatever their content type. Every response carries
 * headers that keep the page out of frames and its content types unsniffed.
 *
 *   installHostPolicy(app, { allowedHosts: ["photos.lan"] });
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { isIP } from "node:net";
import { HttpError } from "./errors.js";

export interface HostPolicy {
  /** Host names or addresses served besides loopback ones (lower case, no port). */
  allowedHosts: string[];
}

/** Response headers for every answer: no framing, no sniffing, no referrer, scripts only from here. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-security-policy": "default-src 'self'; img-src 'self' blob: data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
});

/** The host name of a `Host` header value, without port or IPv6 brackets, lower case; null when malformed. */
export function hostName(header: string): string | null {
  const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._-]+))(?::\d{1,5})?$/i.exec(header.trim());
  if (!m) return null;
  return (m[1] ?? m[2]!).toLowerCase().replace(/\.$/, "");
}

/** localhost, 127.0.0.0/8 and ::1. */
export function isLoopback(name: string): boolean {
  if (name === "localhost" || name === "::1") return true;
  return isIP(name) === 4 && name.startsWith("127.");
}

function checkHost(request: FastifyRequest, policy: HostPolicy): void {
  const header = request.headers.host;
  const name = header ? hostName(header) : null;
  if (name === null) throw new HttpError(400, "bad_host", "the request has no valid Host header");
  if (!isLoopback(name) && !policy.allowedHosts.includes(name)) {
    throw new HttpError(403, "host_not_allowed", `this server does not answer to the host name '${name}' (start koclip serve with --allow-host ${name} to serve it)`);
  }
}

/** POSTs from a browser page of another origin; requests without Origin (curl, scripts) pass. */
function checkOrigin(request: FastifyRequest): void {
  if (request.method === "GET" || request.method === "HEAD") return;
  const refuse = () => new HttpError(403, "cross_origin", "requests from pages of another origin are refused");
  if (request.headers["sec-fetch-site"] === "cross-site") throw refuse();
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw refuse();
  }
  if (host.toLowerCase() !== (request.headers.host ?? "").toLowerCase()) throw refuse();
}

/** Installs the Host and Origin checks (before any body is read) and the security headers. */
export function installHostPolicy(app: FastifyInstance, policy: HostPolicy): void {
  app.addHook("onRequest", async (request) => {
    checkHost(request, policy);
    checkOrigin(request);
  });
  app.addHook("onSend", async (_request, reply, payload) => {
    void reply.headers(SECURITY_HEADERS);
    return payload;
  });
}
