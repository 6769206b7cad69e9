/**
 * JSON schemas of request parts, built from the limits so a schema failure names the limit (see
 * errors.ts). Multipart bodies are validated with the same schemas: text fields arrive as
 * strings (fastify's Ajv coerces "5" to 5 and a single field to a one-item array), files as
 * Buffers, which the `file` schema accepts and the route then checks.
 */
import type { ServerLimits } from "./types.js";

export const text = (limits: ServerLimits) => ({ type: "string", minLength: 1, maxLength: limits.maxTextLength }) as const;

export const k = (limits: ServerLimits) => ({ type: "integer", minimum: 1, maximum: limits.maxK }) as const;

/** A file part; checked by uploads.ts (a Buffer is not a JSON type). */
export const file = { description: "an uploaded file" } as const;

export const labels = (limits: ServerLimits) => ({ type: "array", minItems: 1, maxItems: limits.maxLabels, items: text(limits) }) as const;

export const templates = (limits: ServerLimits) =>
  ({ type: "array", minItems: 1, maxItems: limits.maxLabels, items: { ...text(limits), pattern: "\\{\\}" } }) as const;

/** A strict object: unknown fields are errors, not silently dropped. */
export function object(properties: Record<string, unknown>, required: string[] = []) {
  return { type: "object", additionalProperties: false, properties, required } as const;
}

/** `body` for a route that takes JSON and/or multipart/form-data. */
export function bodyByType(schemas: { json?: object; multipart?: object }) {
  const content: Record<string, { schema: object }> = {};
  if (schemas.json) content["application/json"] = { schema: schemas.json };
  if (schemas.multipart) content["multipart/form-data"] = { schema: schemas.multipart };
  return { content };
}
