/**
 * How the server fails: every error becomes an `ApiError` JSON body with a status code, a short
 * code and a message written for the client. Limits are named (`limit: { name, value }`), and
 * nothing internal — stack traces, file paths of the server, libtorch messages — reaches the
 * client: unexpected errors are logged and answered with a bare 500.
 *
 *   throw new HttpError(404, "unknown_image", "no image with id 99 in the collection");
 *   throw limitError(413, "maxPixels", limits, "the image is 8000x6000 = 48000000 pixels");
 */
import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { ImageDecodeError } from "../image/index.js";
import { QueueFullError } from "./queue.js";
import type { ApiError, LimitName, ServerLimits } from "./types.js";

/** An error meant for the client: its message is sent as is. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly limit?: { name: LimitName; value: number },
  ) {
    super(message);
  }
}

/** A limit was exceeded: `what` says by how much; the message adds the limit's name and value. */
export function limitError(statusCode: number, name: LimitName, limits: ServerLimits, what: string): HttpError {
  return new HttpError(statusCode, "limit_exceeded", `${what}; over the limit ${name} = ${limits[name]}`, { name, value: limits[name] });
}

/** Which limit a schema keyword failing at a path stands for (the schemas are built from the limits). */
function limitOfValidation(keyword: string, instancePath: string): LimitName | null {
  const field = instancePath.split("/")[1] ?? "";
  if (keyword === "maxLength") return "maxTextLength";
  if (keyword === "maxItems") return field === "labels" ? "maxLabels" : field === "templates" ? "maxLabels" : "maxBatch";
  if (keyword === "maximum" && field === "k") return "maxK";
  return null;
}

/** Fastify's and @fastify/multipart's own error codes that are the client's fault, with our wording. */
function describeFrameworkError(err: FastifyError, limits: ServerLimits): HttpError | null {
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return limitError(413, "maxJsonBytes", limits, "the JSON body is too large");
    case "FST_REQ_FILE_TOO_LARGE":
      return limitError(413, "maxUploadBytes", limits, "an uploaded file is too large");
    case "FST_FILES_LIMIT":
      return limitError(413, "maxBatch", limits, "too many files in one request");
    case "FST_FIELDS_LIMIT":
    case "FST_PARTS_LIMIT":
      return new HttpError(413, "too_many_fields", "too many form fields in one request");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      if (/prototype property/.test(err.message)) return new HttpError(400, "bad_field_name", "JSON keys named __proto__ or constructor.prototype are not allowed");
      return new HttpError(400, "bad_json", `the body is not valid JSON (${err.message})`);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new HttpError(400, "bad_json", "the body is empty but content-type is application/json");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpError(415, "unsupported_media_type", "send application/json or multipart/form-data");
    case "FST_INVALID_MULTIPART_CONTENT_TYPE":
      return new HttpError(415, "unsupported_media_type", "this request must be multipart/form-data");
    case "FST_PROTO_VIOLATION":
      return new HttpError(400, "bad_field_name", "prototype property names are not allowed as field names");
    case "FST_INVALID_JSON_FIELD_ERROR":
      return new HttpError(400, "bad_multipart", "a form field declared as application/json does not hold valid JSON");
    case "FST_MP_PREMATURE_CLOSE":
      return new HttpError(400, "truncated_upload", "the upload ended before the multipart data was complete");
    case "FST_ERR_BAD_URL":
      return new HttpError(400, "bad_url", "the URL is malformed (invalid percent-encoding)");
    default:
      return null;
  }
}

/** Turns any thrown value into (status, ApiError). */
export function toApiError(err: unknown, limits: ServerLimits): { status: number; body: ApiError; internal: boolean } {
  if (err instanceof HttpError) {
    return { status: err.statusCode, body: { error: err.code, message: err.message, ...(err.limit ? { limit: err.limit } : {}) }, internal: false };
  }
  if (err instanceof ImageDecodeError) {
    // Only uploads reach the server's decoder, and their headers were already checked, so this is
    // a truncated or corrupt body after a valid header.
    const detail = err.message.replace(/^cannot decode image buffer: /, "");
    const e = err.reason === "too_large" ? limitError(413, "maxPixels", limits, "the image is too large") : new HttpError(400, "bad_image", `the uploaded image cannot be decoded (${detail})`);
    return toApiError(e, limits);
  }
  if (err instanceof QueueFullError) {
    const e = limitError(503, "maxQueue", limits, "the server is busy: too many requests are waiting for the model");
    return toApiError(e, limits);
  }
  const fe = err as FastifyError;
  if (fe && Array.isArray(fe.validation) && fe.validation.length > 0) {
    const v = fe.validation[0]!;
    const name = limitOfValidation(v.keyword, v.instancePath);
    const where = `${fe.validationContext ?? "body"}${v.instancePath}`;
    const message = `${where} ${v.message ?? "is invalid"}`;
    const e = name ? limitError(400, name, limits, message) : new HttpError(400, "invalid_request", message);
    return toApiError(e, limits);
  }
  const known = fe && typeof fe.code === "string" ? describeFrameworkError(fe, limits) : null;
  if (known) return toApiError(known, limits);
  if (fe && typeof fe.statusCode === "number" && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Other framework 4xx errors carry messages written for clients.
    return { status: fe.statusCode, body: { error: "bad_request", message: fe.message }, internal: false };
  }
  return { status: 500, body: { error: "internal", message: "internal server error (logged on the server)" }, internal: true };
}

/** Answers `err` as an ApiError; only internal (500) errors are logged, client mistakes are not. */
export function sendApiError(err: unknown, reply: FastifyReply, limits: ServerLimits): void {
  const { status, body, internal } = toApiError(err, limits);
  if (internal) reply.log.error({ err }, "request failed");
  if (status === 503) void reply.header("retry-after", "1");
  void reply.code(status).type("application/json; charset=utf-8").send(body);
}

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandlers(app: FastifyInstance, limits: ServerLimits): void {
  app.setErrorHandler((err, _request, reply) => sendApiError(err, reply, limits));
  app.setNotFoundHandler((request, reply) => {
    const body: ApiError = { error: "not_found", message: `no route ${request.method} ${request.url.split("?")[0]}` };
    void reply.code(404).send(body);
  });
}
